import Dispatch
import Foundation

/// Metropolis-Hastings over many chains at once, in fixed tiles of chains run on several threads.
///
/// Each trajectory t: draw the momenta v (``TargetAction/refreshMomentum(_:trajectory:chain:into:)``,
/// counter-based, see ``ChainRandom``) and, for a directional proposal, a direction d = +-1 per
/// chain; H = U(x) + K(v) (``TargetAction/kineticEnergy(_:)``); propose with the scheduled
/// ``Proposal`` (directional: the d = +1 chains forward and the d = -1 chains backward, each
/// group batched; otherwise every chain forward); accept with probability
/// min(1, exp(H - H' + logdet)). Non-finite energies are rejected.
///
/// **Tiles and threads.** The chains are cut into tiles of `tile` consecutive global chain ids
/// (the last one may be shorter). Everything above is done per tile: every batched call (the
/// action, the force, each network GEMM) covers rows of one tile only, and the random numbers
/// are keyed by the global chain id. A GEMM's rounding depends on which rows share the call
/// (OpenBLAS's kernels treat the rows of a micro-tile and of the m-tail differently), so this is
/// what makes the numbers a function of (seed, tile) alone: **the same for every thread count**
/// (`threads` lanes take whole tiles, each with its own proposal replica and scratch space) and
/// for every way of splitting the tiles over processes (`firstChain`). A tile covering all
/// chains is the single-batch sampler of earlier versions, number for number.
///
/// The proposals are fixed at construction, one per ``Schedule/Kind``: lane 0 uses the given
/// objects, the other lanes ``Proposal/replica(capacity:)`` copies made here; ``RunEngine``
/// builds the table from its schedule and refuses (usage error) a schedule naming an
/// unavailable proposal.
public final class ChainSampler {
    public let target: TargetAction
    /// The proposal of each schedule kind this sampler can run (lane 0's objects).
    public let proposals: [Schedule.Kind: Proposal]
    /// Chains held here (rows of ``x``).
    public let chains: Int
    /// Global id of the first chain held here (a multiple of `tile`; 0 in a single process).
    public let firstChain: Int
    /// Chains per tile (the unit of every batched call).
    public let tile: Int
    /// Lanes (threads) the tiles are spread over.
    public var threads: Int { lanes.count }
    public let random: ChainRandom
    /// Current states [chains, n].
    public let x: Buffer
    /// Number of trajectories done (the trajectory counter of the random stream).
    public private(set) var trajectoryIndex: Int = 0

    private let xProp: Buffer, vProp: Buffer, v0: Buffer, logDet: Buffer, energy0: Buffer, energy1: Buffer
    private let acceptProbability: Buffer, energyChange: Buffer
    private let acceptedFlags: UnsafeMutableBufferPointer<Bool>
    private let lanes: [Lane]

    /// One thread's share: its tiles, its proposals and its gather buffers.
    private final class Lane {
        let proposals: [Schedule.Kind: Proposal]
        let tiles: Range<Int>
        let groupX: Buffer, groupV: Buffer, groupLogDet: Buffer
        /// Chain rows of the forward (d = +1) and backward (d = -1) groups of the current tile.
        var forwardRows: [Int] = [], backwardRows: [Int] = []

        init(proposals: [Schedule.Kind: Proposal], tiles: Range<Int>, rows: Int, n: Int) {
            self.proposals = proposals; self.tiles = tiles
            groupX = Buffer(rows * n); groupV = Buffer(rows * n); groupLogDet = Buffer(rows)
            forwardRows.reserveCapacity(rows); backwardRows.reserveCapacity(rows)
        }
    }

