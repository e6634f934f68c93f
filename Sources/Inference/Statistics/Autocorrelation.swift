import Foundation

/// Normalized autocorrelation functions and the integrated autocorrelation time.
///
/// Definitions (N samples per chain, lag t = 0 ..< N):
/// - autocovariance `Gamma(t) = (1 / (N - t)) * sum_{i=0}^{N-1-t} (x_i - m)(x_{i+t} - m)`, i.e.
///   each lag is divided by its own number of pairs (unbiased per lag), and
///   `rho(t) = Gamma(t) / Gamma(0)`;
/// - `tau(M) = 1 + 2 sum_{t=1}^{M} rho(t)`, with Sokal's automatic window: the smallest
///   `M >= 1` with `M >= c * tau(M)`.
///
/// Numerical contract:
/// - the sums are computed by FFT with zero padding to a power of two `>= 2N`, so there is no
///   circular wrap-around; each `Gamma(t)` has an absolute error of order
///   `eps * log2(N) * Gamma(0) * N / (N - t)`, so the far tail (t close to N) is noisy, as it is
///   statistically anyway;
/// - because of the per-lag division, `|rho(t)|` may exceed 1 at large lags;
/// - a constant input (every value bitwise equal, including a single sample) yields
///   `rho = [1, 0, 0, ...]`, never NaN; non-finite inputs propagate NaN.
public enum Autocorrelation {

    /// The normalized autocorrelation `rho(t)` of one series for `t = 0 ... min(maxLag, N - 1)`
    /// (all lags when `maxLag` is nil). The series is centred on its own mean.
    /// An empty series gives `[]`.
    public static func normalized(_ series: [Double], maxLag: Int? = nil) -> [Double] {
        let n = series.count
        if n == 0 { return [] }
        let lags = min(max(maxLag ?? (n - 1), 0), n - 1) + 1
        if isConstant([series]) { return degenerate(lags) }
        let mean = series.reduce(0, +) / Double(n)
        let sums = autocovarianceSums(of: [series], centredOn: mean, lags: lags)
        return normalize(sums, samplesPerChain: n, chains: 1)
    }

    /// The chain-averaged normalized autocorrelation. All chains must have the same length N.
    ///
    /// Every chain is centred on the GLOBAL mean over all chains (so chains stuck at different
    /// values show up as a slowly decaying rho rather than being hidden), the per-lag sums are
    /// added over chains, divided by `B * (N - t)` pairs, and normalized by lag 0.
    /// Returns `N` values (`[]` when there are no samples).
    public static func normalizedAveraged(_ chains: [[Double]]) -> [Double] {
        guard let n = chains.first?.count, n > 0 else { return [] }
        precondition(chains.allSatisfy { $0.count == n },
                     "Autocorrelation.normalizedAveraged: chains must have equal lengths")
        if isConstant(chains) { return degenerate(n) }
        let total = chains.reduce(0) { $0 + $1.reduce(0, +) }
        let mean = total / Double(n * chains.count)
        let sums = autocovarianceSums(of: chains, centredOn: mean, lags: n)
        return normalize(sums, samplesPerChain: n, chains: chains.count)
    }

    /// Result of Sokal's automatic windowing.
    public struct IntegratedTime: Sendable, Equatable {
        /// `tau(window) = 1 + 2 sum_{t=1}^{window} rho(t)`, reported as computed but never below 0.5.
        public let tau: Double
        /// The window `M` at which the sum was stopped.
        public let window: Int
        /// False when no `M` below `rho.count / 2` satisfied `M >= c * tau(M)`; then `tau` and
        /// `window` are those of the largest `M` tried and `tau` is likely an underestimate.
        public let converged: Bool

        public init(tau: Double, window: Int, converged: Bool) {
            self.tau = tau
            self.window = window
            self.converged = converged
        }
    }

    /// Sokal's windowed integrated autocorrelation time from a normalized `rho` (rho[0] == 1).
    ///
    /// The window search runs over `M = 1 ... max(1, (rho.count - 1) / 2)` (i.e. `M < rho.count/2`,
    /// and at least 1 when a lag-1 value exists). With fewer than two lags it returns
    /// `tau = 1, window = 0, converged = false`.
    ///
    /// Floor at 0.5 (and no clamp at 1): for an anticorrelated series the true tau_int is below
    /// 1 (an AR(1) with phi < 0 has `(1 + phi) / (1 - phi)`), so values in `[0.5, 1)` are kept as
    /// they are and the error of a mean is then simply `sqrt(var * tau / N)`. The truncated sum can
    /// however reach zero or negative values (a strictly alternating series has `rho(1) = -1`, so
    /// `tau(1) = -1`), which would give a zero or imaginary error; the floor caps the claimed gain
    /// from anticorrelation at a factor 2 in variance, a deliberately conservative choice.
    public static func integratedTime(rho: [Double], c: Double = 5) -> IntegratedTime {
        guard rho.count >= 2 else { return IntegratedTime(tau: 1, window: 0, converged: false) }
        let maxWindow = max(1, (rho.count - 1) / 2)
        var sum = 0.0
        var tau = 1.0
        for m in 1...maxWindow {
            sum += rho[m]
            tau = 1 + 2 * sum
            if Double(m) >= c * tau {
                return IntegratedTime(tau: floored(tau), window: m, converged: true)
            }
        }
        return IntegratedTime(tau: floored(tau), window: maxWindow, converged: false)
    }

    // MARK: - Internals

    /// `max(tau, 0.5)`, letting NaN through so that bad input stays visible.
    private static func floored(_ tau: Double) -> Double {
        tau.isNaN ? tau : max(tau, 0.5)
    }

    /// True when every value of every chain equals the first value bitwise.
    private static func isConstant(_ chains: [[Double]]) -> Bool {
        guard let first = chains.first(where: { !$0.isEmpty })?.first else { return true }
        return chains.allSatisfy { chain in chain.allSatisfy { $0 == first } }
    }

    private static func degenerate(_ lags: Int) -> [Double] {
        var rho = [Double](repeating: 0, count: lags)
        if lags > 0 { rho[0] = 1 }
        return rho
    }

    /// `sum_b sum_i (x_{b,i} - mean)(x_{b,i+t} - mean)` for `t < lags`, by FFT: the power spectra
    /// of the zero-padded chains are summed and transformed back once.
    private static func autocovarianceSums(of chains: [[Double]], centredOn mean: Double,
                                           lags: Int) -> [Double] {
        let n = chains[0].count
        let length = FFT.powerOfTwo(atLeast: 2 * n)
        var power = [Double](repeating: 0, count: length)
        var re = [Double](repeating: 0, count: length)
        var im = [Double](repeating: 0, count: length)
        for chain in chains {
            for i in 0..<length {
                re[i] = i < n ? chain[i] - mean : 0
                im[i] = 0
            }
            FFT.transform(real: &re, imag: &im)
            for i in 0..<length { power[i] += re[i] * re[i] + im[i] * im[i] }
        }
        var zero = [Double](repeating: 0, count: length)
        FFT.transform(real: &power, imag: &zero, inverse: true)
        return Array(power.prefix(lags))
    }

    /// Divides lag t by its pair count `B (N - t)` and normalizes by lag 0.
    private static func normalize(_ sums: [Double], samplesPerChain n: Int, chains: Int) -> [Double] {
        let gamma0 = sums[0] / Double(n * chains)
        // Exactly zero only for (numerically) constant input; NaN is let through on purpose.
        if gamma0 == 0 { return degenerate(sums.count) }
        return sums.indices.map { t in
            t == 0 ? 1 : sums[t] / Double((n - t) * chains) / gamma0
        }
    }
}
