import CL2HMCKernels

/// Standard leapfrog (kick-drift-kick) for plain HMC: per step v -= eps/2 F(x); x += eps v
/// (wrapped on the circle); v -= eps/2 F(x). Volume preserving (log-det 0); the backward
/// direction is the same integrator with -eps, its exact inverse up to rounding.
///
/// **Jittered step size** (`jitter` F in [0, 1), `--hmc-jitter`): each chain's trajectory uses
/// eps_c = eps * (1 + F u_c), u_c uniform in [-1, 1] drawn by ``drawStepSizes(random:trajectory:firstChain:rows:)``
/// from the counter-based stream (seed, trajectory, chain, purpose `.stepSize`): independent of
/// the thread and process count, and of the state, so every fixed eps_c is an exact
/// (reversible, volume-preserving) kernel and so is their mixture. With F = 0 nothing is drawn
/// and the arithmetic is that of the unjittered integrator, bit for bit.
public final class LeapfrogDynamics {
    public let target: TargetAction
    public var stepSize: Double
    public var stepCount: Int
    /// Relative half-width F of the uniform step-size jitter (0: none).
    public var jitter: Double = 0
    public let capacity: Int
    private let force: Buffer
    /// Per-row factors 1 + F u of the current trajectory (used only when `jitter` > 0).
    private let scales: Buffer

    public init(target: TargetAction, stepSize: Double, stepCount: Int, capacity: Int) {
        self.target = target
        self.stepSize = stepSize
        self.stepCount = stepCount
        self.capacity = capacity
        force = Buffer(capacity * target.stateSize)
        scales = Buffer(capacity)
        for r in 0..<capacity { scales[r] = 1 }
    }

    /// The factor 1 + F u of `chain` (global id) in `trajectory`: u = 2 a - 1 with a the first
    /// uniform of block 0 of the stream (trajectory, chain, `.stepSize`).
    public static func stepFactor(jitter: Double, random: ChainRandom, trajectory: UInt32, chain: UInt32) -> Double {
        let a = random.uniforms(trajectory: trajectory, chain: chain, purpose: .stepSize, index: 0).0
        return 1 + jitter * (2 * a - 1)
    }

    /// Draws the factors of rows 0..<rows, which hold the chains firstChain..<firstChain+rows
    /// (global ids) in `trajectory`; nothing when `jitter` is 0.
    public func drawStepSizes(random: ChainRandom, trajectory: UInt32, firstChain: Int, rows: Int) {
        guard jitter != 0 else { return }
        precondition(rows <= capacity)
        for r in 0..<rows {
            scales[r] = Self.stepFactor(jitter: jitter, random: random, trajectory: trajectory, chain: UInt32(truncatingIfNeeded: firstChain + r))
        }
    }

    /// Integrates `stepCount` steps in place; `direction` -1 integrates backward in time. With a
    /// jitter, row r uses the step size `stepSize` times the factor last drawn for it.
    public func integrate(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, direction: Double = 1) {
        precondition(rows <= capacity)
        guard jitter == 0 else { return integrateJittered(x: x, v: v, rows: rows, direction: direction) }
        let n = target.stateSize, count = rows * n
        let eps = direction * stepSize, half = 0.5 * eps
        let f = force.pointer
        let compact = target.isCompact
        target.force(x, rows: rows, into: f)
        for _ in 0..<stepCount {
            for i in 0..<count { v[i] -= half * f[i] }
            if compact {
                l2k_drift_wrapped(x, v, eps, count)
            } else {
                for i in 0..<count { x[i] += eps * v[i] }
            }
            target.force(x, rows: rows, into: f)
            for i in 0..<count { v[i] -= half * f[i] }
        }
    }

    /// ``integrate(x:v:rows:direction:)`` with a step size per row.
    private func integrateJittered(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, direction: Double) {
        let n = target.stateSize
        let f = force.pointer
        let compact = target.isCompact
        target.force(x, rows: rows, into: f)
        for _ in 0..<stepCount {
            for r in 0..<rows {
                let eps = direction * stepSize * scales[r], half = 0.5 * eps
                let o = r * n
                for i in o..<(o + n) { v[i] -= half * f[i] }
                if compact {
                    l2k_drift_wrapped(x + o, v + o, eps, n)
                } else {
                    for i in o..<(o + n) { x[i] += eps * v[i] }
                }
            }
            target.force(x, rows: rows, into: f)
            for r in 0..<rows {
                let half = 0.5 * direction * stepSize * scales[r]
                for i in (r * n)..<((r + 1) * n) { v[i] -= half * f[i] }
            }
        }
    }
}
