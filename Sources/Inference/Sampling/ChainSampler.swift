import Foundation

/// Metropolis-Hastings over many chains at once.
///
/// Each trajectory t: draw the momenta v (``TargetAction/refreshMomentum(_:trajectory:chain:into:)``,
/// counter-based, see ``ChainRandom``) and, for a directional proposal, a direction d = +-1 per
/// chain; H = U(x) + K(v) (``TargetAction/kineticEnergy(_:)``); propose with the scheduled
/// ``Proposal`` (directional: the d = +1 chains forward and the d = -1 chains backward, each
/// group batched; otherwise every chain forward); accept with probability
/// min(1, exp(H - H' + logdet)). Non-finite energies are rejected.
///
/// The proposals are fixed at construction, one per ``Schedule/Kind``; ``RunEngine`` builds the
/// table from its schedule and refuses (usage error) a schedule naming an unavailable proposal.
public final class ChainSampler {
    public let target: TargetAction
    /// The proposal of each schedule kind this sampler can run.
    public let proposals: [Schedule.Kind: Proposal]
    public let chains: Int
    public let random: ChainRandom
    /// Current states [chains, n].
    public let x: Buffer
    /// Number of trajectories done (the trajectory counter of the random stream).
    public private(set) var trajectoryIndex: Int = 0

    private let xProp: Buffer, vProp: Buffer, v0: Buffer, logDet: Buffer, energy0: Buffer, energy1: Buffer
    private let groupX: Buffer, groupV: Buffer, groupLogDet: Buffer
    /// Chain indices of the forward (d = +1) and backward (d = -1) groups, reused every trajectory.
    private var forwardRows: [Int] = [], backwardRows: [Int] = []

    /// - proposals: at most one per kind (a later one of the same kind replaces an earlier
    ///   one), each with a capacity of at least `chains` rows.
    public init(target: TargetAction, proposals: [Proposal], chains: Int, seed: UInt64) {
        precondition(proposals.allSatisfy { $0.capacity >= chains }, "proposal buffers smaller than the chain count")
        var table: [Schedule.Kind: Proposal] = [:]
        for p in proposals { table[p.kind] = p }
        self.target = target; self.proposals = table; self.chains = chains
        random = ChainRandom(seed: seed)
        let n = target.stateSize
        x = Buffer(chains * n)
        xProp = Buffer(chains * n); vProp = Buffer(chains * n); v0 = Buffer(chains * n)
        logDet = Buffer(chains); energy0 = Buffer(chains); energy1 = Buffer(chains)
        groupX = Buffer(chains * n); groupV = Buffer(chains * n); groupLogDet = Buffer(chains)
        forwardRows.reserveCapacity(chains); backwardRows.reserveCapacity(chains)
    }

    /// The sampler of an L2HMC model and/or plain leapfrog (either may be absent).
    public convenience init(target: TargetAction, l2hmc: L2HMCDynamics?, hmc: LeapfrogDynamics?, chains: Int, seed: UInt64) {
        self.init(target: target, proposals: [l2hmc as Proposal?, hmc].compactMap { $0 }, chains: chains, seed: seed)
    }

    /// The L2HMC proposal, if this sampler has one.
    public var l2hmc: L2HMCDynamics? { proposals[.l2hmc] as? L2HMCDynamics }
    /// The plain leapfrog proposal, if this sampler has one.
    public var hmc: LeapfrogDynamics? { proposals[.hmc] as? LeapfrogDynamics }

