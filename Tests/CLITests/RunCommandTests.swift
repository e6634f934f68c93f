import Foundation
import XCTest

final class RunCommandTests: XCTestCase {
    func testDefaultModelIsFoundAndDescribed() throws {
        let r = try CLI.run("l2hmc-run", [])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("fixtures/default.l2z"), r.stdout)
        XCTAssertTrue(r.stdout.contains("target      2D U(1) Wilson action"), r.stdout)
    }

    func testCorruptModelGivesOneLineAndNonZeroExit() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("x.l2z").path
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: path))
        let r = try CLI.run("l2hmc-run", ["--model", path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("error: [container.not_zip]"), r.stderr)
    }
}
