import Foundation

/// F L F L on a sample of chains (seed 001 eq. 55, 58-61): the trajectory, the direction flip,
/// the trajectory again, the flip again must return the start. Reports the largest angle-aware
/// |dx|, |dv| and the largest |logdet(forward) + logdet(backward)|.
public enum ReversibilityCheck {
    public struct Result: Sendable {
        public let chains: Int
        public let maxDx: Double
        public let maxDv: Double
        public let maxLogDetSum: Double
    }

    /// Uses the first `count` rows of `states` with fresh momenta from `random` (trajectory stream
    /// UInt32.max - 1, so the run's own streams are untouched).
    public static func run(l2hmc: L2HMCDynamics?, hmc: LeapfrogDynamics?, target: TargetAction, states: [Double], count: Int, random: ChainRandom) -> Result {
        let n = target.stateSize
        let rows = min(count, states.count / n, l2hmc?.capacity ?? Int.max, hmc?.capacity ?? Int.max)
        let x0 = Array(states.prefix(rows * n))
        let v0 = Buffer(rows * n)
        for c in 0..<rows { random.normals(trajectory: UInt32.max - 1, chain: UInt32(c), purpose: .momentum, count: n, into: v0.pointer + c * n) }
        let x = Buffer(x0), v = Buffer(v0.array), forwardLD = Buffer(rows), backwardLD = Buffer(rows)
        if let l2hmc {
            l2hmc.forward(x: x.pointer, v: v.pointer, rows: rows, logDet: forwardLD.pointer)
            l2hmc.backward(x: x.pointer, v: v.pointer, rows: rows, logDet: backwardLD.pointer)
        } else if let hmc {
            hmc.integrate(x: x.pointer, v: v.pointer, rows: rows)
            hmc.integrate(x: x.pointer, v: v.pointer, rows: rows, direction: -1)
        }
        var dx = 0.0, dv = 0.0, dl = 0.0
        for i in 0..<(rows * n) {
            dx = max(dx, target.isCompact ? abs(Angles.wrap(x[i] - x0[i])) : abs(x[i] - x0[i]))
            dv = max(dv, abs(v[i] - v0[i]))
        }
        for c in 0..<rows { dl = max(dl, abs(forwardLD[c] + backwardLD[c])) }
        return Result(chains: rows, maxDx: dx, maxDv: dv, maxLogDetSum: dl)
    }
}
