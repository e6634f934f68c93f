import Foundation
import XCTest
import ModelFormat

final class RunCommandTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testHelpDescribesTheOptions() throws {
        let r = try CLI.run("l2hmc-run", ["run", "--help"])
        XCTAssertEqual(r.status, 0)
        for option in ["--model", "--nlf", "--lowrank", "--lowrank-energy", "--schedule", "--hmc-start", "--net-weights", "--seed",
                       "--thermalization", "--out", "--resume", "--json", "--check-reversibility", "--sampler", "--lattice", "--beta"] {
            XCTAssertTrue(r.stdout.contains(option), "run --help lacks \(option)")
        }
        let top = try CLI.run("l2hmc-run", ["--help"])
        XCTAssertTrue(top.stdout.contains("svd") && top.stdout.contains("Exit codes"), top.stdout)
    }

    func testDefaultModelRunPrintsParametersThenAPhysicsSummary() throws {
        let r = try CLI.run("l2hmc-run", ["--trajectories", "60", "--chains", "8"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[0].hasPrefix("l2hmc-run"), "parameters come first")
        XCTAssertTrue(lines.contains { $0.hasPrefix("model       ") && $0.contains("fixtures/default.l2z") })
        for row in ["plaquette", "Q^2", "acceptance  l2hmc", "tunneling   rate", "exactness"] {
            XCTAssertTrue(lines.contains { $0.hasPrefix(row) }, "summary lacks \(row):\n\(r.stdout)")
        }
        // Not a terminal: no bar, only plain progress lines (issue 13: batch logs saw nothing).
        XCTAssertFalse(r.stderr.contains("\r"), r.stderr)
        XCTAssertTrue(r.stderr.split(separator: "\n").allSatisfy { $0.hasPrefix("progress    ") }, r.stderr)
    }

    func testJSONSummaryAndPlainHMCWithoutModel() throws {
        let r = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--lattice", "4x6", "--beta", "1.5", "--eps", "0.2", "--nlf", "8",
                                          "--trajectories", "80", "--chains", "8", "--json", "--check-reversibility"])
        XCTAssertEqual(r.status, 0, r.stderr)
        guard case let .object(summary) = try StrictJSONParser.parse(Array(r.stdout.utf8)) else { return XCTFail("not JSON") }
        guard case let .array(quantities)? = summary["quantities"] else { return XCTFail("no quantities") }
        let names = quantities.compactMap { q -> String? in if case let .object(o) = q, case let .string(n)? = o["name"] { return n }; return nil }
        XCTAssertEqual(Array(names.prefix(2)), ["plaquette", "Q^2"])
        guard case let .object(rev)? = summary["reversibility"], case let .double(dx)? = rev["max_dx"] else { return XCTFail("no reversibility report") }
        XCTAssertLessThan(dx, 1e-10)
        XCTAssertTrue(r.stderr.contains("target      U(1) 4x6, beta 1.5"), "parameters go to stderr with --json: \(r.stderr)")
    }

    func testPlainHMCOnAGaussianMixtureGivenOnTheCommandLine() throws {
        let r = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--target", "gmm", "--mixture-means=-1,0;1,0.5;0,2", "--mixture-weights", "2,3,5",
                                          "--mixture-variance", "0.5", "--eps", "0.3", "--nlf", "5", "--trajectories", "40", "--chains", "8", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("weights [0.2, 0.3, 0.5], means [[-1.0, 0.0], [1.0, 0.5], [0.0, 2.0]]"), r.stderr)
        guard case let .object(summary) = try StrictJSONParser.parse(Array(r.stdout.utf8)), case let .array(occupancy)? = summary["occupancy"] else {
            return XCTFail("no occupancy in \(r.stdout)")
        }
        XCTAssertEqual(occupancy.count, 3)
    }

    func testOutputDirectoryAndResumeGiveTheUninterruptedNumbers() throws {
        let whole = dir.appendingPathComponent("whole").path, part = dir.appendingPathComponent("part").path
        let common = ["--trajectories", "30", "--chains", "6", "--schedule", "l2hmc:2,hmc:1", "--hmc-eps", "0.15", "--seed", "7", "-q"]
        XCTAssertEqual(try CLI.run("l2hmc-run", common + ["--out", whole]).status, 0)
        XCTAssertEqual(try CLI.run("l2hmc-run", ["--trajectories", "13", "--chains", "6", "--schedule", "l2hmc:2,hmc:1", "--hmc-eps", "0.15",
                                                 "--seed", "7", "-q", "--out", part]).status, 0)
        let resumed = try CLI.run("l2hmc-run", ["--resume", part, "--trajectories", "30", "-q"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        for file in ["observables.csv", "final_states.npy", "accept_prob.npy", "plaquette.npy", "q_int.npy", "log_det.npy", "sampler.npy", "state.json"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(whole)/\(file)")), b = try Data(contentsOf: URL(fileURLWithPath: "\(part)/\(file)"))
            XCTAssertEqual(a, b, "\(file) differs between the resumed and the uninterrupted run")
        }
        let contents = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(contents, ["part", "whole"], "no temporary directories are left")
        let changed = try CLI.run("l2hmc-run", ["--resume", part, "--seed", "8"])
        XCTAssertEqual(changed.status, 64)
        XCTAssertTrue(changed.stderr.contains("--seed cannot change when resuming"), changed.stderr)
    }

    func testBadInputGivesOneLineANonZeroExitAndWritesNothing() throws {
        let out = dir.appendingPathComponent("out").path
        let notAModel = dir.appendingPathComponent("bad.l2z").path
        try Data("PK\u{3}\u{4} truncated".utf8).write(to: URL(fileURLWithPath: notAModel))
        let cases: [([String], String)] = [
            (["--nlf", "0"], "--nlf must be >= 1"),
            (["--beta=-2"], "--beta must be > 0"),
            (["--sampler", "metropolis"], "invalid for '--sampler"),
            (["--lattice", "4x4"], "run.model_target_mismatch"),
            (["--model", notAModel], "container.truncated"),
            (["--sampler", "hmc", "--target", "gmm", "--beta", "2"], "--lattice and --beta apply to --target u1"),
            (["--schedule", "l2hmc:1,mala:2"], "--schedule"),
            (["--net-weights", "1,1,1"], "--net-weights needs six numbers"),
            (["--lowrank", "0"], "rank must be >= 1"),
            (["--thermalization", "1.5"], "--thermalization"),
            (["--chains", "0"], "--chains"),
            (["--eps", "0.1"], "--hmc-eps"),
        ]
        for (args, needle) in cases {
            let r = try CLI.run("l2hmc-run", args + ["--out", out, "--trajectories", "5"])
            XCTAssertNotEqual(r.status, 0, "\(args) must fail")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): one line, got \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains(needle), "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(args) wrote output")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["bad.l2z"], "nothing else was written")
    }

    /// Ctrl-C stops after the current trajectory; the output directory is complete and consistent
    /// for what was computed, and --resume finishes the run.
    func testInterruptLeavesAConsistentResumableOutput() throws {
        let out = dir.appendingPathComponent("run").path
        // The parameters (ending with the "chains" line) are printed just before the loop starts.
        let (status, stderr) = try CLI.interrupt("l2hmc-run", ["--trajectories", "100000", "--chains", "4", "-q", "--out", out],
                                                 after: "chains      ", seconds: 0.5)
        XCTAssertEqual(status, 130, stderr)
        XCTAssertTrue(stderr.contains("interrupted by SIGINT after"), stderr)
        let state = try StrictJSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: "\(out)/state.json"))))
        guard case let .object(s) = state, case let .int(done)? = s["trajectory_index"] else { return XCTFail("state.json") }
        XCTAssertGreaterThan(done, 0)
        let csvLines = try String(contentsOfFile: "\(out)/observables.csv", encoding: .utf8).split(separator: "\n").count
        XCTAssertEqual(csvLines, 1 + Int(done) * 4, "one CSV row per computed trajectory and chain")
        let finish = try CLI.run("l2hmc-run", ["--resume", out, "--trajectories", "\(done + 3)", "-q"])
        XCTAssertEqual(finish.status, 0, finish.stderr)
    }

    func testSpectraOfTheDefaultModel() throws {
        let r = try CLI.run("l2hmc-run", ["svd"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("vnet.0.x_layer") && r.stdout.contains("ranks"), r.stdout)
        let j = try CLI.run("l2hmc-run", ["svd", "--json"])
        guard case let .array(layers) = try StrictJSONParser.parse(Array(j.stdout.utf8)) else { return XCTFail("not JSON") }
        XCTAssertEqual(layers.count, 2 * 7, "two shared networks, each x, v, t, one hidden and three head layers")
    }

    func testCorruptModelGivesOneLineAndNonZeroExit() throws {
        let path = dir.appendingPathComponent("x.l2z").path
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: path))
        let r = try CLI.run("l2hmc-run", ["--model", path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("error: [container.not_zip]"), r.stderr)
    }
}

