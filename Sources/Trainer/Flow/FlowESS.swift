import Foundation

/// The effective sample size per sample of N importance weights w = exp(log p - log q)
/// (/work/flow-contract.md): (sum w)^2 / (N sum w^2) = exp(2 LSE(log w) - LSE(2 log w)) / N,
/// computed from the logs so that no weight overflows. 1 when all weights are equal, 1/N when
/// one weight carries everything; the unknown log Z of p cancels.
public enum FlowESS {
    public static func perSample(logWeights lw: [Double]) -> Double {
        guard !lw.isEmpty else { return .nan }
        func lse(_ v: [Double]) -> Double {
            guard let m = v.max(), m.isFinite else { return v.max() ?? -.infinity }
            return m + log(v.reduce(0) { $0 + exp($1 - m) })
        }
        return exp(2 * lse(lw) - lse(lw.map { 2 * $0 })) / Double(lw.count)
    }
}
