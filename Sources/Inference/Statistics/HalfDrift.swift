import Foundation

/// Drift of an observable across the kept data: the first half of every chain against the
/// second half.
///
/// For B chains of N >= 4 samples each, the first half is samples `0 ..< N/2` of every chain and
/// the second half samples `N/2 ..< N` (integer division: with N odd the second half has one
/// sample more). Each half is estimated on its own with ``MeanEstimate`` (honest errors: the
/// larger of the window and chain-scatter estimates) and
///
///     z = (second.mean - first.mean) / sqrt(first.error^2 + second.error^2).
///
/// For a stationary chain z is approximately standard normal, and somewhat narrower than that:
/// the two halves are adjacent, so their means are positively correlated and the variance of the
/// difference is below the sum of the variances (the test is conservative). A chain still
/// relaxing from its start moves between the halves and gives a large |z|. When both errors are
/// 0 (constant halves) `z` is 0 for equal means and a signed infinity otherwise; non-finite
/// input gives NaN.
public struct HalfDrift: Sendable, Equatable {
    public let first: MeanEstimate
    public let second: MeanEstimate
    public let z: Double

    public init(first: MeanEstimate, second: MeanEstimate) {
        self.first = first
        self.second = second
        let difference = second.mean - first.mean
        let error = (first.error * first.error + second.error * second.error).squareRoot()
        if error == 0 && !difference.isNaN {
            z = difference == 0 ? 0 : (difference > 0 ? .infinity : -.infinity)
        } else {
            z = difference / error
        }
    }

    /// The fewest samples per chain for which the halves are compared (two per half).
    public static let minimumSamples = 4

    /// Compares the halves of `chains` (equal lengths); nil when there are no chains or fewer
    /// than ``minimumSamples`` samples per chain.
    public static func measure(chains: [[Double]], c: Double = 5) -> HalfDrift? {
        guard let n = chains.first?.count, n >= minimumSamples else { return nil }
        precondition(chains.allSatisfy { $0.count == n }, "HalfDrift: chains differ in length")
        let half = n / 2
        let first = MeanEstimate.estimate(chains: chains.map { Array($0[0..<half]) }, c: c)
        let second = MeanEstimate.estimate(chains: chains.map { Array($0[half..<n]) }, c: c)
        return HalfDrift(first: first, second: second)
    }
}
