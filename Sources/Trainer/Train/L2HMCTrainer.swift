import COpenBLAS
import Dispatch
import Foundation
import ModelFormat

/// Algorithm 1 of seed 001: chains that persist across training steps, a loss on their
/// proposals (and optionally on fresh chains from the initialization distribution), Adam with
/// a staircase learning-rate decay, gradient clipping by global norm, beta or temperature
/// annealing.
///
/// Determinism contract: every random number is counter-based (``TrainerRandom``: a function of
/// seed, step, global chain id and purpose). The chains are cut into fixed tiles (``Tiling``,
/// `tile` chains each); each tile runs its trajectories, loss and backpropagation with its own
/// single-threaded GEMMs and its own gradient vector (``TileResult``); tiles are spread over
/// `threads` workers; then the tiles' gradients and metric sums are added in tile order on one
/// thread, before clipping and Adam. Parameters, logs and checkpoints are therefore bit-identical
/// for every thread count (and, through ``GradientExchange``, for every process count).
public final class L2HMCTrainer {
    public let config: TrainingConfig
    public internal(set) var model: TrainerModel
    public internal(set) var adam: Adam
    /// Training steps done.
    public internal(set) var step: Int = 0
    /// Worker threads (``TrainingConfig/effectiveThreads`` at construction; never changes the numbers).
    public var threads: Int
    /// Where tiles are computed and gathered (this process by default).
    public var exchange: GradientExchange = InProcessExchange()
    /// True when this trainer was restored from a checkpoint of an older version, whose random
    /// numbers came from a SplitMix64 stream: it continues with the counter-based stream.
    public internal(set) var resumedFromLegacyStream = false
    /// Persistent chain states [chains, n].
    var chains: Matrix
    let random: TrainerRandom
    let tiling: Tiling

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
        random = TrainerRandom(seed: config.seed)
        tiling = config.tiling
        threads = config.effectiveThreads
        chains = model.target.drawInitial(random, step: 0, chains: 0..<config.chains, .initialState)
    }

    /// Restores a trainer from checkpointed state.
    init(config: TrainingConfig, model: TrainerModel, adam: Adam, step: Int, chains: Matrix) {
        self.config = config; self.model = model; self.adam = adam; self.step = step; self.chains = chains
        random = TrainerRandom(seed: config.seed)
        tiling = config.tiling
        threads = config.effectiveThreads
    }

    public var chainStates: [Double] { chains.data }

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

    /// One tile of training step `step`: its chains' trajectories, loss and gradient (and the
    /// auxiliary batch's chains with the same global ids), then Metropolis-Hastings on its own
    /// rows. Reads only shared immutable state, so tiles may run concurrently.
    func computeTile(_ k: Int, step s: Int, scale: Double) -> TileResult {
        let rows = tiling.rows(k), c = config.chains, n = model.spec.stateSize, target = model.target
        var x0 = Matrix(zeros: rows.count, n)
        for (r, g) in rows.enumerated() { for i in 0..<n { x0.data[r * n + i] = chains.data[g * n + i] } }
        let v0 = target.refreshMomenta(random, step: s, chains: rows, .momentum)
        let forward = rows.map { random.isForward(step: s, chain: $0, .direction) }
        var grads = [Double](repeating: 0, count: model.params.values.count)
        let (e, proposals) = lossAndGradient(x0: x0, v0: v0, forward: forward, scale: scale, weight: 1 / Double(c), grads: &grads)
        var auxLoss = 0.0
        if config.loss.auxWeight > 0 {
            let xq = target.drawInitial(random, step: s, chains: rows, .auxState)
            let vq = target.refreshMomenta(random, step: s, chains: rows, .auxMomentum)
            let fq = rows.map { random.isForward(step: s, chain: $0, .auxDirection) }
            let (eq, _) = lossAndGradient(x0: xq, v0: vq, forward: fq, scale: scale, weight: config.loss.auxWeight / Double(c), grads: &grads)
            auxLoss = eq.loss.reduce(0, +)
        }
        // Metropolis-Hastings on this tile's rows with the acceptance computed above.
        var after = x0
        for (r, g) in rows.enumerated() where random.uniform(step: s, chain: g, .accept) < e.acceptance[r] {
            for i in 0..<n { after.data[r * n + i] = proposals.data[r * n + i] }
        }
        return TileResult(tile: k, gradient: grads, lossSum: e.loss.reduce(0, +), auxLossSum: auxLoss,
                          acceptanceSum: e.acceptance.reduce(0, +),
                          esjdSum: zip(e.distance, e.acceptance).reduce(0) { $0 + $1.0 * $1.1 },
                          tunnelingSum: target.tunnelingSum(before: x0, after: after), chains: after.data)
    }

    /// Computes `tiles` on `threads` workers (worker w takes tiles w, w + threads, ...).
    func computeTiles(_ tiles: [Int], step s: Int, scale: Double) -> [TileResult] {
        Self.singleThreadedBLAS()
        let workers = max(1, min(threads, tiles.count))
        if workers == 1 { return tiles.map { computeTile($0, step: s, scale: scale) } }
        let slots = UnsafeMutablePointer<TileResult?>.allocate(capacity: tiles.count)
        slots.initialize(repeating: nil, count: tiles.count)
        defer { slots.deinitialize(count: tiles.count); slots.deallocate() }
        let box = SlotPointer(slots)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for j in stride(from: w, to: tiles.count, by: workers) { box.pointer[j] = computeTile(tiles[j], step: s, scale: scale) }
        }
        return (0..<tiles.count).compactMap { slots[$0] }
    }

    /// OpenBLAS is called from several threads at once, each call single-threaded (set once per
    /// process): a GEMM's result then depends only on its own rows.
    private static let blasSetup: Void = { openblas_set_num_threads(1) }()
    static func singleThreadedBLAS() { _ = blasSetup }

    /// One training step (Algorithm 1).
    @discardableResult
    public func trainStep() -> Metrics {
        let scale = config.scale(atStep: step), lr = config.learningRate(atStep: step)
        let c = config.chains, n = model.spec.stateSize
        let local = computeTiles(exchange.localTiles(tileCount: tiling.count), step: step, scale: scale)
        let tiles = exchange.combine(localTiles: local, tileCount: tiling.count)

        // The ordered reduction: tile 0, then tile 1, ... on this thread.
        var grads = [Double](repeating: 0, count: model.params.values.count)
        var lossSum = 0.0, auxLossSum = 0.0, acceptance = 0.0, esjd = 0.0, tunneling = 0.0
        for t in tiles {
            for i in 0..<grads.count { grads[i] += t.gradient[i] }
            lossSum += t.lossSum; auxLossSum += t.auxLossSum; acceptance += t.acceptanceSum; esjd += t.esjdSum; tunneling += t.tunnelingSum
            let base = tiling.rows(t.tile).lowerBound * n
            for i in 0..<t.chains.count { chains.data[base + i] = t.chains[i] }
        }
        var loss = lossSum / Double(c)
        if config.loss.auxWeight > 0 { loss += config.loss.auxWeight * auxLossSum / Double(c) }
        let norm = clipByGlobalNorm(&grads, maxNorm: config.clipNorm)
        adam.update(&model.params.values, gradient: grads, learningRate: lr)
        step += 1
        let epsX = model.params["log_eps_x"].map { exp($0) }, epsV = model.params["log_eps_v"].map { exp($0) }
        return Metrics(step: step, scale: scale, learningRate: lr, loss: loss, acceptance: acceptance / Double(c), esjd: esjd / Double(c),
                       tunneling: tunneling / Double(c), gradientNorm: norm,
                       epsX: epsX.reduce(0, +) / Double(epsX.count), epsV: epsV.reduce(0, +) / Double(epsV.count))
    }
}

/// The result slots of ``L2HMCTrainer/computeTiles(_:step:scale:)``: each worker writes only its
/// own indices, and they are read after every worker finished.
private struct SlotPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<TileResult?>
    init(_ pointer: UnsafeMutablePointer<TileResult?>) { self.pointer = pointer }
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
