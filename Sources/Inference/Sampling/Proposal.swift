/// A proposal of Metropolis-Hastings: a deterministic map (x, v) -> (x', v') on a group of chains
/// with its log|det Jacobian|, applied in place. ``ChainSampler`` draws the momenta and, for a
/// directional proposal, a direction d = +-1 per chain; it groups the chains by direction, calls
/// ``propose(x:v:rows:forward:logDet:)`` once per group, and accepts with min(1, e^{-dH + logdet}).
///
/// The contract for an exact kernel: a directional proposal's `forward: false` map is the
/// inverse of its `forward: true` map (directions are drawn with probability 1/2 each); a
/// non-directional proposal's forward map followed by the momentum flip v -> -v is an involution
/// (leapfrog). `logDet` receives log|det d(x', v')/d(x, v)| added to the value passed in (the
/// sampler passes 0); plain leapfrog is volume preserving and adds nothing.
///
/// The target (``TargetAction``) and the proposals are called from several threads at once, on
/// disjoint rows: the target must not mutate shared state; each thread has its own proposal.
///
/// New proposals (a flow's field transformation, a network whose weights do not depend on the
/// lattice size) conform here and are handed to ``RunEngine`` or ``ChainSampler`` directly; a
/// proposal whose weights are independent of the lattice size only has to size its scratch
/// buffers from the target's `stateSize` and the chain `capacity` at construction.
public protocol Proposal: AnyObject {
    /// The schedule kind this proposal serves (recorded in `sampler.npy`).
    var kind: Schedule.Kind { get }
    /// True when the sampler draws a direction per chain (forward for d = +1, backward for -1);
    /// false: every chain is proposed forward, with no direction draw.
    var isDirectional: Bool { get }
    /// Largest number of rows one call may propose.
    var capacity: Int { get }
    /// Proposes in place for `rows` chains stored row-major [rows, n]; adds the log-det per row.
    func propose(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, forward: Bool, logDet: UnsafeMutablePointer<Double>)
    /// The same map with its own scratch space for `capacity` rows, for another thread: it gives
    /// bit for bit what this object gives on the same rows, may share read-only parameters (the
    /// networks) with it. Make replicas after the last change to the original (net weights,
    /// N_LF, compression, precision): a replica sharing networks does not follow such changes.
    /// ``ChainSampler`` makes one per extra thread; `propose` on the two may then run concurrently.
    func replica(capacity: Int) -> Proposal
    /// Draws what the next non-directional ``propose(x:v:rows:forward:logDet:)`` needs from the
    /// counter-based stream of `trajectory`, its rows holding the chains
    /// firstChain..<firstChain+rows (global ids): only state-independent numbers (a step size),
    /// so the kernel stays exact. ``ChainSampler`` calls it before each non-directional propose;
    /// the default draws nothing.
    func prepare(random: ChainRandom, trajectory: UInt32, firstChain: Int, rows: Int)
}

extension Proposal {
    public func prepare(random: ChainRandom, trajectory: UInt32, firstChain: Int, rows: Int) {}
}

extension LeapfrogDynamics: Proposal {
    public var kind: Schedule.Kind { .hmc }
    public var isDirectional: Bool { false }

    /// Leapfrog forward (or backward in time); volume preserving, so `logDet` is unchanged.
    public func propose(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, forward: Bool, logDet: UnsafeMutablePointer<Double>) {
        integrate(x: x, v: v, rows: rows, direction: forward ? 1 : -1)
    }

    public func replica(capacity: Int) -> Proposal {
        let copy = LeapfrogDynamics(target: target, stepSize: stepSize, stepCount: stepCount, capacity: capacity)
        copy.jitter = jitter
        return copy
    }

    /// The per-chain step sizes of a jittered trajectory (nothing without a jitter).
    public func prepare(random: ChainRandom, trajectory: UInt32, firstChain: Int, rows: Int) {
        drawStepSizes(random: random, trajectory: trajectory, firstChain: firstChain, rows: rows)
    }
}

extension L2HMCDynamics: Proposal {
    public var kind: Schedule.Kind { .l2hmc }
    public var isDirectional: Bool { true }

    /// The trained L2HMC trajectory (forward) or its inverse (backward), with its log-det.
    public func propose(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, forward: Bool, logDet: UnsafeMutablePointer<Double>) {
        if forward { self.forward(x: x, v: v, rows: rows, logDet: logDet) } else { backward(x: x, v: v, rows: rows, logDet: logDet) }
    }

    public func replica(capacity: Int) -> Proposal { L2HMCDynamics(replicating: self, capacity: capacity) }
}