    /// Random start: angles uniform on [-pi, pi) (hot start) or N(0, I) in R^n.
    public func randomizeStart() {
        let n = target.stateSize
        for c in 0..<chains {
            let row = x.pointer + c * n
            if target.isCompact {
                for i in stride(from: 0, to: n, by: 2) {
                    let (a, b) = random.uniforms(trajectory: UInt32.max, chain: UInt32(c), purpose: .initialState, index: UInt32(i / 2))
                    row[i] = Angles.wrap(2 * .pi * a - .pi)
                    if i + 1 < n { row[i + 1] = Angles.wrap(2 * .pi * b - .pi) }
                }
            } else {
                random.normals(trajectory: UInt32.max, chain: UInt32(c), purpose: .initialState, count: n, into: row)
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
        let n = target.stateSize
        let t = UInt32(truncatingIfNeeded: trajectoryIndex)
        for c in 0..<chains {
            target.refreshMomentum(random, trajectory: t, chain: UInt32(c), into: v0.pointer + c * n)
        }
        xProp.pointer.update(from: x.pointer, count: chains * n)
        vProp.pointer.update(from: v0.pointer, count: chains * n)
        target.action(x.pointer, rows: chains, into: energy0.pointer)
        for c in 0..<chains { energy0[c] += target.kineticEnergy(v0.pointer + c * n); logDet[c] = 0 }

        if let proposal = proposals[kind] {
            if proposal.isDirectional {
                propose(proposal, trajectory: t)
            } else {
                proposal.propose(x: xProp.pointer, v: vProp.pointer, rows: chains, forward: true, logDet: logDet.pointer)
            }
        } else {
            for c in 0..<chains { logDet[c] = -.infinity }
        }
        target.action(xProp.pointer, rows: chains, into: energy1.pointer)
        var outcome = Outcome(kind: kind, acceptProbability: [], accepted: [], energyChange: [], logDet: [])
        outcome.acceptProbability.reserveCapacity(chains)
        outcome.accepted.reserveCapacity(chains)
        outcome.energyChange.reserveCapacity(chains)
        outcome.logDet.reserveCapacity(chains)
        outcome.energyBefore = Array(UnsafeBufferPointer(start: energy0.pointer, count: chains))
        for c in 0..<chains {
            energy1[c] += target.kineticEnergy(vProp.pointer + c * n)
            let dH = energy1[c] - energy0[c]
            let logA = dH.isFinite && logDet[c].isFinite ? min(0, -dH + logDet[c]) : -.infinity
            let u = random.uniforms(trajectory: t, chain: UInt32(c), purpose: .accept, index: 0).0
            let accept = log(u) < logA
            if accept { (x.pointer + c * n).update(from: xProp.pointer + c * n, count: n) }
            outcome.acceptProbability.append(exp(logA))
            outcome.accepted.append(accept)
            outcome.energyChange.append(dH)
            outcome.logDet.append(logDet[c])
        }
        trajectoryIndex += 1
        return outcome
    }

    /// A directional proposal: d = +1 where the direction block's first word is even; the
    /// forward and backward groups are gathered, proposed as batches and scattered back.
    private func propose(_ proposal: Proposal, trajectory t: UInt32) {
        let n = target.stateSize
        forwardRows.removeAll(keepingCapacity: true)
        backwardRows.removeAll(keepingCapacity: true)
        for c in 0..<chains {
            if random.block(trajectory: t, chain: UInt32(c), purpose: .direction, index: 0).0 & 1 == 0 {
                forwardRows.append(c)
            } else {
                backwardRows.append(c)
            }
        }
        for forward in [true, false] {
            let rows = forward ? forwardRows : backwardRows
            guard !rows.isEmpty else { continue }
            for (g, c) in rows.enumerated() {
                (groupX.pointer + g * n).update(from: xProp.pointer + c * n, count: n)
                (groupV.pointer + g * n).update(from: vProp.pointer + c * n, count: n)
                groupLogDet[g] = 0
            }
            proposal.propose(x: groupX.pointer, v: groupV.pointer, rows: rows.count, forward: forward, logDet: groupLogDet.pointer)
            for (g, c) in rows.enumerated() {
                (xProp.pointer + c * n).update(from: groupX.pointer + g * n, count: n)
                (vProp.pointer + c * n).update(from: groupV.pointer + g * n, count: n)
                logDet[c] = groupLogDet[g]
            }
        }
    }
}
