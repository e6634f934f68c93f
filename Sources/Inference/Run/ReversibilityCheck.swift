import Foundation

/// F L F L on a sample of chains (seed 001 eq. 55, 58-61): the trajectory, the direction flip,
/// the trajectory again, the flip again must return the start. Reports the largest angle-aware
/// |dx|, |dv| and the largest |logdet(forward) + logdet(backward)|, and the distribution over
/// chains of each chain's largest |dx| (its quantiles), for the network precision in use.
/// A NaN anywhere makes the corresponding maximum NaN (an infinity makes it infinite); NaN chains
/// sort last among the per-chain values.
/// With float32 networks the maps still invert each other up to rounding: forward and backward
/// evaluate the same float networks, whose inputs differ only by the double rounding of the
/// states (docs/RUNTIME.md, "float32 networks", has the measured distributions).
public enum ReversibilityCheck {
    public struct Result: Sendable {
        public let chains: Int
        public let maxDx: Double
        public let maxDv: Double
        public let maxLogDetSum: Double
        /// Each chain's largest angle-aware |dx|, sorted ascending.
        public let chainMaxDx: [Double]
        /// The network arithmetic of the L2HMC proposal (nil for plain HMC).
        public let precision: NetworkPrecision?

        /// The q-quantile (0...1) of the per-chain largest |dx| (nearest rank).
        public func dxQuantile(_ q: Double) -> Double {
            guard !chainMaxDx.isEmpty else { return 0 }
            let i = min(chainMaxDx.count - 1, max(0, Int((q * Double(chainMaxDx.count)).rounded(.up)) - 1))
            return chainMaxDx[i]
        }
    }

    /// Uses the first `count` rows of `states` with fresh momenta from `random` (trajectory stream
    /// UInt32.max - 1, so the run's own streams are untouched).
    /// The first of `l2hmc`, `fthmc`, `hmc` given is checked (FT-HMC backward is the same
    /// trajectory with -eps, including the flow's inverse and forward).
    public static func run(l2hmc: L2HMCDynamics?, hmc: LeapfrogDynamics?, fthmc: FieldTransformedHMC? = nil, target: TargetAction,
                           states: [Double], count: Int, random: ChainRandom) -> Result {
        let n = target.stateSize
        let rows = min(count, states.count / n, l2hmc?.capacity ?? Int.max, hmc?.capacity ?? Int.max, fthmc?.capacity ?? Int.max)
        let x0 = Array(states.prefix(rows * n))
        let v0 = Buffer(rows * n)
        for c in 0..<rows { random.normals(trajectory: UInt32.max - 1, chain: UInt32(c), purpose: .momentum, count: n, into: v0.pointer + c * n) }
        let x = Buffer(x0), v = Buffer(v0.array), forwardLD = Buffer(rows), backwardLD = Buffer(rows)
        if let l2hmc {
            l2hmc.forward(x: x.pointer, v: v.pointer, rows: rows, logDet: forwardLD.pointer)
            l2hmc.backward(x: x.pointer, v: v.pointer, rows: rows, logDet: backwardLD.pointer)
        } else if let fthmc {
            fthmc.propose(x: x.pointer, v: v.pointer, rows: rows, forward: true, logDet: forwardLD.pointer)
            fthmc.propose(x: x.pointer, v: v.pointer, rows: rows, forward: false, logDet: backwardLD.pointer)
        } else if let hmc {
            hmc.integrate(x: x.pointer, v: v.pointer, rows: rows)
            hmc.integrate(x: x.pointer, v: v.pointer, rows: rows, direction: -1)
        }
        var dx = 0.0, dv = 0.0, dl = 0.0
        var perChain = [Double](repeating: 0, count: rows)
        for i in 0..<(rows * n) {
            let d = target.isCompact ? abs(Angles.wrap(x[i] - x0[i])) : abs(x[i] - x0[i])
            dx = maxKeepingNaN(dx, d)
            perChain[i / n] = maxKeepingNaN(perChain[i / n], d)
            dv = maxKeepingNaN(dv, abs(v[i] - v0[i]))
        }
        for c in 0..<rows { dl = maxKeepingNaN(dl, abs(forwardLD[c] + backwardLD[c])) }
        return Result(chains: rows, maxDx: dx, maxDv: dv, maxLogDetSum: dl, chainMaxDx: perChain.sorted { !$0.isNaN && ($1.isNaN || $0 < $1) },
                      precision: l2hmc?.precision)
    }

    /// The larger of `a` and `b`, NaN when either is NaN: a chain that left the finite numbers
    /// is reported as NaN, never as 0 (`Swift.max(0, .nan)` is 0).
    static func maxKeepingNaN(_ a: Double, _ b: Double) -> Double { a.isNaN || b.isNaN ? .nan : max(a, b) }
}
