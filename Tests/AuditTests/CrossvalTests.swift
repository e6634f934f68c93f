import Foundation
import XCTest
import Audit
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
}
