import Foundation

extension U1Exact {
    /// The exact distribution of the integer topological charge `Q_int` on an Lt x Lx torus
    /// (`volume` = Lt Lx plaquettes), `P(Q)` for `Q = 0 ... maxCharge` (`P(-Q) = P(Q)`), from the
    /// theta-dependent partition function of the character expansion (see the type's notes):
    ///
    ///     P(Q) = (1/2pi) int_{-pi}^{pi} e^{-i theta Q} Z(theta) / Z(0) d theta
    ///          = (1/pi)  int_0^pi cos(theta Q) R(theta) d theta,   R = Z(theta) / Z(0),
    ///
    /// with `Z(theta) = sum_k c_k(theta)^V`. `R` is entire and even in theta; the integral uses
    /// composite 20-point Gauss-Legendre with `8 + maxCharge + ceil(sqrt(V))` panels (each panel
    /// then holds at most one oscillation of `cos(theta Q)` and a fraction of the width of `R`,
    /// whose scale is about `sqrt(beta / V)`), so the quadrature error is at rounding level. The
    /// k-sum of each `Z(theta)` stops once a term's V-th power is below 1e-18 of the sum (the
    /// ratios `c_k / c_0` fall off at least geometrically in |k|), and at `40 + beta + 12 sqrt(beta)`.
    ///
    /// Checked (Tests/InferenceTests/ChargeDistributionTests.swift): `sum_Q P(Q) = 1` and
    /// `sum_Q Q^2 P(Q) = <Q^2>` of ``topologicalSusceptibility(beta:volume:)`` (an independent
    /// formula, by theta derivatives at 0) to 1e-10. For `beta > 200` the large-beta ``logPartitionRatio(theta:beta:volume:)`` gives `R`.
    public static func chargeDistribution(beta: Double, volume: Int, maxCharge: Int) throws -> [Double] {
        guard beta.isFinite, beta > 0 else { throw InvalidInput.beta(beta) }
        guard volume >= 1 else { throw InvalidInput.volume(volume, minimum: 1) }
        let qMax = max(0, maxCharge)
        let cap = 40 + Int((beta + 12 * beta.squareRoot()).rounded(.up))
        let c0 = characterIntegrals(k: 0, theta: 0, beta: beta).c
        func sum(theta: Double) -> Double {
            var s = power(characterIntegrals(k: 0, theta: theta, beta: beta).c / c0, volume)
            var small = 0
            for k in 1...cap {
                let plus = power(characterIntegrals(k: k, theta: theta, beta: beta).c / c0, volume)
                let minus = power(characterIntegrals(k: -k, theta: theta, beta: beta).c / c0, volume)
                s += plus + minus
                small = max(abs(plus), abs(minus)) < 1e-18 * abs(s) ? small + 1 : 0
                if small >= 2 { break }
            }
            return s
        }
        let ratio: (Double) throws -> Double
        if beta > asymptoticThreshold {
            ratio = { exp(try logPartitionRatio(theta: $0, beta: beta, volume: volume)) }
        } else {
            let zero = sum(theta: 0)
            ratio = { sum(theta: $0) / zero }
        }
        let rule = GaussLegendre.rule20
        let panels = 8 + qMax + Int(Double(volume).squareRoot().rounded(.up))
        let width = Double.pi / Double(panels)
        var p = [Double](repeating: 0, count: qMax + 1)
        for panel in 0..<panels {
            let centre = (Double(panel) + 0.5) * width
            for i in rule.nodes.indices {
                let theta = centre + width / 2 * rule.nodes[i]
                let w = rule.weights[i] * width / 2 * (try ratio(theta))
                for q in 0...qMax { p[q] += w * cos(theta * Double(q)) }
            }
        }
        return p.map { $0 / Double.pi }
    }
}
