import Foundation

/// The mean of a Markov-chain observable with an autocorrelation-corrected error.
///
/// For B chains of N samples each:
/// - `mean` is the average of all `N * B` samples;
/// - `variance` is the unbiased sample variance over all `N * B` samples (divisor `N B - 1`);
/// - `tauInt` is Sokal's windowed integrated time of the chain-averaged, globally centred
///   autocorrelation (`Autocorrelation.normalizedAveraged`), floored at 0.5;
/// - `error = sqrt(variance * tauInt / (N * B))`.
///
/// Numerical contract:
/// - requires `B >= 1` chains of equal length `N >= 2` (precondition);
/// - a constant input (all samples bitwise equal) gives exactly `variance = 0`, `error = 0`,
///   `tauInt = 1`, `window = 0`, `converged = true` and `mean` equal to that value, never NaN;
/// - the error is asymptotic: it assumes `N >> tauInt`; check `converged` (false means the
///   window never closed and the error is likely too small);
/// - independent chains each contribute `N` samples; between-chain disagreement (chains stuck in
///   different places) shows up as a large `tauInt` because of the global centring;
/// - non-finite samples make every field NaN.
public struct MeanEstimate: Sendable, Equatable {
    public let mean: Double
    public let error: Double
    public let tauInt: Double
    public let window: Int
    /// Whether Sokal's window closed (see `Autocorrelation.IntegratedTime.converged`).
    public let converged: Bool
    /// Samples per chain, N.
    public let samples: Int
    /// Number of chains, B.
    public let chains: Int
    public let variance: Double

    public init(mean: Double, error: Double, tauInt: Double, window: Int, converged: Bool,
                samples: Int, chains: Int, variance: Double) {
        self.mean = mean
        self.error = error
        self.tauInt = tauInt
        self.window = window
        self.converged = converged
        self.samples = samples
        self.chains = chains
        self.variance = variance
    }

    /// Estimates the mean of `chains` (B arrays of N samples each) with window constant `c`.
    public static func estimate(chains: [[Double]], c: Double = 5) -> MeanEstimate {
        let b = chains.count
        precondition(b >= 1, "MeanEstimate: need at least one chain")
        let n = chains[0].count
        precondition(n >= 2, "MeanEstimate: need at least two samples per chain")
        precondition(chains.allSatisfy { $0.count == n }, "MeanEstimate: chains differ in length")
        let total = Double(n * b)

        let first = chains[0][0]
        if chains.allSatisfy({ $0.allSatisfy { $0 == first } }) {
            return MeanEstimate(mean: first, error: 0, tauInt: 1, window: 0, converged: true,
                                samples: n, chains: b, variance: 0)
        }

        let mean = chains.reduce(0) { $0 + $1.reduce(0, +) } / total
        var squares = 0.0
        for chain in chains {
            for x in chain {
                let d = x - mean
                squares += d * d
            }
        }
        let variance = squares / (total - 1)
        let time = Autocorrelation.integratedTime(rho: Autocorrelation.normalizedAveraged(chains), c: c)
        let error = (variance * time.tau / total).squareRoot()
        return MeanEstimate(mean: mean, error: error, tauInt: time.tau, window: time.window,
                            converged: time.converged, samples: n, chains: b, variance: variance)
    }

    /// Convenience for a single chain.
    public static func estimate(series: [Double], c: Double = 5) -> MeanEstimate {
        estimate(chains: [series], c: c)
    }

    /// `(mean - exact) / error`; when `error == 0` it is 0 if `mean == exact` and a signed
    /// infinity otherwise (NaN if either value is NaN).
    public func zScore(exact: Double) -> Double {
        let difference = mean - exact
        if error == 0 {
            if difference.isNaN { return .nan }
            return difference == 0 ? 0 : (difference > 0 ? .infinity : -.infinity)
        }
        return difference / error
    }
}
