import Foundation
import XCTest
import Audit

/// The tolerance table: the bounds crossval and the golden comparison use, as printed.
final class AuditToleranceTests: XCTestCase {
    /// The values are those the checks always used (crossval's messages print them).
    func testBoundsAndTheirPrintedForm() {
        XCTAssertEqual(AuditTolerances.heads.bound, 1e-12)
        XCTAssertEqual(AuditTolerances.state.bound, 1e-11)
        XCTAssertEqual(AuditTolerances.logDet.bound, 1e-10)
        XCTAssertEqual(AuditTolerances.acceptance.bound, 1e-10)
        XCTAssertEqual(AuditTolerances.recomputationState.text, "1e-10")
        XCTAssertEqual(AuditTolerances.recomputationLogDet.text, "1e-9")
        XCTAssertEqual(AuditTolerances.reversibility.text, "1e-10")
        XCTAssertEqual(AuditTolerances.numericalJacobian.text, "1e-5")
    }

    /// Every bound is documented, and crossval's whole-trajectory bounds are never tighter than
    /// the per-sub-update bounds they are derived from.
    func testEveryBoundHasAReasonAndCrossvalDerivesFromTheGoldenBounds() {
        XCTAssertEqual(Set(AuditTolerances.all.map(\.quantity)).count, AuditTolerances.all.count)
        for t in AuditTolerances.all { XCTAssertFalse(t.reason.isEmpty, t.quantity) }
        XCTAssertGreaterThanOrEqual(AuditTolerances.recomputationState.bound, AuditTolerances.state.bound)
        XCTAssertGreaterThanOrEqual(AuditTolerances.recomputationLogDet.bound, AuditTolerances.logDet.bound)
    }

    /// Counts, overall verdict and exit status, with and without --strict.
    func testTallyCountsEachVerdictApart() {
        let t = CrossvalTally([.pass, .skipped("n/a"), .inconclusive("short"), .pass])
        XCTAssertEqual([t.pass, t.fail, t.inconclusive, t.skipped, t.total], [2, 0, 1, 1, 4])
        XCTAssertEqual(t.overall, "INCONCLUSIVE")
        XCTAssertEqual(t.exitStatus(strict: false), 0)
        XCTAssertEqual(t.exitStatus(strict: true), 1)
        XCTAssertEqual(t.summary, "4 checks: 2 pass, 0 fail, 1 inconclusive, 1 skipped")
        XCTAssertEqual(CrossvalTally([.pass, .fail("x")]).exitStatus(strict: false), 1)
        XCTAssertEqual(CrossvalVerdict.fail("x").tableLabel, "FAIL")
        XCTAssertNil(CrossvalVerdict.pass.reason)
    }
}
