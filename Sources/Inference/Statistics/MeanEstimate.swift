import Foundation

/// The mean of a Markov-chain observable with an honest error: the larger of an
/// autocorrelation-corrected error and, when there are enough independent chains, the standard
/// error from the scatter of the chains' own means.
///
/// For B chains of N samples each:
/// - `mean` is the average of all `N * B` samples (equal lengths, so also the mean of the chain
///   means);
/// - `variance` is the unbiased sample variance over all `N * B` samples (divisor `N B - 1`);
/// - `tauInt` is Sokal's windowed integrated time of the chain-averaged, globally centred
///   autocorrelation (`Autocorrelation.normalizedAveraged`), floored at 0.5;
/// - `autocorrelationError = sqrt(variance * tauInt / (N * B))`;
/// - `chainScatterError = sqrt(s_B^2 / B)` where `s_B^2` is the unbiased variance (divisor
///   `B - 1`) of the B chain means; nil when `B < minimumChainsForScatter`;
/// - `error = max(autocorrelationError, chainScatterError)` (the autocorrelation error alone when
///   the scatter one is nil), and `errorSource` says which one it is (autocorrelation on a tie).
///
/// Why both. The window estimate only sees correlations the window reaches: a slow mode whose
/// contribution to `rho(t)` is small at each lag (topology at large beta, rarely switching
/// mixture modes) leaves the window "converged" and the error too small, by 0.5-0.8x for plain
/// HMC at beta 4-6 on 8x8. The chain means of independent chains are independent and identically
/// distributed whatever the autocorrelation, so their scatter estimates the variance of the grand
/// mean without any model of the dynamics; it is only noisy: with B chains its relative standard
/// deviation is about `1 / sqrt(2 (B - 1))`.
///
/// Why `B >= 8` (``minimumChainsForScatter``). With 8 chains the scatter estimate has about
/// 26 % relative spread (chi with 7 degrees of freedom): it exceeds a window estimate that is
/// half the truth with probability 0.97, and when the window is right the maximum inflates the
/// error by about 9 % on average (16 chains: 6 %, 64: 3 %). With 4 chains a 2x underestimate is
/// caught only with probability 0.86 while the spread reaches 39 %, and with 2 it is a coin toss.
///
/// Numerical contract:
/// - requires `B >= 1` chains of equal length `N >= 2` (precondition);
/// - a constant input (all samples bitwise equal) gives exactly `variance = 0`, `error = 0`
///   (both estimates 0), `tauInt = 1`, `window = 0`, `converged = true` and `mean` equal to that
///   value, never NaN;
/// - the autocorrelation error is asymptotic: it assumes `N >> tauInt`; `converged` false means
///   the window never closed and that error is likely too small;
/// - the chain-scatter error assumes the chains are independent (separate random streams and
///   separate starts) and identically distributed; a run whose chains have not forgotten their
///   start is not covered by either estimate (see ``Equilibration``);
/// - non-finite samples make every field NaN.
public struct MeanEstimate: Sendable, Equatable {
    /// Which estimate ``error`` is.
    public enum ErrorSource: String, Sendable, Equatable {
        /// `sqrt(variance * tauInt / (N B))` from Sokal's window.
        case autocorrelation
        /// `sqrt(var(chain means) / B)`.
        case chainScatter = "chain_scatter"
    }

    /// The fewest chains for which the chain-scatter error is computed and can be reported.
    public static let minimumChainsForScatter = 8

    public let mean: Double
    /// The reported error: `max(autocorrelationError, chainScatterError ?? 0)`.
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
    /// `sqrt(variance * tauInt / (N B))`.
    public let autocorrelationError: Double
    /// `sqrt(var(chain means) / B)`; nil with fewer than ``minimumChainsForScatter`` chains.
    public let chainScatterError: Double?
    /// Which estimate ``error`` is.
    public let errorSource: ErrorSource

    /// Stores the fields as given. Without the last three arguments the estimate is a pure
    /// autocorrelation one: `autocorrelationError = error`, no scatter error.
    public init(mean: Double, error: Double, tauInt: Double, window: Int, converged: Bool,
                samples: Int, chains: Int, variance: Double,
                autocorrelationError: Double? = nil, chainScatterError: Double? = nil,
                errorSource: ErrorSource = .autocorrelation) {
        self.mean = mean
        self.error = error
        self.tauInt = tauInt
        self.window = window
        self.converged = converged
        self.samples = samples
        self.chains = chains
        self.variance = variance
        self.autocorrelationError = autocorrelationError ?? error
        self.chainScatterError = chainScatterError
        self.errorSource = errorSource
    }

    /// Estimates the mean of `chains` (B arrays of N samples each) with window constant `c`.
    public static func estimate(chains: [[Double]], c: Double = 5) -> MeanEstimate {
        let b = chains.count
        precondition(b >= 1, "MeanEstimate: need at least one chain")
        let n = chains[0].count
        precondition(n >= 2, "MeanEstimate: need at least two samples per chain")
        precondition(chains.allSatisfy { $0.count == n }, "MeanEstimate: chains differ in length")
        let total = Double(n * b)
        let scatterApplies = b >= minimumChainsForScatter

        let first = chains[0][0]
        if chains.allSatisfy({ $0.allSatisfy { $0 == first } }) {
            return MeanEstimate(mean: first, error: 0, tauInt: 1, window: 0, converged: true,
                                samples: n, chains: b, variance: 0,
                                autocorrelationError: 0, chainScatterError: scatterApplies ? 0 : nil)
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
        let windowError = (variance * time.tau / total).squareRoot()
        let scatterError = scatterApplies ? chainScatter(chains) : nil
        // `>` keeps the autocorrelation estimate on a tie (and when either is NaN, which NaN
        // input makes both).
        var error = windowError
        var source = ErrorSource.autocorrelation
        if let scatter = scatterError, scatter > windowError {
            error = scatter
            source = .chainScatter
        }
        return MeanEstimate(mean: mean, error: error, tauInt: time.tau, window: time.window,
                            converged: time.converged, samples: n, chains: b, variance: variance,
                            autocorrelationError: windowError, chainScatterError: scatterError,
                            errorSource: source)
    }

    /// Convenience for a single chain.
    public static func estimate(series: [Double], c: Double = 5) -> MeanEstimate {
        estimate(chains: [series], c: c)
    }

    /// `sqrt(var(chain means) / B)` with the unbiased variance of the B >= 2 chain means.
    static func chainScatter(_ chains: [[Double]]) -> Double {
        let b = Double(chains.count)
        let means = chains.map { $0.reduce(0, +) / Double($0.count) }
        let grand = means.reduce(0, +) / b
        let squares = means.reduce(0) { $0 + ($1 - grand) * ($1 - grand) }
        return (squares / (b - 1) / b).squareRoot()
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
