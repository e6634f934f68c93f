import Foundation
import Inference

/// tau_int of the topological charge Q_int with an error, as `compare` ranks samplers by it.
///
/// Definitions, for B chains of N kept charges each (`charges[chain][trajectory]`):
/// - `tau` and `window` M: Sokal's windowed integrated time (c = 5) of the chain-averaged,
///   globally centred autocorrelation (``Autocorrelation/normalizedAveraged(_:)``), the number
///   `l2hmc-run` prints as tau_int(Q) (``RunSummary/tauQ``);
/// - `windowError = tau * sqrt(2 (2M + 1) / (N B))`, the Madras-Sokal variance of the windowed
///   sum (averaging B independent chains divides it by B);
/// - `scatterTau = B N s_B^2 / var`, the tau_int implied by the scatter of the B chain means
///   (``MeanEstimate``: `s_B^2 / B` is the variance of the grand mean, `var tau / (N B)` what the
///   window claims for it); nil with fewer than ``MeanEstimate/minimumChainsForScatter`` chains or
///   zero variance. It sees slow modes the window misses (topology at large beta), with a
///   relative spread of about `sqrt(2 / (B - 1))`;
/// - `error = max(windowError, scatterTau - tau)`: when the two disagree upward, the error
///   covers the larger estimate (``ComparisonSettings`` uses it for every ratio).
///
/// A value is **usable** for a ranking only when the window converged (N > 2M >= 10 tau, else
/// the run is too short and tau is a lower bound), at most half of the chains kept one integer
/// charge throughout (``FrozenCharge``: more frozen chains mean the run did not sample the
/// topology), and tau and its error are finite. ``problem`` says why not.
public struct ChargeAutocorrelationTime: Sendable, Equatable {
    public let tau: Double
    public let error: Double
    public let window: Int
    public let converged: Bool
    public let windowError: Double
    public let scatterTau: Double?
    /// Kept trajectories per chain N and chains B.
    public let samples: Int
    public let chains: Int
    public let frozenChains: Int

    public init(tau: Double, error: Double, window: Int, converged: Bool, windowError: Double, scatterTau: Double?,
                samples: Int, chains: Int, frozenChains: Int) {
        self.tau = tau; self.error = error; self.window = window; self.converged = converged
        self.windowError = windowError; self.scatterTau = scatterTau
        self.samples = samples; self.chains = chains; self.frozenChains = frozenChains
    }

    /// Why this tau_int cannot rank samplers (nil when it can).
    public var problem: String? {
        if !tau.isFinite || !error.isFinite { return "tau_int(Q) is not finite" }
        if chains > 0 && 2 * frozenChains > chains { return "\(frozenChains) of \(chains) chains never changed Q (frozen)" }
        if !converged { return "the Sokal window did not converge: the run is too short for tau_int \(String(format: "%.3g", tau)), raise --trajectories" }
        return nil
    }

    public var usable: Bool { problem == nil }

    /// The Madras-Sokal standard error `tau sqrt(2 (2M + 1) / (N B))`.
    public static func windowError(tau: Double, window: Int, samples: Int, chains: Int) -> Double {
        tau * (2 * Double(2 * window + 1) / Double(max(1, samples * chains))).squareRoot()
    }

    /// Measures `charges[chain][trajectory]` (equal lengths, at least 2 each).
    public static func measure(charges: [[Double]]) -> ChargeAutocorrelationTime {
        let b = charges.count, n = charges.first?.count ?? 0
        let frozen = FrozenCharge.measure(charges: charges).frozenChains
        guard b >= 1, n >= 2 else {
            return ChargeAutocorrelationTime(tau: .nan, error: .nan, window: 0, converged: false, windowError: .nan, scatterTau: nil,
                                             samples: n, chains: b, frozenChains: frozen)
        }
        let time = Autocorrelation.integratedTime(rho: Autocorrelation.normalizedAveraged(charges))
        let windowError = Self.windowError(tau: time.tau, window: time.window, samples: n, chains: b)
        let mean = MeanEstimate.estimate(chains: charges)
        var scatterTau: Double?
        if let s = mean.chainScatterError, mean.variance > 0 {
            scatterTau = s * s * Double(n * b) / mean.variance
        }
        return ChargeAutocorrelationTime(tau: time.tau, error: Self.combinedError(tau: time.tau, windowError: windowError, scatterTau: scatterTau),
                                         window: time.window, converged: time.converged, windowError: windowError, scatterTau: scatterTau,
                                         samples: n, chains: b, frozenChains: frozen)
    }

    /// `max(windowError, scatterTau - tau)` (the window error alone without a scatter estimate).
    public static func combinedError(tau: Double, windowError: Double, scatterTau: Double?) -> Double {
        guard let s = scatterTau, s - tau > windowError else { return windowError }
        return s - tau
    }
}
