import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// ``ZScore``: a z-score is evidence only with a positive finite error and finite numbers;
/// every other case is undefined with a reason (never 0, never infinity), and the run report
/// writes it as null with that reason.
final class ZScoreTests: XCTestCase {
    /// A plain case against the formula: mean 1.5, error 0.5, exact 1 -> z = (1.5 - 1) / 0.5 = 1
    /// exactly (all three are dyadic); the sign follows mean - exact.
    func testDefinedScoreIsTheQuotient() {
        let e = MeanEstimate(mean: 1.5, error: 0.5, tauInt: 1, window: 1, converged: true, samples: 10, chains: 1, variance: 2.5)
        XCTAssertEqual(ZScore(name: "x", estimate: e, exact: 1), .defined(1))
        XCTAssertEqual(ZScore(name: "x", estimate: e, exact: 2.5), .defined(-2))
        XCTAssertEqual(ZScore(name: "x", estimate: e, exact: 1).value, 1)
        XCTAssertNil(ZScore(name: "x", estimate: e, exact: 1).reason)
    }

    /// The crossval crash: every kept Q^2 is 0 (no chain changed its charge), so MeanEstimate
    /// gives error 0 and its zScore is -infinity against a positive exact value. Undefined here,
    /// and also when the constant happens to equal the exact value (MeanEstimate's 0 is no
    /// evidence either).
    func testZeroVarianceIsUndefinedWhateverTheExactValue() throws {
        let frozen = MeanEstimate.estimate(chains: [[Double]](repeating: [Double](repeating: 0, count: 45), count: 8))
        XCTAssertEqual(frozen.error, 0)
        XCTAssertEqual(frozen.zScore(exact: 0.3), -.infinity, "MeanEstimate's own contract is unchanged")
        for exact in [0.3, 0, -2] {
            let z = ZScore(name: "Q^2", estimate: frozen, exact: exact)
            XCTAssertNil(z.value, "exact \(exact)")
            let reason = try XCTUnwrap(z.reason)
            XCTAssertEqual(reason, "Q^2 has zero variance over the run (every kept sample is 0.0); the z-score is undefined")
        }
    }

    /// Zero error with a positive variance (a constructed estimate: no estimator gives it short of
    /// underflow) names the error, not the variance.
    func testZeroErrorWithVarianceIsUndefined() throws {
        let e = MeanEstimate(mean: 1, error: 0, tauInt: 1, window: 1, converged: true, samples: 10, chains: 1, variance: 1e-300)
        let reason = try XCTUnwrap(ZScore(name: "p", estimate: e, exact: 0).reason)
        XCTAssertTrue(reason.hasPrefix("p has a zero estimated error over the run"), reason)
    }

    /// Non-finite inputs: a NaN sample (mean NaN), samples whose squares overflow (mean 0,
    /// variance and error infinite), a non-finite exact value.
    func testNonFiniteNumbersAreUndefined() throws {
        let withNaN = MeanEstimate.estimate(chains: [[1, 2, .nan, 4], [1, 2, 3, 4]])
        XCTAssertTrue(withNaN.mean.isNaN)
        XCTAssertTrue(try XCTUnwrap(ZScore(name: "a", estimate: withNaN, exact: 1).reason).hasPrefix("a has a non-finite mean (nan)"))

        // (1e308)^2 overflows: the variance is infinite and the window's tau NaN (inf / inf).
        let huge = MeanEstimate.estimate(chains: [[1e308, -1e308, 1e308, -1e308]])
        XCTAssertEqual(huge.mean, 0)
        XCTAssertFalse(huge.error.isFinite)
        XCTAssertTrue(try XCTUnwrap(ZScore(name: "b", estimate: huge, exact: 0).reason).hasPrefix("b has a non-finite error (nan)"))
        let infinite = MeanEstimate(mean: 1, error: .infinity, tauInt: 1, window: 1, converged: true, samples: 10, chains: 1, variance: .infinity)
        XCTAssertEqual(ZScore(name: "b", estimate: infinite, exact: 0).reason, "b has a non-finite error (inf) over the run; the z-score is undefined")

        let fine = MeanEstimate(mean: 1, error: 1, tauInt: 1, window: 1, converged: true, samples: 10, chains: 1, variance: 10)
        for exact in [Double.nan, .infinity, -.infinity] {
            let reason = try XCTUnwrap(ZScore(name: "c", estimate: fine, exact: exact).reason)
            XCTAssertTrue(reason.hasPrefix("the exact value of c is not finite"), reason)
        }
    }

    /// A positive error so small that the quotient overflows: 1e300 / 1e-300 is beyond
    /// Double.greatestFiniteMagnitude (about 1.8e308).
    func testOverflowingQuotientIsUndefined() throws {
        let e = MeanEstimate(mean: 1e300, error: 1e-300, tauInt: 1, window: 1, converged: true, samples: 10, chains: 1, variance: 1)
        let reason = try XCTUnwrap(ZScore(name: "d", estimate: e, exact: 0).reason)
        XCTAssertTrue(reason.contains("the quotient overflows; the z-score is undefined"), reason)
    }

    /// The run report: a zero-variance quantity with an exact value gets `"z": null` and its
    /// reason in `z_undefined` (JSON), and "undefined" with the reason in the text; a defined z
    /// has no `z_undefined`. The JSON encodes.
    func testRunReportWritesAnUndefinedZAsNullWithItsReason() throws {
        let frozen = MeanEstimate.estimate(chains: [[Double]](repeating: [Double](repeating: 0, count: 4), count: 2))
        let moving = MeanEstimate(mean: 1.5, error: 0.5, tauInt: 1, window: 1, converged: true, samples: 4, chains: 2, variance: 1)
        // An empty record gives a summary without quantities; these two are then set by hand.
        var summary = RunSummary(record: RunRecord(), target: U1Action(lattice: U1Lattice(lt: 2, lx: 2, beta: 1)), thermalization: 0.25)
        summary.quantities = [RunSummary.Quantity(name: "Q^2", estimate: frozen, exact: 0.25),
                              RunSummary.Quantity(name: "plaquette", estimate: moving, exact: 1)]
        guard case let .object(o) = RunReport.json(summary), case let .array(rows)? = o["quantities"],
              case let .object(q2) = rows[0], case let .object(plaquette) = rows[1] else { return XCTFail("report shape") }
        XCTAssertEqual(q2["z"], .null)
        XCTAssertEqual(q2["z_undefined"], .string("Q^2 has zero variance over the run (every kept sample is 0.0); the z-score is undefined"))
        XCTAssertEqual(plaquette["z"], .double(1))
        XCTAssertNil(plaquette["z_undefined"])
        XCTAssertNoThrow(try CanonicalJSONWriter.encode(RunReport.json(summary)))
        let text = RunReport.text(summary)
        XCTAssertFalse(text.contains("inf"), text)
        XCTAssertTrue(text.contains("(z undefined: Q^2 has zero variance over the run"), text)
    }
}
