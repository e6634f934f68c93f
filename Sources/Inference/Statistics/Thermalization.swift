import Foundation

/// Discarding the leading (thermalization) part of a Markov chain.
///
/// Contract: `drop(series, fraction: f)` removes the first `floor(f * N)` samples and keeps the
/// remaining `N - floor(f * N)`, which is `ceil((1 - f) N)` when `f * N` is computed exactly.
/// `f * N` is evaluated in Double, so a fraction that is not exactly representable (0.29) can
/// land one sample below the decimal expectation (`0.29 * 100 = 28.999...` drops 28).
/// `fraction` must be finite and in `[0, 1)` (precondition), so a non-empty series always keeps at
/// least one sample. The result shares storage with the input (an `ArraySlice`, indices kept).
public enum Thermalization {
    /// The default thermalization fraction (25 %, see docs: 10-25 % is customary).
    public static let defaultFraction = 0.25

    /// The number of leading samples `drop` removes from a series of length `count`.
    public static func droppedCount(count: Int, fraction: Double) -> Int {
        precondition(fraction.isFinite && fraction >= 0 && fraction < 1,
                     "Thermalization: fraction \(fraction) is not in [0, 1)")
        precondition(count >= 0, "Thermalization: negative count")
        return Int((fraction * Double(count)).rounded(.down))
    }

    /// The series without its first `floor(fraction * N)` samples.
    public static func drop<T>(_ series: [T], fraction: Double = defaultFraction) -> ArraySlice<T> {
        series.dropFirst(droppedCount(count: series.count, fraction: fraction))
    }

    /// `drop` applied to every chain.
    public static func drop<T>(chains: [[T]], fraction: Double = defaultFraction) -> [[T]] {
        chains.map { Array(drop($0, fraction: fraction)) }
    }
}
