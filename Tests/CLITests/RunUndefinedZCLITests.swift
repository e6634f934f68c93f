import Foundation
import XCTest
import ModelFormat

/// A run whose charge never moves: plain HMC on 2x2 at beta 6 from a cold start keeps Q_int = 0
/// on every chain (8 chains, 40 trajectories, fixed seed), so Q^2 and Q have zero variance and no
/// z-score. The table says `undefined` with the reason (it said -inf for Q^2 and +0.00 for Q),
/// summary.json has `"z": null` and `z_undefined`, and the HTML report shows `undefined`.
final class RunUndefinedZCLITests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testFrozenChargeGivesUndefinedZEverywhere() throws {
        let run = dir.appendingPathComponent("run")
        let r = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--lattice", "2x2", "--beta", "6", "--cold-start", "--chains", "8",
                                          "--trajectories", "40", "--out", run.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = r.stdout.split(separator: "\n").map(String.init)
        let q2 = try XCTUnwrap(rows.first { $0.hasPrefix("Q^2 ") }, r.stdout)
        XCTAssertTrue(q2.hasSuffix("  undefined"), q2)
        XCTAssertFalse(r.stdout.contains("inf"), r.stdout)
        XCTAssertTrue(rows.contains("(z undefined: Q^2 has zero variance over the run (every kept sample is 0.0); the z-score is undefined)"), r.stdout)

        guard case let .object(summary) = try StrictJSONParser.parse(Array(try Data(contentsOf: run.appendingPathComponent("summary.json")))),
              case let .array(quantities)? = summary["quantities"] else { return XCTFail("summary.json shape") }
        var undefined: [String] = []
        for case let .object(q) in quantities {
            guard case let .string(name)? = q["name"], let reason = q["z_undefined"] else { continue }
            XCTAssertEqual(q["z"], .null, name)
            XCTAssertEqual(reason, .string("\(name) has zero variance over the run (every kept sample is 0.0); the z-score is undefined"))
            undefined.append(name)
        }
        XCTAssertEqual(undefined.sorted(), ["Q", "Q^2"])

        let report = try CLI.run("l2hmc-run", ["report", run.path])
        XCTAssertEqual(report.status, 0, report.stderr)
        let page = try String(contentsOf: run.appendingPathComponent("report.html"), encoding: .utf8)
        XCTAssertTrue(page.contains(">undefined<"), "the z cell of Q^2")
    }
}
