import Foundation
import XCTest
@testable import Audit
import Inference
import ModelFormat

/// Crossval's remedies: a resonant HMC trajectory length (``HMCResonance``) replaces "raise
/// --trajectories" (which cannot help) and is named as the likely cause of a failure.
final class CrossvalResonanceTests: XCTestCase {
    private let resonance = "the HMC trajectory length eps*N_LF = 1 is resonant with the oscillation period of component 0 (L / (pi sigma) = 1.007): choose another --hmc-eps, or use --hmc-jitter"

    func testAResonanceIsTheRemedyOfAnInconclusiveWindow() throws {
        let v = Crossval.statisticsVerdict(scores: [("x[0]^2", .defined(9.97))], converged: false, equilibration: nil, zThreshold: 4, resonance: resonance)
        XCTAssertEqual(v.name, "inconclusive")
        let reason = try XCTUnwrap(v.reason)
        XCTAssertTrue(reason.contains(resonance), reason)
        XCTAssertFalse(reason.contains("raise --trajectories"), reason)
        // Without a resonance the old remedy stays.
        let plain = Crossval.statisticsVerdict(scores: [("x[0]^2", .defined(9.97))], converged: false, equilibration: nil, zThreshold: 4)
        XCTAssertTrue(try XCTUnwrap(plain.reason).contains("raise --trajectories"))
    }

    func testAResonanceIsTheLikelyCauseOfAFailure() throws {
        let v = Crossval.statisticsVerdict(scores: [("x[0]^2", .defined(9.97))], converged: true, equilibration: nil, zThreshold: 4, resonance: resonance)
        XCTAssertEqual(v, .fail("|z| = 9.97 on x[0]^2 exceeds --z-threshold 4; likely cause: " + resonance))
        // A passing run stays a pass (the resonance is no evidence against exactness).
        XCTAssertEqual(Crossval.statisticsVerdict(scores: [("x[0]^2", .defined(1))], converged: true, equilibration: nil, zThreshold: 4, resonance: resonance), .pass)
    }

    func testTheJitterIsValidatedAndReported() throws {
        var s = CrossvalSettings()
        XCTAssertEqual(s.zThreshold, ZScore.defaultThreshold, "crossval and l2hmc-run share the default")
        for bad in [-0.5, 1, .nan] {
            s.hmcJitter = bad
            XCTAssertThrowsError(try s.validate()) { XCTAssertTrue("\($0)".contains("--hmc-jitter"), "\($0)") }
        }
        s.hmcJitter = 0
        guard case let .object(plain) = CrossvalReport.json([], modelPath: "m", settings: s, strict: false, seconds: 0),
              case let .object(settings)? = plain["settings"] else { return XCTFail() }
        XCTAssertNil(settings["hmc_jitter"], "absent when not set (reports keep their bytes)")
        s.hmcJitter = 0.3
        guard case let .object(j) = CrossvalReport.json([], modelPath: "m", settings: s, strict: false, seconds: 0),
              case let .object(js)? = j["settings"] else { return XCTFail() }
        XCTAssertEqual(js["hmc_jitter"], .double(0.3))
    }
}
