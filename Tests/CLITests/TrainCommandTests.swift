import Foundation
import XCTest
import ModelFormat
import Trainer

final class TrainCommandTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private let small = ["--target", "gmm", "--steps", "6", "--chains", "4", "--n-lf", "2", "--hidden-units", "4", "--log-every", "2", "-q"]

    func testHelpNamesConfigKeysAndExitCodes() throws {
        let r = try CLI.run("l2hmc-train", ["train", "--help"])
        XCTAssertEqual(r.status, 0)
        for flag in ["--config", "--out", "--resume", "--nlf", "--beta-init", "--charge-weight", "--aux-weight", "--checkpoint-every"] {
            XCTAssertTrue(r.stdout.contains(flag), "train --help lacks \(flag)")
        }
        XCTAssertTrue(try CLI.run("l2hmc-train", ["--help"]).stdout.contains("Exit codes"))
    }

    func testTrainWritesModelCheckpointAndLogAndTheRuntimeReproducesItsProbe() throws {
        let out = dir.appendingPathComponent("m.l2z").path
        let r = try CLI.run("l2hmc-train", small + ["--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("l2hmc-train"), "configuration first")
        XCTAssertTrue(r.stdout.contains("config ") && r.stdout.contains("n_lf=2"), r.stdout)
        for file in ["m.l2z", "m.ckpt.h5", "m.log.csv"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent(file).path), file)
        }
        let log = try String(contentsOfFile: dir.appendingPathComponent("m.log.csv").path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(log.count, 7, "header and one row per step")
        XCTAssertTrue(log[0].hasPrefix("step,temperature,learning_rate,loss,acceptance,esjd,mode_switch_rate"))  // a mixture
        // The trainer's probe is reproduced by the independent runtime.
        let run = try CLI.run("l2hmc-run", ["--model", out, "--trajectories", "10", "--chains", "4", "-q"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("probe reproduced"), run.stdout)
    }

    /// `--threads` never changes the outputs: the model and log of 1 and 3 threads (10 chains in
    /// tiles of 3: 4 tiles, the last of one chain) are byte-identical, the checkpoints hold the
    /// same bits, and a run
    /// stopped at step 4 on 1 thread and resumed on 2 threads (`--resume` accepts `--threads`)
    /// ends with the same bytes too. More threads than tiles is a usage error.
    func testThreadCountsGiveByteIdenticalOutputs() throws {
        // A constant temperature, so a 4-step run extended to 8 anneals like an 8-step run.
        let args = ["--target", "gmm", "--steps", "8", "--chains", "10", "--tile", "3", "--nlf", "2", "--hidden-units", "4", "--aux-weight", "0.5",
                    "--temperature-init", "1", "--temperature-final", "1", "-q"]
        // Model and log byte for byte; the checkpoint by its contents (HDF5 stores object
        // modification times, so its bytes differ between runs made in different seconds).
        func files(_ name: String) throws -> [Data] {
            try ["l2z", "log.csv"].map { try Data(contentsOf: dir.appendingPathComponent("\(name).\($0)")) }
        }
        func checkpoint(_ name: String) throws -> [String] {
            let t = try Checkpoint.read(dir.appendingPathComponent("\(name).ckpt.h5").path)
            return ["\(t.step)", "\(t.config)", "\(t.model.params.values)", "\(t.adam)", "\(t.chainStates)"]
        }
        for threads in ["1", "3"] {
            let r = try CLI.run("l2hmc-train", args + ["--threads", threads, "--out", dir.appendingPathComponent("t\(threads).l2z").path])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertEqual(try files("t1"), try files("t3"))
        XCTAssertEqual(try checkpoint("t1"), try checkpoint("t3"))
        var short = args
        if let i = short.firstIndex(of: "--steps") { short[i + 1] = "4" }
        let part = dir.appendingPathComponent("part.l2z").path
        XCTAssertEqual(try CLI.run("l2hmc-train", short + ["--threads", "1", "--out", part]).status, 0)
        try FileManager.default.removeItem(atPath: part)
        let resumed = try CLI.run("l2hmc-train", ["--resume", dir.appendingPathComponent("part.ckpt.h5").path, "--out", part, "--steps", "8", "--threads", "2", "-q"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("parallel    2 threads, 4 tiles of 3 chains"), resumed.stdout)
        XCTAssertEqual(try files("part"), try files("t1"))
        XCTAssertEqual(try checkpoint("part"), try checkpoint("t1"))

        let tooMany = try CLI.run("l2hmc-train", args + ["--threads", "5", "--out", dir.appendingPathComponent("x.l2z").path])
        XCTAssertEqual(tooMany.status, 64)
        XCTAssertTrue(tooMany.stderr.hasPrefix("error: [train.invalid_config] threads: must be at most the number of tiles, 4"), tooMany.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.ckpt.h5").path), "nothing written")
    }

    /// Ctrl-C writes a checkpoint; --resume finishes the run; the model and the log are byte for
    /// byte those of an uninterrupted run, wherever the interrupt fell.
    func testInterruptAndResumeGiveTheUninterruptedModelAndLog() throws {
        var args = small
        args[args.firstIndex(of: "--steps")! + 1] = "3000"
        let whole = dir.appendingPathComponent("whole.l2z").path
        XCTAssertEqual(try CLI.run("l2hmc-train", args + ["--out", whole]).status, 0)

        let part = dir.appendingPathComponent("part.l2z").path
        // "parameters" is printed just before the training loop starts.
        let (status, stderr) = try CLI.interrupt("l2hmc-train", args + ["--out", part], after: "parameters", seconds: 0.2)
        guard status == 130 else {
            // The run finished before the interrupt landed: nothing to resume, the test is moot.
            throw XCTSkip("training finished before the interrupt (\(stderr))")
        }
        XCTAssertTrue(stderr.contains("--resume"), stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: part), "no model is exported for an interrupted run")
        let resumed = try CLI.run("l2hmc-train", ["--resume", dir.appendingPathComponent("part.ckpt.h5").path, "--out", part, "-q"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resume      from"), resumed.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: whole)), try Data(contentsOf: URL(fileURLWithPath: part)))
        XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("whole.log.csv")), try Data(contentsOf: dir.appendingPathComponent("part.log.csv")))
    }

    func testBadConfigurationsFailWithOneLineAndWriteNothing() throws {
        let config = dir.appendingPathComponent("bad.json").path
        try Data(#"{"n_lf": 2, "nlf": 3}"#.utf8).write(to: URL(fileURLWithPath: config))
        let out = dir.appendingPathComponent("m.l2z").path
        let cases: [([String], String)] = [
            (["--config", config], "nlf: unknown key"),
            (["--n-lf", "0"], "n_lf: must be >= 1"),
            (["--beta-init", "4", "--beta-final", "2"], "beta_final: must be >= beta_init"),
            (["--eps-init", "0"], "eps_init: must be > 0"),
            (["--activation", "gelu"], "activation: must be one of"),
            (["--config", dir.appendingPathComponent("missing.json").path], "cannot read"),
        ]
        for (args, needle) in cases {
            let r = try CLI.run("l2hmc-train", args + ["--out", out, "--steps", "2"])
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(needle), "\(args): \(r.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["bad.json"], "nothing was written")
    }
}
