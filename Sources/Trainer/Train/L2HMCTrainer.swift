import Foundation
import ModelFormat

/// Algorithm 1 of seed 001: chains that persist across training steps, a loss on their
/// proposals (and optionally on fresh chains from the initialization distribution), Adam with
/// a staircase learning-rate decay, gradient clipping by global norm, beta or temperature
/// annealing. Deterministic: every random number comes from one SplitMix64 stream whose state
/// is part of the checkpoint.
public final class L2HMCTrainer {
    public let config: TrainingConfig
    public internal(set) var model: TrainerModel
    public internal(set) var adam: Adam
    /// Training steps done.
    public internal(set) var step: Int = 0
    /// Persistent chain states [chains, n].
    var chains: Matrix
    var rng: SplitMix64

    /// What one training step measured.
    public struct Metrics: Sendable {
        public var step: Int
        /// beta (U(1)) or 1/T (mixtures) used for this step.
        public var scale: Double
        public var learningRate: Double
        public var loss: Double
        public var acceptance: Double
        /// mean delta(x, x') A over the persistent chains.
        public var esjd: Double
        /// U(1): mean |Q_int change| of the persistent chains after accept/reject; mixtures:
        /// fraction of chains whose nearest mode changed.
        public var tunneling: Double
        public var gradientNorm: Double
        public var epsX: Double
        public var epsV: Double
    }

    public init(config: TrainingConfig) throws {
        try config.validate()
        self.config = config
        model = try TrainerModel(spec: config.samplerSpec(), eps: config.epsInit, seed: config.seed, kernelScale: config.kernelScale)
        adam = Adam(count: model.params.values.count)
        rng = SplitMix64(seed: config.seed ^ 0xC4A1_2B5E_0000_0001)
        chains = Matrix(zeros: config.chains, model.spec.stateSize)
        chains = drawInitial(config.chains)
    }

    /// Restores a trainer from checkpointed state.
    init(config: TrainingConfig, model: TrainerModel, adam: Adam, step: Int, chains: Matrix, rngState: UInt64) {
        self.config = config; self.model = model; self.adam = adam; self.step = step; self.chains = chains
        rng = SplitMix64(seed: rngState)
    }

    public var rngState: UInt64 { rng.state }
    public var chainStates: [Double] { chains.data }

    /// Draws from the target's initialization distribution.
    private func drawInitial(_ rows: Int) -> Matrix { model.target.drawInitial(rows: rows, rng: &rng) }

    /// Fresh momenta from the target.
    private func refreshMomenta(_ rows: Int) -> Matrix { model.target.refreshMomenta(rows: rows, rng: &rng) }

    /// Proposals and loss gradient for one batch; returns the loss evaluation and the proposals.
    func lossAndGradient(x0: Matrix, v0: Matrix, forward: [Bool], scale: Double, weight: Double, grads: inout [Double])
        -> (TrainingLoss.Evaluation, Matrix) {
        let dyn = model.dynamics()
        let rows = x0.rows
        var x1 = x0, v1 = v0
        var logDet = [Double](repeating: 0, count: rows)
        var results: [(rows: [Int], result: TrainerDynamics.Result)] = []
        for direction in [true, false] {
            let idx = (0..<rows).filter { forward[$0] == direction }
            guard !idx.isEmpty else { continue }
            let r = dyn.run(x0: x0.gather(idx), v0: v0.gather(idx), forward: direction, params: model.params, scale: scale, weights: model.spec.netWeights)
            x1.scatter(r.x, rows: idx); v1.scatter(r.v, rows: idx)
            for (g, row) in idx.enumerated() { logDet[row] = r.logDet[g] }
            results.append((idx, r))
        }
        let loss = TrainingLoss(settings: config.loss, target: dyn.target)
        let e = loss.evaluate(x0: x0, v0: v0, x1: x1, v1: v1, logDet: logDet, scale: scale, weight: weight)
        for (idx, r) in results {
            dyn.backpropagate(r, gx: e.gx.gather(idx), gv: e.gv.gather(idx), gLogDet: idx.map { e.gLogDet[$0] }, params: model.params,
                              scale: scale, grads: &grads)
        }
        return (e, x1)
    }

    /// One training step (Algorithm 1).
    @discardableResult
    public func trainStep() -> Metrics {
        let scale = config.scale(atStep: step), lr = config.learningRate(atStep: step)
        let c = config.chains
        // Random numbers in a fixed order: momenta, directions, accept uniforms, then the
        // auxiliary batch.
        let v0 = refreshMomenta(c)
        let forward = (0..<c).map { _ in rng.next() & 1 == 0 }
        let uniforms = (0..<c).map { _ in rng.uniform() }
        var grads = [Double](repeating: 0, count: model.params.values.count)
        let (e, proposals) = lossAndGradient(x0: chains, v0: v0, forward: forward, scale: scale, weight: 1 / Double(c), grads: &grads)
        var loss = e.loss.reduce(0, +) / Double(c)
        if config.loss.auxWeight > 0 {
            let xq = drawInitial(c), vq = refreshMomenta(c)
            let fq = (0..<c).map { _ in rng.next() & 1 == 0 }
            let (eq, _) = lossAndGradient(x0: xq, v0: vq, forward: fq, scale: scale, weight: config.loss.auxWeight / Double(c), grads: &grads)
            loss += config.loss.auxWeight * eq.loss.reduce(0, +) / Double(c)
        }
        let norm = clipByGlobalNorm(&grads, maxNorm: config.clipNorm)
        adam.update(&model.params.values, gradient: grads, learningRate: lr)

        // Metropolis-Hastings on the persistent chains with the acceptance computed above.
        let before = chains
        for r in 0..<c where uniforms[r] < e.acceptance[r] {
            for i in 0..<chains.cols { chains.data[r * chains.cols + i] = proposals.data[r * chains.cols + i] }
        }
        step += 1
        let epsX = model.params["log_eps_x"].map { exp($0) }, epsV = model.params["log_eps_v"].map { exp($0) }
        return Metrics(step: step, scale: scale, learningRate: lr, loss: loss,
                       acceptance: e.acceptance.reduce(0, +) / Double(c),
                       esjd: zip(e.distance, e.acceptance).reduce(0) { $0 + $1.0 * $1.1 } / Double(c),
                       tunneling: model.target.tunneling(before: before, after: chains), gradientNorm: norm,
                       epsX: epsX.reduce(0, +) / Double(epsX.count), epsV: epsV.reduce(0, +) / Double(epsV.count))
    }
}

extension Matrix {
    func gather(_ rows: [Int]) -> Matrix {
        var out = Matrix(zeros: rows.count, cols)
        for (g, r) in rows.enumerated() { for c in 0..<cols { out.data[g * cols + c] = data[r * cols + c] } }
        return out
    }

    mutating func scatter(_ m: Matrix, rows: [Int]) {
        for (g, r) in rows.enumerated() { for c in 0..<cols { data[r * cols + c] = m.data[g * cols + c] } }
    }
}
