import Foundation
import XCTest
@testable import Audit
import Inference
import ModelFormat

/// The crossval library entry points without the command line (the CLI tests cover the tool).
final class CrossvalTests: XCTestCase {
    /// Settings outside their domain are usage errors with the option's name, before any work.
    func testSettingsOutsideTheirDomainAreRefused() {
        var s = CrossvalSettings()
        XCTAssertNoThrow(try s.validate())
        s.chains = 1
        XCTAssertThrowsError(try s.validate()) { XCTAssertTrue("\($0)".contains("--chains"), "\($0)") }
        s = CrossvalSettings()
        s.zThreshold = .nan
        XCTAssertThrowsError(try s.validate()) { XCTAssertTrue("\($0)".contains("--z-threshold"), "\($0)") }
    }

    /// An unreadable model is one failed `format` check with the reader's coded message (nothing
    /// else runs, nothing is thrown), and the report says so.
    func testAnUnreadableModelIsOneFailedFormatCheck() throws {
        var audit = Crossval(settings: CrossvalSettings())
        var noted: [String] = []
        let checks = try audit.run(modelPath: "/nonexistent/model.l2z") { noted.append($0.name) }
        XCTAssertEqual(checks.map(\.name), ["format"])
        XCTAssertEqual(noted, ["format"])
        guard case let .fail(reason) = checks[0].verdict else { return XCTFail("\(checks[0].verdict)") }
        XCTAssertTrue(reason.hasPrefix("[io.not_found]"), reason)
        guard case let .object(o) = CrossvalReport.json(checks, modelPath: "m", settings: CrossvalSettings(), strict: false, seconds: 0) else {
            return XCTFail("the report is not an object")
        }
        XCTAssertEqual(o["verdict"], .string("fail"))
        XCTAssertEqual(o["passed"], .bool(false))
        let table = CrossvalReport.table(checks, modelPath: "m", strict: false, seconds: 0, reportPath: "r.json")
        XCTAssertEqual(table.first, "crossval    m")
        XCTAssertEqual(table.last, "verdict     FAIL (1 checks: 0 pass, 1 fail, 0 inconclusive, 0 skipped; 0.0 s); report r.json")
    }

    // MARK: Statistics verdicts with undefined z-scores

    private let zeroVariance = ZScore.undefined("Q^2 has zero variance over the run (every kept sample is 0.0); the z-score is undefined")

    /// A z-score without a positive finite error is no evidence: alone it makes the check
    /// inconclusive with its reason, never a pass or a fail.
    func testAnUndefinedZMakesTheCheckInconclusive() {
        let v = Crossval.statisticsVerdict(scores: [("plaquette", .defined(1.2)), ("Q^2", zeroVariance)], converged: true,
                                           equilibration: nil, zThreshold: 4)
        XCTAssertEqual(v, .inconclusive("Q^2 has zero variance over the run (every kept sample is 0.0); the z-score is undefined"))
        XCTAssertEqual(Crossval.statisticsVerdict(scores: [("Q^2", zeroVariance)], converged: true, equilibration: nil, zThreshold: 4).name,
                       "inconclusive")
        XCTAssertEqual(Crossval.statisticsVerdict(scores: [("plaquette", .defined(-3.9))], converged: true, equilibration: nil, zThreshold: 4), .pass)
    }

    /// A defined |z| beyond the threshold with a converged window is still a failure next to an
    /// undefined one (the undefined one cannot excuse it); with an unconverged window both are
    /// inconclusive and the reason carries both.
    func testADefinedLargeZStillDecides() throws {
        let scores: [(name: String, score: ZScore)] = [("plaquette", .defined(-5)), ("Q^2", zeroVariance)]
        XCTAssertEqual(Crossval.statisticsVerdict(scores: scores, converged: true, equilibration: nil, zThreshold: 4),
                       .fail("|z| = 5.00 on plaquette exceeds --z-threshold 4"))
        let v = Crossval.statisticsVerdict(scores: scores, converged: false, equilibration: nil, zThreshold: 4)
        guard case let .inconclusive(reason) = v else { return XCTFail("\(v)") }
        XCTAssertTrue(reason.hasPrefix("the run is shorter than the autocorrelation window needs"), reason)
        XCTAssertTrue(reason.hasSuffix("Q^2 has zero variance over the run (every kept sample is 0.0); the z-score is undefined"), reason)
    }

    /// A run that is not equilibrated is inconclusive first; its reason adds the undefined ones.
    func testNotEquilibratedCarriesTheUndefinedReasons() {
        let frozen = Equilibration(drifts: [], frozenCharge: FrozenCharge(frozenChains: 8, chains: 8))
        XCTAssertEqual(frozen.verdict, .notEquilibrated)
        let v = Crossval.statisticsVerdict(scores: [("plaquette", .defined(9)), ("Q^2", zeroVariance)], converged: true,
                                           equilibration: frozen, zThreshold: 4)
        XCTAssertEqual(v, .inconclusive("not equilibrated (8 of 8 chains (100%) never changed Q (threshold: more than 50%)); raise --trajectories; "
                                        + "Q^2 has zero variance over the run (every kept sample is 0.0); the z-score is undefined"))
    }

    /// Deterministic checks whose numbers are not finite: the report writes null and lists them
    /// in the check's `non_finite`, and always encodes.
    func testNonFiniteCheckDataIsNullWithItsTextAndTheReportEncodes() throws {
        let checks = [CrossvalCheck(name: "reversibility", verdict: .fail("a deviation is not finite (NaN or infinity)"), detail: "d",
                                    data: ["max_dx": .double(.nan), "max_dv": .double(.infinity), "max_logdet_sum": .double(0.5)]),
                      CrossvalCheck(name: "format", verdict: .pass, detail: "ok", data: [:])]
        let report = CrossvalReport.json(checks, modelPath: "m", settings: CrossvalSettings(), strict: false, seconds: .nan)
        let bytes = try CanonicalJSONWriter.encode(report)
        guard case let .object(o) = try StrictJSONParser.parse(bytes), case let .array(list)? = o["checks"],
              case let .object(rev) = list[0], case let .object(format) = list[1] else { return XCTFail("report shape") }
        XCTAssertEqual(rev["data"], .object(["max_dx": .null, "max_dv": .null, "max_logdet_sum": .double(0.5)]))
        XCTAssertEqual(rev["non_finite"], .object(["max_dx": .string("nan"), "max_dv": .string("inf")]))
        XCTAssertNil(format["non_finite"])
        XCTAssertEqual(o["seconds"], .null)
    }

    /// The NaN-keeping maximum of the deterministic checks (Swift.max(0, .nan) is 0).
    func testMaxKeepingNaN() {
        XCTAssertEqual(Swift.max(0.0, Double.nan), 0, "why the helper exists")
        XCTAssertTrue(Crossval.maxKeepingNaN(0, .nan).isNaN)
        XCTAssertTrue(Crossval.maxKeepingNaN(.nan, 1).isNaN)
        XCTAssertEqual(Crossval.maxKeepingNaN(1, .infinity), .infinity)
        XCTAssertEqual(Crossval.maxKeepingNaN(2, 1), 2)
    }
}