    /// - proposals: at most one per kind (a later one of the same kind replaces an earlier
    ///   one), each with a capacity of at least `min(tile, chains)` rows.
    /// - tile: chains per tile (nil: one tile of all chains); `threads`: lanes, at most the
    ///   number of tiles (callers validate; here it is clamped to 1...tiles).
    /// - firstChain: global id of the first chain (a multiple of the tile).
    /// Throws `run.invalid_option` when a proposal holds fewer rows than a tile or `firstChain`
    /// does not start a tile (nothing is computed then).
    public init(target: TargetAction, proposals: [Proposal], chains: Int, seed: UInt64, tile: Int? = nil, threads: Int = 1, firstChain: Int = 0) throws {
        let tileSize = max(1, min(tile ?? chains, chains))
        if let small = proposals.first(where: { $0.capacity < tileSize }) {
            throw InferenceError.invalidOption(name: "tile", reason: "the \(small.kind.rawValue) proposal holds \(small.capacity) rows, fewer than the tile of \(tileSize) chains")
        }
        guard tile.map({ firstChain % max(1, $0) == 0 }) ?? (firstChain == 0) else {
            throw InferenceError.invalidOption(name: "tile", reason: "the first chain \(firstChain) does not start a tile of \(tile ?? chains) chains")
        }
        var table: [Schedule.Kind: Proposal] = [:]
        for p in proposals { table[p.kind] = p }
        self.target = target; self.proposals = table; self.chains = chains; self.firstChain = firstChain; self.tile = tileSize
        random = ChainRandom(seed: seed)
        let n = target.stateSize
        x = Buffer(chains * n)
        xProp = Buffer(chains * n); vProp = Buffer(chains * n); v0 = Buffer(chains * n)
        logDet = Buffer(chains); energy0 = Buffer(chains); energy1 = Buffer(chains)
        acceptProbability = Buffer(chains); energyChange = Buffer(chains)
        acceptedFlags = .allocate(capacity: chains)
        acceptedFlags.initialize(repeating: false)
        let tileCount = (chains + tileSize - 1) / tileSize
        let laneCount = max(1, min(threads, tileCount))
        lanes = (0..<laneCount).map { w in
            let tiles = (w * tileCount / laneCount)..<((w + 1) * tileCount / laneCount)
            let own = w == 0 ? table : table.mapValues { $0.replica(capacity: tileSize) }
            return Lane(proposals: own, tiles: tiles, rows: tileSize, n: n)
        }
    }

    deinit { acceptedFlags.deallocate() }

    /// The sampler of an L2HMC model and/or plain leapfrog (either may be absent).
    public convenience init(target: TargetAction, l2hmc: L2HMCDynamics?, hmc: LeapfrogDynamics?, chains: Int, seed: UInt64, tile: Int? = nil, threads: Int = 1) throws {
        try self.init(target: target, proposals: [l2hmc as Proposal?, hmc].compactMap { $0 }, chains: chains, seed: seed, tile: tile, threads: threads)
    }

    /// Number of tiles held here.
    public var tileCount: Int { (chains + tile - 1) / tile }

    /// The L2HMC proposal, if this sampler has one.
    public var l2hmc: L2HMCDynamics? { proposals[.l2hmc] as? L2HMCDynamics }
    /// The plain leapfrog proposal, if this sampler has one.
    public var hmc: LeapfrogDynamics? { proposals[.hmc] as? LeapfrogDynamics }

    /// Random start: angles uniform on [-pi, pi) (hot start) or N(0, I) in R^n.
    public func randomizeStart() {
        let n = target.stateSize
        for c in 0..<chains {
            let row = x.pointer + c * n, id = UInt32(firstChain + c)
            if target.isCompact {
                for i in stride(from: 0, to: n, by: 2) {
                    let (a, b) = random.uniforms(trajectory: UInt32.max, chain: id, purpose: .initialState, index: UInt32(i / 2))
                    row[i] = Angles.wrap(2 * .pi * a - .pi)
                    if i + 1 < n { row[i + 1] = Angles.wrap(2 * .pi * b - .pi) }
                }
            } else {
                random.normals(trajectory: UInt32.max, chain: id, purpose: .initialState, count: n, into: row)
            }
        }
    }

    /// Replaces the states and the trajectory counter (resume).
    public func restore(states: [Double], trajectoryIndex: Int) {
        precondition(states.count == x.count)
        states.withUnsafeBufferPointer { x.pointer.update(from: $0.baseAddress!, count: states.count) }
        self.trajectoryIndex = trajectoryIndex
    }

    /// Result of one trajectory for every chain.
    public struct Outcome {
        public let kind: Schedule.Kind
        public var acceptProbability: [Double]
        public var accepted: [Bool]
        public var energyChange: [Double]
        public var logDet: [Double]
        /// H = U(x) + |v|^2/2 at the start of the trajectory (H after = before + change).
        public var energyBefore: [Double] = []
    }

    /// Runs one trajectory of `kind` for every chain and advances the counter. A kind without a
    /// proposal in ``proposals`` proposes nothing valid: every chain is rejected (log-det -inf)
    /// and keeps its state (``RunEngine`` never asks for one: it refuses such schedules).
    public func step(kind: Schedule.Kind) -> Outcome {
        let t = UInt32(truncatingIfNeeded: trajectoryIndex)
        forEachLane { lane in
            for k in lane.tiles { self.runTile(k, lane: lane, kind: kind, trajectory: t) }
        }
        func array(_ b: Buffer) -> [Double] { Array(UnsafeBufferPointer(start: b.pointer, count: chains)) }
        var outcome = Outcome(kind: kind, acceptProbability: array(acceptProbability), accepted: Array(acceptedFlags),
                              energyChange: array(energyChange), logDet: array(logDet))
        outcome.energyBefore = array(energy0)
        trajectoryIndex += 1
        return outcome
    }

