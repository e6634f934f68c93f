import CL2HMCKernels
import Foundation
import ModelFormat

/// The 2D U(1) Wilson action S(x) = beta sum_P (1 - cos phi_P) on an Lt x Lx torus, with
/// phi_P(n) = x_0(n) + x_1(n + e_0) - x_0(n + e_1) - x_1(n) (periodic), links flattened by the
/// model's ``LinkLayout``. The force is the exact gradient (checked against finite differences).
public final class U1Action: TargetAction {
    public let lattice: U1Lattice
    public var u1Lattice: U1Lattice? { lattice }
    public let stateSize: Int
    public let isCompact = true
    /// Number of plaquettes V = Lt Lx.
    public let volume: Int
    /// For each plaquette, the link indices with signs + + - -: [V, 4].
    let plaquetteLinks: [Int32]
    /// For each link, the plaquette where it enters with + and the one where it enters with -,
    /// when every link is in exactly one of each (Lt, Lx >= 2); the force is then a gather.
    private let plusPlaquette: [Int32]?, minusPlaquette: [Int32]?

    public init(lattice: U1Lattice) {
        self.lattice = lattice
        let lt = lattice.lt, lx = lattice.lx
        volume = lt * lx
        stateSize = 2 * volume
        var links: [Int32] = []
        links.reserveCapacity(4 * volume)
        for t in 0..<lt {
            for x in 0..<lx {
                let idx = { (t: Int, x: Int, mu: Int) in Int32(lattice.linkLayout.index(t: (t + lt) % lt, x: (x + lx) % lx, mu: mu, lt: lt, lx: lx)) }
                links += [idx(t, x, 0), idx(t + 1, x, 1), idx(t, x + 1, 0), idx(t, x, 1)]
            }
        }
        plaquetteLinks = links
        var plus = [[Int32]](repeating: [], count: 2 * volume), minus = plus
        for p in 0..<volume {
            plus[Int(links[4 * p])].append(Int32(p)); plus[Int(links[4 * p + 1])].append(Int32(p))
            minus[Int(links[4 * p + 2])].append(Int32(p)); minus[Int(links[4 * p + 3])].append(Int32(p))
        }
        if plus.allSatisfy({ $0.count == 1 }) && minus.allSatisfy({ $0.count == 1 }) {
            plusPlaquette = plus.map { $0[0] }
            minusPlaquette = minus.map { $0[0] }
        } else {
            plusPlaquette = nil
            minusPlaquette = nil
        }
    }

    /// Plaquette angle index of site (t, x) is t * Lx + x.
    @inline(__always)
    func plaquette(_ x: UnsafePointer<Double>, _ p: Int, _ links: UnsafePointer<Int32>) -> Double {
        let l = links + 4 * p
        return x[Int(l[0])] + x[Int(l[1])] - x[Int(l[2])] - x[Int(l[3])]
    }

