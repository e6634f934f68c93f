import Foundation
import XCTest

/// `l2hmc-train report RUN`: the training log as one self-contained page, one plot per column,
/// the model's description; deterministic; a file that is not a training log is a coded error.
final class TrainReportCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func testTrainingReport() throws {
        let model = dir.appendingPathComponent("g.l2z").path
        let t = try CLI.run("l2hmc-train", ["--config", CLI.repositoryRoot.appendingPathComponent("fixtures/train-gmm2.json").path,
                                            "--steps", "12", "--out", model, "--quiet"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let r = try CLI.run("l2hmc-train", ["report", model])
        XCTAssertEqual(r.status, 0, r.stderr)
        let html = dir.appendingPathComponent("g.log.html")
        let page = try String(contentsOf: html, encoding: .utf8)
        let header = try String(contentsOf: dir.appendingPathComponent("g.log.csv"), encoding: .utf8).split(separator: "\n")[0]
        // One figure per logged column besides the step.
        XCTAssertEqual(page.components(separatedBy: "<figure>").count - 1, header.split(separator: ",").count - 1)
        XCTAssertTrue(page.contains("Gaussian mixture") || page.contains("mixture"), "the model's description")
        XCTAssertTrue(page.contains("loss (mean over chains)"))
        XCTAssertFalse(page.contains("<script"))
        // Again, from the log path: the same bytes (replacing its own report).
        let again = try CLI.run("l2hmc-train", ["report", dir.appendingPathComponent("g.log.csv").path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try String(contentsOf: html, encoding: .utf8), page)
        let bogus = dir.appendingPathComponent("x.log.csv")
        try Data("a,b\n1,2\n".utf8).write(to: bogus)
        let bad = try CLI.run("l2hmc-train", ["report", bogus.path])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.hasPrefix("error: [report.not_a_training_log]"), bad.stderr)
    }
}
