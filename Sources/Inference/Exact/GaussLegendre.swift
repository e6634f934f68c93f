import Foundation

/// Composite Gauss-Legendre quadrature (internal helper of the exact results).
///
/// Contract: `nodes`/`weights` are the 20-point rule on [-1, 1], computed once by Newton's method
/// on the Legendre recurrence to within a few ulps (the weights sum to 2 within 1e-15). The rule
/// integrates polynomials of degree <= 39 exactly; composite use on `panels` equal sub-intervals
/// of an entire integrand converges faster than any power of the panel width, so for the smooth
/// integrands of `U1Exact` the error is at the level of rounding once each panel holds at most
/// about one oscillation and one width of the `exp(beta cos p)` peak.
struct GaussLegendre {
    let nodes: [Double]
    let weights: [Double]

    /// The 20-point rule.
    static let rule20 = GaussLegendre(order: 20)

    init(order n: Int) {
        precondition(n >= 1)
        var x = [Double](repeating: 0, count: n)
        var w = [Double](repeating: 0, count: n)
        for i in 0..<n {
            // Tricomi's initial guess for the i-th root, then Newton.
            var z = cos(Double.pi * (Double(i) + 0.75) / (Double(n) + 0.5))
            var derivative = 0.0
            for _ in 0..<100 {
                var p0 = 1.0
                var p1 = z
                for j in 1..<n {
                    let p2 = (Double(2 * j + 1) * z * p1 - Double(j) * p0) / Double(j + 1)
                    p0 = p1
                    p1 = p2
                }
                // p1 = P_n(z), p0 = P_{n-1}(z).
                derivative = Double(n) * (z * p1 - p0) / (z * z - 1)
                let step = p1 / derivative
                z -= step
                if abs(step) < 1e-16 { break }
            }
            x[i] = z
            w[i] = 2 / ((1 - z * z) * derivative * derivative)
        }
        nodes = x
        weights = w
    }

    /// Integrals of the three components of `f` over `[a, b]` with `panels` equal sub-intervals
    /// (three integrands at once so that they share the expensive exponential).
    func integrate(from a: Double, to b: Double, panels: Int,
                   _ f: (Double) -> (Double, Double, Double)) -> (Double, Double, Double) {
        precondition(panels >= 1)
        let width = (b - a) / Double(panels)
        var s0 = 0.0, s1 = 0.0, s2 = 0.0
        for panel in 0..<panels {
            let centre = a + (Double(panel) + 0.5) * width
            let halfWidth = width / 2
            var p0 = 0.0, p1 = 0.0, p2 = 0.0
            for i in nodes.indices {
                let value = f(centre + halfWidth * nodes[i])
                p0 += weights[i] * value.0
                p1 += weights[i] * value.1
                p2 += weights[i] * value.2
            }
            s0 += p0 * halfWidth
            s1 += p1 * halfWidth
            s2 += p2 * halfWidth
        }
        return (s0, s1, s2)
    }
}