    public func action(_ x: UnsafePointer<Double>, rows: Int, into out: UnsafeMutablePointer<Double>) {
        let n = stateSize, v = volume, beta = lattice.beta
        plaquetteLinks.withUnsafeBufferPointer { links in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: v) { scratch in
                l2k_u1_action(x, rows, n, links.baseAddress!, v, beta, scratch.baseAddress!, out)
            }
        }
    }

    /// dU/dx: the sines of the plaquettes (vectorized), then for each link the difference of the
    /// two plaquettes it enters (the same sums as scattering +-beta sin phi_P in plaquette order).
    public func force(_ x: UnsafePointer<Double>, rows: Int, into out: UnsafeMutablePointer<Double>) {
        let n = stateSize, v = volume, beta = lattice.beta
        plaquetteLinks.withUnsafeBufferPointer { links in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: v) { scratch in
                if let plus = plusPlaquette, let minus = minusPlaquette {
                    plus.withUnsafeBufferPointer { p in minus.withUnsafeBufferPointer { m in
                        l2k_u1_force(x, rows, n, links.baseAddress!, v, beta, p.baseAddress!, m.baseAddress!, scratch.baseAddress!, out)
                    } }
                } else {
                    l2k_u1_force(x, rows, n, links.baseAddress!, v, beta, nil, nil, scratch.baseAddress!, out)
                }
            }
        }
    }

    /// Per-row observables: mean cos phi_P, Q_int = sum wrap(phi_P)/2pi (an exact integer up to
    /// rounding, returned rounded), Q_sin = sum sin(phi_P)/2pi.
    public func observables(_ x: UnsafePointer<Double>, rows: Int) -> (plaquette: [Double], qInt: [Double], qSin: [Double]) {
        let n = stateSize
        var plaq = [Double](repeating: 0, count: rows), qi = plaq, qs = plaq
        plaquetteLinks.withUnsafeBufferPointer { lb in
            for r in 0..<rows {
                var c = 0.0, w = 0.0, s = 0.0
                for p in 0..<volume {
                    let phi = plaquette(x + r * n, p, lb.baseAddress!)
                    c += cos(phi); s += sin(phi); w += Angles.wrap(phi)
                }
                plaq[r] = c / Double(volume)
                // rounded() keeps the sign of a small negative sum: -0.0, stored as +0.0.
                qi[r] = RunDirectory.positiveZero((w / (2 * .pi)).rounded())
                qs[r] = s / (2 * .pi)
            }
        }
        return (plaq, qi, qs)
    }

    /// Recorded per configuration: `plaquette` (mean cos phi_P), `q_int` (integer charge, never
    /// -0.0) and `q_sin` (sin charge), as in every U(1) run directory.
    public static let recordedObservables: [Observable] = [
        Observable(name: "plaquette",
                   meaning: "the mean over the V = Lt Lx plaquettes of cos(phi_P), phi_P(n) = x_0(n) + x_1(n + e_0) - x_0(n + e_1) - x_1(n) (periodic); in [-1, 1], dimensionless; the summary compares it with the exact finite-volume value",
                   domainDescription: "a plaquette in [-1, 1]") { $0.isFinite && abs($0) <= 1 + 1e-12 },
        Observable(name: "q_int", csvInteger: true, role: .topologicalCharge, exact: 0,
                   meaning: "the integer topological charge Q_int = round(sum_P wrap(phi_P) / 2 pi), wrap into [-pi, pi); whole numbers stored as float64 (zero always as +0.0), dimensionless",
                   domainDescription: "an integer charge") { $0.isFinite && $0 == $0.rounded() && abs($0) < 1e9 },
        Observable(name: "q_sin",
                   meaning: "the real-valued charge Q_sin = sum_P sin(phi_P) / 2 pi (not an integer; close to Q_int on smooth configurations), dimensionless"),
    ]

    public var observables: [Observable] { U1Action.recordedObservables }

    public func measure(_ x: UnsafePointer<Double>, rows: Int) -> [[Double]] {
        let o = observables(x, rows: rows)
        return [o.plaquette, o.qInt, o.qSin]
    }

    /// The plaquette with its exact finite-volume value, <Q^2> (exact for V >= 3), <Q> (0 by
    /// symmetry) and <Q_sin^2>.
    public var estimators: [Estimator] {
        let exactPlaquette = try? U1Exact.plaquette(beta: lattice.beta, volume: volume)
        let exactQ2 = volume >= 3 ? (try? U1Exact.topologicalSusceptibility(beta: lattice.beta, volume: volume))?.q2 : nil
        return [
            Estimator(name: "plaquette", exact: exactPlaquette, observable: "plaquette"),
            Estimator(name: "Q^2", exact: exactQ2, observable: "q_int") { $0 * $0 },
            Estimator(name: "Q", exact: 0, observable: "q_int"),
            Estimator(name: "Q_sin^2", exact: nil, observable: "q_sin") { $0 * $0 },
        ]
    }
}
