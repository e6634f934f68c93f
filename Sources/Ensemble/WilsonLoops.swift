import Foundation
import ModelFormat

/// Rectangular R x T Wilson loops of 2D U(1) configurations, averaged over the lattice.
///
/// With `x_mu(n)` the link from site n in direction mu (mu = 0: t, mu = 1: x), the loop of R
/// links in x and T links in t with its corner at n has the angle
///
///     theta(n; R, T) = V_T(n) + H_R(n + T e_0) - V_T(n + R e_1) - H_R(n)
///
/// with `V_T(n) = sum_{j<T} x_0(n + j e_0)` and `H_R(n) = sum_{i<R} x_1(n + i e_1)` (periodic);
/// for R = T = 1 it is the plaquette angle phi_P(n) of ``Inference/U1Action``, and in general
/// the sum of the R T plaquette angles it encloses (mod 2 pi). The result for one configuration
/// is `W(R, T) = (1 / V) sum_n cos theta(n; R, T)`, summed in site order t * Lx + x.
public struct WilsonLoops: Sendable {
    public let lattice: U1Lattice
    /// Largest R and T (1 <= rMax < min(Lt, Lx): every loop is contractible).
    public let rMax: Int

    public init(lattice: U1Lattice, rMax: Int) {
        self.lattice = lattice; self.rMax = rMax
    }

    /// `W(R, T)` of one configuration (`2 Lt Lx` links), at index `(R - 1) * rMax + (T - 1)`.
    public func measure(_ x: UnsafePointer<Double>) -> [Double] {
        let lt = lattice.lt, lx = lattice.lx, layout = lattice.linkLayout, m = rMax
        let volume = lt * lx
        func link(_ t: Int, _ s: Int, _ mu: Int) -> Double { x[layout.index(t: t % lt, x: s % lx, mu: mu, lt: lt, lx: lx)] }
        // h[site * m + (R - 1)] = H_R(site), v[site * m + (T - 1)] = V_T(site).
        var h = [Double](repeating: 0, count: volume * m), v = h
        for t in 0..<lt {
            for s in 0..<lx {
                let site = t * lx + s
                var a = 0.0, b = 0.0
                for i in 0..<m {
                    a += link(t, s + i, 1); h[site * m + i] = a
                    b += link(t + i, s, 0); v[site * m + i] = b
                }
            }
        }
        var w = [Double](repeating: 0, count: m * m)
        for t in 0..<lt {
            for s in 0..<lx {
                let site = t * lx + s
                for r in 1...m {
                    for tt in 1...m {
                        let top = ((t + tt) % lt) * lx + s, right = t * lx + (s + r) % lx
                        let theta = v[site * m + tt - 1] + h[top * m + r - 1] - v[right * m + tt - 1] - h[site * m + r - 1]
                        w[(r - 1) * m + tt - 1] += cos(theta)
                    }
                }
            }
        }
        return w.map { $0 / Double(volume) }
    }
}
