/// The z-score of an estimated mean against an exact value, when it is evidence.
///
/// `z = (mean - exact) / error` is a test statistic only when `mean` and `exact` are finite and
/// `error` is a positive finite number. Otherwise there is nothing to compare against a
/// threshold, and the score is ``undefined(_:)`` with the reason (never 0, never infinity):
/// - a non-finite exact value, mean or error (a NaN or infinite sample, an overflow);
/// - zero error: every kept sample is the same number (variance 0), e.g. `Q^2` when no chain
///   changed its topological charge; ``MeanEstimate`` then gives error 0, and a plain quotient
///   would be ±infinity (or 0 when the constant happens to equal the exact value), which says
///   nothing about a bias;
/// - a quotient that overflows (an error that is positive but tiny against the difference).
///
/// The reason is one sentence naming the quantity and ending in "the z-score is undefined".
/// ``MeanEstimate/zScore(exact:)`` keeps its own contract (a signed infinity for zero error);
/// reports and verdicts use this type.
public enum ZScore: Equatable, Sendable {
    case defined(Double)
    case undefined(String)

    /// The default largest accepted |z| of a quantity against its exact value: `crossval
    /// --z-threshold` and `l2hmc-run --z-threshold` (4: a two-sided normal tail of 6.3e-5 per
    /// quantity, so a few dozen honest quantities rarely cross it by chance).
    public static let defaultThreshold = 4.0

    /// A threshold must be a positive finite number (`--z-threshold`): refused otherwise as
    /// `run.invalid_option` (a usage error).
    public static func validate(threshold: Double) throws {
        guard threshold.isFinite && threshold > 0 else {
            throw InferenceError.invalidOption(name: "--z-threshold", reason: "must be a positive finite number (got \(threshold))")
        }
    }

    /// The score of `estimate` (of the quantity `name`) against `exact`.
    public init(name: String, estimate: MeanEstimate, exact: Double) {
        let mean = estimate.mean, error = estimate.error
        if !exact.isFinite {
            self = .undefined("the exact value of \(name) is not finite (\(Self.text(exact))); the z-score is undefined")
        } else if !mean.isFinite {
            self = .undefined("\(name) has a non-finite mean (\(Self.text(mean))) over the run; the z-score is undefined")
        } else if !error.isFinite {
            self = .undefined("\(name) has a non-finite error (\(Self.text(error))) over the run; the z-score is undefined")
        } else if !(error > 0) {
            self = estimate.variance == 0
                ? .undefined("\(name) has zero variance over the run (every kept sample is \(mean)); the z-score is undefined")
                : .undefined("\(name) has a zero estimated error over the run (variance \(estimate.variance)); the z-score is undefined")
        } else {
            let z = (mean - exact) / error
            self = z.isFinite ? .defined(z)
                : .undefined("\(name) differs from its exact value by \(mean - exact) with an error of \(error): the quotient overflows; the z-score is undefined")
        }
    }

    /// A number in a reason: "nan" for every NaN (never "-nan"), otherwise its description.
    private static func text(_ x: Double) -> String { x.isNaN ? "nan" : "\(x)" }

    /// The score when it is defined.
    public var value: Double? {
        if case let .defined(z) = self { return z }
        return nil
    }

    /// Why the score is undefined; nil when it is defined.
    public var reason: String? {
        if case let .undefined(r) = self { return r }
        return nil
    }
}