final class CrossvalCommandTests: XCTestCase {
    func testCrossvalPassesOnTheShippedModelAndFailsOnATamperedOne() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = dir.appendingPathComponent("report.json").path
        let ok = try CLI.run("l2hmc-run", ["crossval", "fixtures/gmm2-random.l2z", "--chains", "8", "--trajectories", "60", "--report", report])
        XCTAssertEqual(ok.status, 0, ok.stdout + ok.stderr)
        for check in ["probe", "recomputation", "reversibility", "log-det", "exactness: HMC", "exactness: model", "ablation: v_scale only"] {
            XCTAssertTrue(ok.stdout.contains(check), "verdict table lacks \(check)")
        }
        guard case let .object(o) = try StrictJSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: report)))) else { return XCTFail("report") }
        XCTAssertEqual(o["passed"], .bool(true))

        // A transposed square kernel: the probe and the recomputation... the probe fails.
        var model = try L2ZReader.read(path: CLI.repositoryRoot.appendingPathComponent("fixtures/gmm2-random.l2z").path).model
        let k = try model.doubles("vnet.1.hidden1.kernel")
        model.arrays["vnet.1.hidden1.kernel"] = try NDArray(shape: [8, 8], doubles: (0..<64).map { k[($0 % 8) * 8 + $0 / 8] })
        let tampered = dir.appendingPathComponent("tampered.l2z").path
        try L2ZWriter.write(model, to: tampered)
        let bad = try CLI.run("l2hmc-run", ["crossval", tampered, "--chains", "8", "--trajectories", "40", "--report", report])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stdout.contains("probe") && bad.stdout.contains("FAIL"), bad.stdout)
    }

    func testCrossvalRunsOnAConvertedKerasModel() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("keras.l2z").path
        let convert = try CLI.run("l2hmc-convert", ["fixtures/keras/tf2021_tfkeras_weights.h5", model, "--preset", "tf2-functional-2021",
                                                    "--lattice", "2x2", "--beta", "1", "--eps", "0.1", "--x-update", "ncp", "--activation", "relu"])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        // tau_int of the plaquette is ~100 for this untrained 2x2 model: short runs are
        // inconclusive (warn), never a false FAIL.
        let r = try CLI.run("l2hmc-run", ["crossval", model, "--chains", "8", "--trajectories", "60", "--report", dir.appendingPathComponent("r.json").path])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertFalse(r.stdout.contains("FAIL"), r.stdout)
        XCTAssertTrue(r.stdout.contains("recomputation") && r.stdout.contains("skip"), "batch norm is not in the trainer: the recomputation is skipped, not failed")
        // Inconclusive checks are counted as such, never as passes (CrossvalVerdictTests).
        XCTAssertTrue(r.stdout.contains("verdict     PASS (") || r.stdout.contains("verdict     INCONCLUSIVE ("), r.stdout)
    }
}

extension RunCommandTests {
    /// With stderr not a terminal (a batch log), one plain progress line every 5 % of the run.
    func testBatchLogGetsAProgressLineEveryFivePercent() throws {
        let r = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--lattice", "4x4", "--beta", "2", "--trajectories", "200", "--chains", "4"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("progress    ") }
        XCTAssertEqual(lines.count, 19, r.stderr)   // 5 %, 10 %, ..., 95 % (the end prints the summary)
        XCTAssertTrue(lines.first?.hasPrefix("progress    10/200 trajectories (5 %)") ?? false, r.stderr)
        XCTAssertFalse(r.stderr.contains("\r"), "no terminal control characters in a log")
        let quiet = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--lattice", "4x4", "--beta", "2", "--trajectories", "200", "--chains", "4", "--quiet"])
        XCTAssertFalse(quiet.stderr.contains("progress"), quiet.stderr)
    }
}
