import Foundation

/// The gain of one sampler over another in cost per independent sample of Q, with its error.
///
/// A sampler's cost per measure is `tau_int(Q) * unit`, with `unit` the cost of one trajectory
/// in that measure (1 per trajectory, force evaluations per trajectory, CPU seconds per chain
/// and trajectory). The gain of a candidate over a reference is
/// `g = (tau_ref unit_ref) / (tau_cand unit_cand)`: above 1 the candidate is cheaper. Units
/// are taken as exact (force counts are; CPU times carry timing noise not included here).
///
/// The error is the larger of
/// - first-order propagation, `g sqrt((e_ref / tau_ref)^2 + (e_cand / tau_cand)^2)`, and
/// - the half-width of the interval spanned by the one-sigma extremes:
///   `(tau_ref + e_ref) / (tau_cand - e_cand)` above and `(tau_ref - e_ref) / (tau_cand + e_cand)`
///   below (both times `unit_ref / unit_cand`), as their larger distance from `g`; when
///   `e_cand >= tau_cand` the upper extreme is unbounded and the error infinite,
/// so a ratio of poorly known times is never reported more precisely than its ends allow.
public struct CostGain: Sendable, Equatable {
    public let value: Double
    public let error: Double

    public init(value: Double, error: Double) { self.value = value; self.error = error }

    public static func of(candidate: (tau: Double, error: Double, unit: Double), over reference: (tau: Double, error: Double, unit: Double)) -> CostGain {
        let units = reference.unit / candidate.unit
        let g = reference.tau / candidate.tau * units
        let linear = g * ((reference.error / reference.tau) * (reference.error / reference.tau)
                          + (candidate.error / candidate.tau) * (candidate.error / candidate.tau)).squareRoot()
        let upper = candidate.error >= candidate.tau ? Double.infinity : (reference.tau + reference.error) / (candidate.tau - candidate.error) * units
        let lower = (reference.tau - reference.error) / (candidate.tau + candidate.error) * units
        return CostGain(value: g, error: max(linear, upper - g, g - lower))
    }

    /// How the candidate compares, decided at two standard errors:
    /// `.gains` when `g - 2 e > 1`, `.loses` when `g + 2 e < 1`, `.ties` otherwise; `.unresolved`
    /// when the error exceeds half the gain (`e > g / 2`) or either is not finite, so that a
    /// "tie" is never claimed from noise.
    public var outcome: Outcome {
        guard value.isFinite, error.isFinite, value > 0 else { return .unresolved }
        if error > value / 2 { return .unresolved }
        if value - 2 * error > 1 { return .gains }
        if value + 2 * error < 1 { return .loses }
        return .ties
    }

    public enum Outcome: String, Sendable { case gains, loses, ties, unresolved }

    /// "gains 1.52x +- 0.31", "loses 11.2x +- 2.1" (the loss factor 1 / g with error e / g^2),
    /// "ties (0.97x +- 0.2)", "INCONCLUSIVE (0.8x +- 0.9)".
    public var phrase: String {
        let v = String(format: "%.3g", value), e = String(format: "%.2g", error)
        switch outcome {
        case .gains: return "gains \(v)x +- \(e)"
        case .loses: return "loses " + String(format: "%.3g", 1 / value) + "x +- " + String(format: "%.2g", error / (value * value))
        case .ties: return "ties (\(v)x +- \(e))"
        case .unresolved: return "INCONCLUSIVE (\(v)x +- \(e))"
        }
    }
}