    /// Runs `body` once per lane, concurrently when there are several.
    private func forEachLane(_ body: (Lane) -> Void) {
        if lanes.count == 1 { body(lanes[0]); return }
        DispatchQueue.concurrentPerform(iterations: lanes.count) { body(lanes[$0]) }
    }

    /// One trajectory for the chains of tile `k` (rows [k tile, min((k+1) tile, chains))).
    private func runTile(_ k: Int, lane: Lane, kind: Schedule.Kind, trajectory t: UInt32) {
        let n = target.stateSize
        let lo = k * tile, hi = min(lo + tile, chains), rows = hi - lo
        for c in lo..<hi {
            target.refreshMomentum(random, trajectory: t, chain: UInt32(firstChain + c), into: v0.pointer + c * n)
        }
        (xProp.pointer + lo * n).update(from: x.pointer + lo * n, count: rows * n)
        (vProp.pointer + lo * n).update(from: v0.pointer + lo * n, count: rows * n)
        target.action(x.pointer + lo * n, rows: rows, into: energy0.pointer + lo)
        for c in lo..<hi { energy0[c] += target.kineticEnergy(v0.pointer + c * n); logDet[c] = 0 }

        if let proposal = lane.proposals[kind] {
            if proposal.isDirectional {
                propose(proposal, lane: lane, rows: lo..<hi, trajectory: t)
            } else {
                proposal.prepare(random: random, trajectory: t, firstChain: firstChain + lo, rows: rows)
                proposal.propose(x: xProp.pointer + lo * n, v: vProp.pointer + lo * n, rows: rows, forward: true, logDet: logDet.pointer + lo)
            }
        } else {
            for c in lo..<hi { logDet[c] = -.infinity }
        }
        target.action(xProp.pointer + lo * n, rows: rows, into: energy1.pointer + lo)
        for c in lo..<hi {
            energy1[c] += target.kineticEnergy(vProp.pointer + c * n)
            let dH = energy1[c] - energy0[c]
            let logA = dH.isFinite && logDet[c].isFinite ? min(0, -dH + logDet[c]) : -.infinity
            let u = random.uniforms(trajectory: t, chain: UInt32(firstChain + c), purpose: .accept, index: 0).0
            let accept = log(u) < logA
            if accept { (x.pointer + c * n).update(from: xProp.pointer + c * n, count: n) }
            acceptProbability[c] = exp(logA)
            acceptedFlags[c] = accept
            energyChange[c] = dH
        }
    }

    /// A directional proposal on the chains `range` of one tile: d = +1 where the direction
    /// block's first word is even; the forward and backward groups are gathered, proposed as
    /// batches and scattered back.
    private func propose(_ proposal: Proposal, lane: Lane, rows range: Range<Int>, trajectory t: UInt32) {
        let n = target.stateSize
        lane.forwardRows.removeAll(keepingCapacity: true)
        lane.backwardRows.removeAll(keepingCapacity: true)
        for c in range {
            if random.block(trajectory: t, chain: UInt32(firstChain + c), purpose: .direction, index: 0).0 & 1 == 0 {
                lane.forwardRows.append(c)
            } else {
                lane.backwardRows.append(c)
            }
        }
        for forward in [true, false] {
            let rows = forward ? lane.forwardRows : lane.backwardRows
            guard !rows.isEmpty else { continue }
            for (g, c) in rows.enumerated() {
                (lane.groupX.pointer + g * n).update(from: xProp.pointer + c * n, count: n)
                (lane.groupV.pointer + g * n).update(from: vProp.pointer + c * n, count: n)
                lane.groupLogDet[g] = 0
            }
            proposal.propose(x: lane.groupX.pointer, v: lane.groupV.pointer, rows: rows.count, forward: forward, logDet: lane.groupLogDet.pointer)
            for (g, c) in rows.enumerated() {
                (xProp.pointer + c * n).update(from: lane.groupX.pointer + g * n, count: n)
                (vProp.pointer + c * n).update(from: lane.groupV.pointer + g * n, count: n)
                logDet[c] = lane.groupLogDet[g]
            }
        }
    }
}
