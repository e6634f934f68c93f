import Foundation

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

    public init(settings: Settings) throws {
        if let problem = settings.architecture.problem { throw FlowTrainerError.invalid(problem) }
        guard settings.batch >= 1, settings.steps >= 0, settings.betaInit > 0, settings.betaFinal > 0, settings.learningRate > 0 else {
            throw FlowTrainerError.invalid("batch, beta and learning rate must be positive")
        }
        do { lattice = try FlowLattice(lt: settings.lt, lx: settings.lx, kernelSize: settings.architecture.kernelSize) } catch {
            throw FlowTrainerError.invalid("lattice \(settings.lt)x\(settings.lx): both sides must be positive multiples of 4 (the stripe masks)")
        }
        self.settings = settings
        flow = TrainableFlow(architecture: settings.architecture, seed: settings.seed, scale: settings.initScale)
        adam = Adam(count: flow.params.values.count)
        random = TrainerRandom(seed: settings.seed)
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
