import CL2HMCKernels

/// Standard leapfrog (kick-drift-kick) for plain HMC: per step v -= eps/2 F(x); x += eps v
/// (wrapped on the circle); v -= eps/2 F(x). Volume preserving (log-det 0); the backward
/// direction is the same integrator with -eps, its exact inverse up to rounding.
public final class LeapfrogDynamics {
    public let target: TargetAction
    public var stepSize: Double
    public var stepCount: Int
    public let capacity: Int
    private let force: Buffer

    public init(target: TargetAction, stepSize: Double, stepCount: Int, capacity: Int) {
        self.target = target
        self.stepSize = stepSize
        self.stepCount = stepCount
        self.capacity = capacity
        force = Buffer(capacity * target.stateSize)
    }

    /// Integrates `stepCount` steps in place; `direction` -1 integrates backward in time.
    public func integrate(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, direction: Double = 1) {
        precondition(rows <= capacity)
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
}
