import Foundation
import XCTest

/// The training log names its columns after what they hold, the console uses the same names, a
/// log written with the older names is continued in its own format, and the progress rate after
/// a resume counts only the steps of the resumed process.
final class TrainingLogColumnsTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    private func rows(_ name: String) throws -> [[String]] {
        try String(contentsOfFile: path(name), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    /// The console's value after `label` on the progress line of `step`.
    private func console(_ stdout: String, step: Int, _ label: String) throws -> Double {
        let line = try XCTUnwrap(stdout.split(separator: "\n").first { $0.hasPrefix(String(format: "step %6d/", step)) }, stdout)
        let words = line.split(separator: " ")
        let i = try XCTUnwrap(words.firstIndex(of: Substring(label)), "\(label) in \(line)")
        return try XCTUnwrap(Double(words[i + 1]), String(line))
    }

    func testColumnsAreNamedAfterWhatTheyHoldAndTheConsoleAgrees() throws {
        let runs: [(name: String, args: [String], header: String, first: Double)] = [
            // temperature_init 10 (the default): step 1 runs at T = 10.
            ("gmm", ["--target", "gmm", "--temperature-init", "10"],
             "step,temperature,learning_rate,loss,acceptance,esjd,mode_switch_rate,gradient_norm,eps_x,eps_v", 10),
            // beta_init 2.5: step 1 runs at beta = 2.5.
            ("u1", ["--target", "u1", "--lattice", "4x4", "--beta-init", "2.5", "--beta-final", "3"],
             "step,beta,learning_rate,loss,acceptance,esjd,tunneling_rate,gradient_norm,eps_x,eps_v", 2.5),
        ]
        for run in runs {
            let r = try CLI.run("l2hmc-train", run.args + ["--steps", "4", "--chains", "4", "--n-lf", "2", "--hidden-units", "4", "--log-every", "1",
                                                            "--out", path("\(run.name).l2z")])
            XCTAssertEqual(r.status, 0, r.stderr)
            let log = try rows("\(run.name).log.csv")
            XCTAssertEqual(log[0].joined(separator: ","), run.header)
            XCTAssertEqual(log.count, 5)
            // The schedule's first value, exactly up to the rounding of 1 / (1 / T).
            XCTAssertEqual(try XCTUnwrap(Double(log[1][1])), run.first, accuracy: 1e-12 * run.first)
            for row in log.dropFirst() {
                let step = try XCTUnwrap(Int(row[0]))
                // Console numbers are the log's rounded to 3 or 4 decimals: half a unit of the last digit.
                for (column, label, half) in [(1, run.header.split(separator: ",")[1], 5e-4), (4, "acceptance", 5e-4), (6, run.header.split(separator: ",")[6], 5e-4),
                                              (8, "eps_x", 5e-5), (9, "eps_v", 5e-5)] {
                    let value = try XCTUnwrap(Double(row[column]))
                    XCTAssertEqual(try console(r.stdout, step: step, String(label)), value, accuracy: half * 1.0001, "\(run.name) step \(step) \(label)")
                }
            }
        }
    }

    /// A log with the columns of an older l2hmc-train (`scale` = 1/T for mixtures, `tunneling`)
    /// is continued with them: the resumed rows hold 1/T, as its earlier rows do.
    func testResumeContinuesALegacyLogInItsOwnFormat() throws {
        // A constant temperature, so a 4-step run extended to 8 anneals like an 8-step run.
        let base = ["--target", "gmm", "--chains", "4", "--n-lf", "2", "--hidden-units", "4", "--temperature-init", "3", "--temperature-final", "3", "-q"]
        XCTAssertEqual(try CLI.run("l2hmc-train", base + ["--steps", "8", "--out", path("whole.l2z")]).status, 0)
        XCTAssertEqual(try CLI.run("l2hmc-train", base + ["--steps", "4", "--out", path("old.l2z")]).status, 0)
        // Rewrite old.log.csv as the older l2hmc-train wrote it.
        var old = try rows("old.log.csv")
        old[0] = "step,scale,learning_rate,loss,acceptance,esjd,tunneling,gradient_norm,eps_x,eps_v".split(separator: ",").map(String.init)
        for i in 1..<old.count { old[i][1] = String(format: "%.17g", 1 / (Double(old[i][1]) ?? .nan)) }
        try (old.map { $0.joined(separator: ",") }.joined(separator: "\n") + "\n").write(toFile: path("old.log.csv"), atomically: true, encoding: .utf8)
        let r = try CLI.run("l2hmc-train", ["--resume", path("old.ckpt.h5"), "--out", path("old.l2z"), "--steps", "8", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("has the columns of an older l2hmc-train"), r.stderr)
        let resumed = try rows("old.log.csv"), whole = try rows("whole.log.csv")
        XCTAssertEqual(resumed[0], old[0])
        XCTAssertEqual(resumed.count, 9)
        for i in 5...8 {
            XCTAssertEqual(Array(resumed[i][2...]), Array(whole[i][2...]), "row \(i): the same step")
            let scale = try XCTUnwrap(Double(resumed[i][1])), temperature = try XCTUnwrap(Double(whole[i][1]))
            XCTAssertEqual(scale * temperature, 1, accuracy: 1e-15, "row \(i): scale = 1/T (two roundings)")
        }
    }

    /// The progress rate after a resume counts the steps of this process only: resuming at step
    /// 1000 and doing 100 steps reports about the rate of the first run, not 11 times it.
    func testProgressRateAfterResumeCountsOnlyThisProcess() throws {
        let base = ["--target", "gmm", "--chains", "4", "--n-lf", "2", "--hidden-units", "4", "--log-every", "100"]
        let first = try CLI.run("l2hmc-train", base + ["--steps", "1000", "--out", path("r.l2z")])
        XCTAssertEqual(first.status, 0, first.stderr)
        func rate(_ stdout: String, step: Int) throws -> Double {
            let line = try XCTUnwrap(stdout.split(separator: "\n").first { $0.hasPrefix(String(format: "step %6d/", step)) }, stdout)
            let words = line.split(separator: " ")
            XCTAssertEqual(words.last, "steps/s")
            return try XCTUnwrap(Double(words[words.count - 2]))
        }
        let before = try rate(first.stdout, step: 1000)
        let resumed = try CLI.run("l2hmc-train", ["--resume", path("r.ckpt.h5"), "--out", path("r.l2z"), "--steps", "1100"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let after = try rate(resumed.stdout, step: 1100)
        // Counting the 1000 earlier steps would report about 11x the true rate; the machine's
        // speed may vary between the two runs, so the bound is a factor 3, far from 11.
        XCTAssertLessThan(after, 3 * before, "rate after resume \(after) vs \(before) steps/s before")
        XCTAssertTrue(resumed.stdout.contains("done        1100 steps (100 after resuming at step 1000)"), resumed.stdout)
    }
}
