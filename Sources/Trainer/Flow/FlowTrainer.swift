import Foundation
import ModelFormat

/// Reverse-KL training of a ``TrainableFlow`` (seed 004 eqs. 3-4) with the trainer's Adam:
/// each step draws a fresh batch z uniform on [-pi, pi)^n from the counter-based
/// ``TrainerRandom`` (purpose `flowPrior`, chain = row of the batch, the step's index), so a
/// step's numbers are a function of (seed, step, weights) and a resumed run draws what an
/// uninterrupted one would; evaluates ``FlowReverseKL`` at the step's beta, clips the gradient
/// by global norm and applies one Adam update.
public final class FlowTrainer {
    public struct Settings: Sendable, Equatable {
        public var architecture = FlowArchitecture()
        public var lt = 8
        public var lx = 8
        /// beta goes from betaInit to betaFinal linearly in 1/beta over `steps` (the L2HMC
        /// trainer's schedule); equal values train at one beta.
        public var betaInit = 2.0
        public var betaFinal = 2.0
        public var steps = 1000
        public var batch = 64
        public var learningRate = 1e-3
        /// Max global gradient norm (0: no clipping).
        public var clipNorm = 0.0
        public var seed: UInt64 = 1
        /// Scale of the initial weights (1: PyTorch's Conv2d default).
        public var initScale = 1.0
        /// The FT-HMC defaults written to the exported model (`hmc.step_size`, `hmc.n_lf`).
        public var hmcStepSize = 0.1
        public var hmcNLF = 10
        /// Checkpoint every this many steps (0: only at the start and the end).
        public var checkpointEvery = 0
        /// Print a progress line every this many steps.
        public var logEvery = 50
        public init() {}

        public func beta(atStep n: Int) -> Double {
            let f = 1 - Double(min(n, steps)) / Double(max(steps, 1))
            return 1 / ((1 / betaInit - 1 / betaFinal) * f + 1 / betaFinal)
        }
    }

    public struct Metrics: Sendable {
        public var step: Int
        public var beta: Double
        public var loss: Double
        public var ess: Double
        public var meanLogDet: Double
        public var meanAction: Double
        public var gradientNorm: Double
    }

    public let settings: Settings
    public internal(set) var flow: TrainableFlow
    public internal(set) var adam: Adam
    /// Training steps done.
    public internal(set) var step = 0
    let lattice: FlowLattice
    let random: TrainerRandom

    /// A fresh flow (``TrainableFlow/init(architecture:seed:scale:)`` with the settings' seed and
    /// init scale); `TrainingConfig.Invalid` (naming the key) for settings that cannot train.
    public convenience init(settings: Settings) throws {
        try settings.validate()
        let flow = TrainableFlow(architecture: settings.architecture, seed: settings.seed, scale: settings.initScale)
        try self.init(settings: settings, flow: flow, adam: Adam(count: flow.params.values.count), step: 0)
    }

    /// A trainer at step 0 starting from the given weights (fine-tuning, volume transfer); the
    /// settings' architecture must be the flow's.
    public convenience init(settings: Settings, initialFlow: TrainableFlow) throws {
        try self.init(settings: settings, flow: initialFlow, adam: Adam(count: initialFlow.params.values.count), step: 0)
    }

    /// A trainer at a given state (a checkpoint's, or a loaded flow at step 0).
    init(settings: Settings, flow: TrainableFlow, adam: Adam, step: Int) throws {
        try settings.validate()
        guard flow.architecture == settings.architecture else {
            throw TrainingConfig.Invalid(key: "layers/hidden_channels/kernel_size/n_mix/activation", reason: "the flow's architecture differs from the settings'")
        }
        lattice = try FlowLattice(lt: settings.lt, lx: settings.lx, kernelSize: settings.architecture.kernelSize)
        self.settings = settings; self.flow = flow; self.adam = adam; self.step = step
        random = TrainerRandom(seed: settings.seed)
    }

    /// The trained flow as a `.l2z` model of family `flow` at the settings' lattice and final beta.
    public func export(provenance: Provenance) throws -> L2ZModel {
        try FlowExporter.export(flow, lt: settings.lt, lx: settings.lx, beta: settings.beta(atStep: step),
                                hmc: FlowHMCSettings(stepSize: settings.hmcStepSize, nLF: settings.hmcNLF), provenance: provenance)
    }

    /// Batch `step` of prior draws, [batch, n] uniform on (-pi, pi).
    func priorDraws(step s: Int, rows: Int) -> Matrix {
        var z = random.uniforms(step: s, chains: 0..<rows, n: lattice.links, .flowPrior)
        for i in 0..<z.data.count { z.data[i] = 2 * Double.pi * z.data[i] - Double.pi }
        return z
    }

    /// The loss and ESS of the current weights on a batch of `rows` draws at beta, without a
    /// gradient (evaluation batches use steps counted down from -1, apart from training's).
    public func evaluate(beta: Double, rows: Int, batchIndex: Int = 0) -> (loss: Double, ess: Double) {
        var none: [Double]? = nil
        let e = FlowReverseKL(action: FlowGaugeAction(beta: beta, lattice: lattice))
            .evaluate(flow, z: priorDraws(step: (1 << 40) - 1 - batchIndex, rows: rows), grads: &none)
        return (e.loss, e.ess)
    }

    @discardableResult
    public func trainStep() -> Metrics {
        Self.singleThreadedBLAS()
        let beta = settings.beta(atStep: step)
        var grads: [Double]? = [Double](repeating: 0, count: flow.params.values.count)
        let e = FlowReverseKL(action: FlowGaugeAction(beta: beta, lattice: lattice))
            .evaluate(flow, z: priorDraws(step: step, rows: settings.batch), grads: &grads)
        var g = grads ?? []
        let norm = clipByGlobalNorm(&g, maxNorm: settings.clipNorm)
        adam.update(&flow.params.values, gradient: g, learningRate: settings.learningRate)
        step += 1
        let b = Double(settings.batch)
        return Metrics(step: step, beta: beta, loss: e.loss, ess: e.ess, meanLogDet: e.logDet.reduce(0, +) / b,
                       meanAction: e.actionValues.reduce(0, +) / b, gradientNorm: norm)
    }

    static func singleThreadedBLAS() { L2HMCTrainer.singleThreadedBLAS() }
}
