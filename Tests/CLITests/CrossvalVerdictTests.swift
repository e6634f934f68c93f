import Foundation
import XCTest
import ModelFormat

/// `crossval` verdicts: pass, fail, inconclusive and skipped counted apart, `--strict`, and
/// validated thresholds.
final class CrossvalVerdictTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// The last line of the table: `verdict     WORD... (N checks: a pass, b fail, c inconclusive, d skipped; ...`.
    private func counts(in stdout: String) throws -> (overall: String, total: Int, pass: Int, fail: Int, inconclusive: Int, skipped: Int) {
        let line = try XCTUnwrap(stdout.split(separator: "\n").last { $0.hasPrefix("verdict     ") }, stdout)
        let words = line.split(whereSeparator: { " (),;:".contains($0) }).map(String.init)
        func number(before label: String) throws -> Int {
            let i = try XCTUnwrap(words.firstIndex(of: label), "\(label) in \(line)")
            return try XCTUnwrap(Int(words[i - 1]), String(line))
        }
        return (words[1], try number(before: "checks"), try number(before: "pass"), try number(before: "fail"),
                try number(before: "inconclusive"), try number(before: "skipped"))
    }

    private func report(_ path: String) throws -> [String: JSONValue] {
        guard case let .object(o) = try StrictJSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path)))) else {
            XCTFail("report is not an object")
            return [:]
        }
        return o
    }

    /// An untrained converted Keras model on 2x2 (tau_int of the plaquette about 100) with
    /// 60-trajectory runs: with the fixed default seed, three statistics runs are inconclusive
    /// (two not equilibrated, one window too short), none fails, and the trainer cannot rebuild
    /// batch norm (skipped).
    private func kerasModel() throws -> String {
        let model = dir.appendingPathComponent("keras.l2z").path
        let convert = try CLI.run("l2hmc-convert", ["fixtures/keras/tf2021_tfkeras_weights.h5", model, "--preset", "tf2-functional-2021",
                                                    "--lattice", "2x2", "--beta", "1", "--eps", "0.1", "--x-update", "ncp", "--activation", "relu"])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        return model
    }

    func testCountsAreSeparateAndStrictFailsOnInconclusive() throws {
        let model = try kerasModel()
        let path = dir.appendingPathComponent("r.json").path
        let args = ["crossval", model, "--chains", "8", "--trajectories", "60", "--report", path]
        let r = try CLI.run("l2hmc-run", args)
        XCTAssertEqual(r.status, 0, "inconclusive checks alone are not a failure without --strict: " + r.stdout + r.stderr)
        let c = try counts(in: r.stdout)
        XCTAssertEqual(c.overall, "INCONCLUSIVE", r.stdout)
        XCTAssertEqual(c.fail, 0, r.stdout)
        XCTAssertGreaterThan(c.inconclusive, 0, "the test needs an inconclusive check: " + r.stdout)
        XCTAssertGreaterThan(c.skipped, 0, r.stdout)
        XCTAssertEqual(c.pass + c.fail + c.inconclusive + c.skipped, c.total)

        // The table rows and the JSON report agree with the counts line.
        let rows = r.stdout.split(separator: "\n").dropFirst().dropLast()
        XCTAssertEqual(rows.count, c.total, r.stdout)
        XCTAssertEqual(rows.filter { $0.contains("  inconclusive  ") }.count, c.inconclusive, r.stdout)
        XCTAssertEqual(rows.filter { $0.contains("  skipped  ") }.count, c.skipped, r.stdout)
        let o = try report(path)
        XCTAssertEqual(o["verdict"], .string("inconclusive"))
        XCTAssertEqual(o["passed"], .bool(true))
        XCTAssertEqual(o["strict"], .bool(false))
        XCTAssertEqual(o["counts"], .object(["pass": .int(Int64(c.pass)), "fail": .int(0), "inconclusive": .int(Int64(c.inconclusive)),
                                             "skipped": .int(Int64(c.skipped))]))
        guard case let .array(checks)? = o["checks"] else { return XCTFail("no checks") }
        let inconclusive = checks.filter { if case let .object(k) = $0 { return k["result"] == .string("inconclusive") }; return false }
        XCTAssertEqual(inconclusive.count, c.inconclusive)
        for case let .object(k) in inconclusive {
            guard case let .string(reason)? = k["reason"] else { return XCTFail("an inconclusive check without a reason: \(k)") }
            XCTAssertTrue(reason.contains("raise --trajectories"), reason)
        }

        // --strict: the same checks (same seed), exit 1 because of the inconclusive ones.
        let strict = try CLI.run("l2hmc-run", args + ["--strict"])
        XCTAssertEqual(strict.status, 1, strict.stdout + strict.stderr)
        let s = try counts(in: strict.stdout)
        XCTAssertEqual(s.inconclusive, c.inconclusive)
        XCTAssertEqual(s.fail, 0)
        XCTAssertTrue(strict.stdout.contains("INCONCLUSIVE, a failure under --strict ("), strict.stdout)
        let so = try report(path)
        XCTAssertEqual(so["passed"], .bool(false))
        XCTAssertEqual(so["strict"], .bool(true))
    }

    func testAllPassingModelCountsEveryCheckAsPass() throws {
        let path = dir.appendingPathComponent("g.json").path
        let r = try CLI.run("l2hmc-run", ["crossval", "fixtures/gmm2-random.l2z", "--chains", "8", "--trajectories", "60", "--report", path, "--strict"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let c = try counts(in: r.stdout)
        XCTAssertEqual(c.overall, "PASS")
        XCTAssertEqual(c.pass, c.total, r.stdout)
        XCTAssertEqual(c.total, 13)
        XCTAssertEqual(try report(path)["verdict"], .string("pass"))
    }

    /// The crash this guards against: on a random 2x2 U(1) model with short runs, no chain of the
    /// HMC exactness run changes its topological charge, so every kept Q^2 is 0, the estimated
    /// error is 0 and the z-score was -inf; the JSON writer then refused `max_abs_z` with an
    /// uncoded `error: JSON encoding error ...` line and exit 1. Now that check is inconclusive
    /// with the reason, the report (file and --json) parses, and nothing fails.
    func testZeroVarianceQSquaredIsInconclusiveAndTheReportParses() throws {
        let model = dir.appendingPathComponent("u1-2x2.l2z").path
        let made = try CLI.run("l2hmc-convert", ["init-random", "--target", "u1", "--lattice", "2x2", "--out", model])
        XCTAssertEqual(made.status, 0, made.stderr)
        let path = dir.appendingPathComponent("z.json").path
        let args = ["crossval", model, "--chains", "8", "--trajectories", "60", "--report", path]
        let r = try CLI.run("l2hmc-run", args)
        XCTAssertEqual(r.status, 0, "inconclusive checks alone are not a failure: " + r.stdout + r.stderr)
        XCTAssertFalse(r.stderr.contains("error:"), r.stderr)
        XCTAssertFalse(r.stdout.contains("inf"), "no z of inf in the table: " + r.stdout)
        let c = try counts(in: r.stdout)
        XCTAssertEqual(c.fail, 0, r.stdout)

        let o = try report(path)
        guard case let .array(checks)? = o["checks"] else { return XCTFail("no checks") }
        // The HMC exactness run of this seed: 8 of 8 chains keep Q, every Q^2 sample is 0.
        let hmc = try XCTUnwrap(checks.compactMap { v -> [String: JSONValue]? in
            guard case let .object(k) = v, k["name"] == .string("exactness: HMC") else { return nil }
            return k
        }.first, "no HMC exactness check")
        XCTAssertEqual(hmc["result"], .string("inconclusive"))
        guard case let .string(reason)? = hmc["reason"] else { return XCTFail("no reason: \(hmc)") }
        XCTAssertTrue(reason.contains("Q^2 has zero variance over the run"), reason)
        XCTAssertTrue(reason.contains("the z-score is undefined"), reason)
        guard case let .object(data)? = hmc["data"] else { return XCTFail("no data: \(hmc)") }
        guard case let .object(undefined)? = data["z_undefined"], case let .string(why)? = undefined["Q^2"] else {
            return XCTFail("Q^2 is not listed as undefined: \(data)")
        }
        XCTAssertTrue(why.contains("zero variance"), why)
        // The run summary inside says the same for its Q^2 row: z null, the reason beside it.
        guard case let .object(summary)? = data["summary"], case let .array(quantities)? = summary["quantities"],
              case let .object(q2)? = quantities.first(where: { if case let .object(q) = $0 { return q["name"] == .string("Q^2") }; return false })
        else { return XCTFail("no Q^2 in the summary: \(data)") }
        XCTAssertEqual(q2["z"], .null)
        XCTAssertEqual(q2["z_undefined"], undefined["Q^2"])
        // max_abs_z covers the quantities whose z is defined (the plaquette here): a finite number.
        guard case let .double(worst)? = data["max_abs_z"] else { return XCTFail("max_abs_z: \(String(describing: data["max_abs_z"]))") }
        XCTAssertTrue(worst.isFinite && worst >= 0, "\(worst)")

        // --json prints the same report on stdout, and it parses too.
        let j = try CLI.run("l2hmc-run", args + ["--json"])
        XCTAssertEqual(j.status, 0, j.stderr)
        guard case let .object(printed) = try StrictJSONParser.parse(Array(j.stdout.utf8)) else { return XCTFail(j.stdout) }
        XCTAssertEqual(printed["counts"], o["counts"])
    }

    func testInvalidThresholdsAreUsageErrors() throws {
        let path = dir.appendingPathComponent("never.json").path
        let cases = [("--z-threshold=-1", "--z-threshold", "-1.0"), ("--z-threshold=0", "--z-threshold", "0.0"),
                     ("--z-threshold=nan", "--z-threshold", "nan"), ("--z-threshold=inf", "--z-threshold", "inf"),
                     ("--hmc-eps=-0.1", "--hmc-eps", "-0.1"), ("--hmc-eps=0", "--hmc-eps", "0.0")]
        for (option, name, shown) in cases {
            let r = try CLI.run("l2hmc-run", ["crossval", "fixtures/gmm2-random.l2z", option, "--report", path])
            XCTAssertEqual(r.status, 64, "\(option): \(r.stderr)")
            XCTAssertEqual(r.stderr, "error: [run.invalid_option] \(name): must be a positive finite number (got \(shown))\n")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertEqual(r.stdout, "", "nothing runs before the options are checked")
            XCTAssertFalse(FileManager.default.fileExists(atPath: path), "no report for a refused command line")
        }
    }
}
