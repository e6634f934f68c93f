import Foundation

/// Importance weights w = p / q of samples from a proposal density q (a flow) for a target p
/// known up to a constant: the constant cancels in everything here.
public enum ImportanceWeights {
    /// The effective sample size per sample, (sum w)^2 / (N sum w^2) in (0, 1], from log w,
    /// evaluated as exp(2 LSE(log w) - LSE(2 log w)) / N so no weight overflows. 1 when every
    /// weight is equal, 1/N when one weight dominates; nil for an empty list or a non-finite log
    /// weight (a NaN, or +inf, means the flow is broken there).
    public static func effectiveSampleSizeFraction(logWeights: [Double]) -> Double? {
        guard !logWeights.isEmpty, logWeights.allSatisfy({ $0.isFinite || $0 == -.infinity }),
              let top = logWeights.max(), top.isFinite else { return nil }
        var sum = 0.0, sumSquares = 0.0
        for l in logWeights {
            let w = exp(l - top)
            sum += w; sumSquares += w * w
        }
        return sum * sum / (Double(logWeights.count) * sumSquares)
    }
}
