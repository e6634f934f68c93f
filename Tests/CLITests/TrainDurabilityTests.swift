import Foundation
import XCTest
import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// Durability of `l2hmc-train` (issue 9): kill -9 at random moments, SIGTERM, a second signal,
/// concurrent writers, `--force` on things the tool did not write.
final class TrainDurabilityTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// About 2 s of work in a debug build, with a checkpoint every 4 steps (many commit points
    /// for the kills to hit).
    private let small = ["--target", "gmm", "--steps", "400", "--chains", "4", "--n-lf", "2", "--hidden-units", "4",
                         "--checkpoint-every", "4", "--log-every", "100000", "-q"]

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    private func bytes(_ name: String) throws -> Data { try Data(contentsOf: dir.appendingPathComponent(name)) }
    private func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }
    private func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp-") || $0.hasSuffix(".lock") }
    }

    /// Starts l2hmc-train; stdout is discarded, stderr returned by `finish`.
    private final class Running {
        let process = Process()
        let err = Pipe()
        init(_ arguments: [String]) throws {
            process.executableURL = CLI.productsDirectory.appendingPathComponent("l2hmc-train")
            process.arguments = arguments
            process.currentDirectoryURL = CLI.repositoryRoot
            process.standardOutput = FileHandle.nullDevice
            process.standardError = err
            try process.run()
        }
        func finish() -> (status: Int32, reason: Process.TerminationReason, stderr: String) {
            let e = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (process.terminationStatus, process.terminationReason, String(decoding: e, as: UTF8.self))
        }
    }

    /// kill -9 at seeded random moments (at least 20 in all, the first interruption of the first
    /// run a SIGTERM instead): after every kill the outputs are absent or a checkpoint that the
    /// next start resumes; the finished model and log equal an uninterrupted run's byte for byte.
    func testKillNineAtRandomMomentsLosesNothingAndResumesToTheUninterruptedResult() throws {
        let started = Date()
        let reference = try CLI.run("l2hmc-train", small + ["--out", path("whole.l2z")])
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let referenceSeconds = Date().timeIntervalSince(started)

        var seeded = SplitMix64(seed: 20261126)
        var kills = 0, terms = 0, absentStates = 0, resumes = 0, losses = 0
        for run in 0..<3 {
            let out = "part\(run).l2z", ckpt = "part\(run).ckpt.h5", log = "part\(run).log.csv"
            var attempt = 0
            while true {
                let resuming = exists(ckpt)
                if resuming { resumes += 1 }
                let args = resuming ? ["--resume", path(ckpt), "--out", path(out), "-q"] : small + ["--out", path(out)]
                let p = try Running(args)
                attempt += 1
                if attempt > 8 {  // enough kills in this run: let it finish
                    let r = p.finish()
                    if r.status != 0 { losses += 1 }
                    XCTAssertEqual(r.status, 0, "run \(run) could not finish: \(r.stderr)")
                    break
                }
                // Every run's first kill falls early (start-up, the step-0 checkpoint), the
                // others anywhere in a quarter of a whole run.
                let delay = Double.random(in: 0.0...(attempt == 1 && run > 0 ? 0.1 : referenceSeconds * 0.25), using: &seeded)
                let useTerm = run == 0 && attempt == 1
                if useTerm {  // a SIGTERM before the handler is installed would just kill: wait for the log
                    let deadline = Date().addingTimeInterval(60)
                    while !exists(log) && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
                }
                Thread.sleep(forTimeInterval: delay)
                if p.process.isRunning { kill(p.process.processIdentifier, useTerm ? SIGTERM : SIGKILL) }
                let r = p.finish()
                if r.reason == .exit && r.status == 0 { break }  // finished before the kill
                if useTerm {
                    XCTAssertEqual(r.status, 143, "SIGTERM: \(r.stderr)")
                    XCTAssertTrue(r.stderr.contains("SIGTERM") && r.stderr.contains("--resume"), r.stderr)
                    XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
                    XCTAssertTrue(exists(ckpt), "SIGTERM leaves a checkpoint")
                    terms += 1
                } else {
                    // Exiting on its own with an error (a failed resume) is a loss.
                    if r.reason != .uncaughtSignal { losses += 1 }
                    XCTAssertEqual(r.reason, .uncaughtSignal, "killed: \(r.stderr)")
                    kills += 1
                }
                // Absent, or a checkpoint (which the next round resumes; a failed resume fails the test).
                if !exists(ckpt) {
                    XCTAssertFalse(exists(log) || exists(out), "a log or model without a checkpoint")
                    absentStates += 1
                }
                XCTAssertFalse(exists(out), "a model appears only when the run is complete")
            }
            let whole = (try bytes("whole.l2z"), try bytes("whole.log.csv"))
            if (try? bytes(out)) != whole.0 || (try? bytes(log)) != whole.1 { losses += 1 }
            XCTAssertEqual(try bytes(out), try bytes("whole.l2z"), "run \(run): model differs from the uninterrupted run")
            XCTAssertEqual(try bytes(log), try bytes("whole.log.csv"), "run \(run): log differs from the uninterrupted run")
        }
        XCTAssertEqual(try leftovers(), [], "no temporary or lock files remain")
        XCTAssertGreaterThanOrEqual(kills, 20)
        XCTAssertEqual(terms, 1)
        XCTAssertEqual(losses, 0)
        print("durability: \(kills) kill -9 + \(terms) SIGTERM over 3 runs, \(resumes) resumes, \(absentStates) kills before the first checkpoint, \(losses) losses, \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    /// A second signal while a (slow) step runs: exit at once with 130, no temporary or lock
    /// file left, the last checkpoint (the one written at the start) intact and usable.
    func testSecondSignalStopsAtOnceAndRemovesTemporaryFiles() throws {
        let slow = ["--lattice", "16x16", "--hidden-units", "128,128", "--chains", "32", "--n-lf", "4", "--steps", "50", "-q"]
        let p = try Running(slow + ["--out", path("s.l2z")])
        // The step-0 checkpoint is on disk before the loop starts.
        let deadline = Date().addingTimeInterval(60)
        while !exists("s.log.csv") && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        Thread.sleep(forTimeInterval: 0.2)
        p.process.interrupt()
        Thread.sleep(forTimeInterval: 0.1)
        if p.process.isRunning { p.process.interrupt() }
        let r = p.finish()
        guard r.status == 130 && r.stderr.contains("second signal") else {
            throw XCTSkip("the first signal was handled before the second arrived (\(r.status): \(r.stderr))")
        }
        XCTAssertEqual(try leftovers(), [])
        XCTAssertFalse(exists("s.l2z"))
        let export = try CLI.run("l2hmc-train", ["export", path("s.ckpt.h5"), "-o", path("e.l2z")])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(export.stdout.contains("(step 0)"), export.stdout)
    }

    /// Two runs with the same --out started together: exactly one succeeds, the other is refused
    /// with a coded error and the winner's outputs are complete.
    func testConcurrentWritersExactlyOneSucceeds() throws {
        for round in 0..<3 {
            let out = path("c\(round).l2z")
            let args = ["--target", "gmm", "--steps", "100", "--chains", "4", "--n-lf", "2", "--hidden-units", "4", "-q", "--out", out]
            let a = try Running(args), b = try Running(args)
            let ra = a.finish(), rb = b.finish()
            let statuses = [ra.status, rb.status].sorted()
            XCTAssertEqual(statuses, [0, 1], "round \(round): \(ra.stderr) | \(rb.stderr)")
            let loser = ra.status == 1 ? ra.stderr : rb.stderr
            XCTAssertTrue(loser.contains("[io.locked]") || loser.contains("[io.output_exists]"), loser)
            XCTAssertEqual(loser.split(separator: "\n").count, 1, loser)
            let lines = try String(contentsOfFile: path("c\(round).log.csv"), encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines.count, 101)
            let run = try CLI.run("l2hmc-run", ["--model", out, "--trajectories", "4", "--chains", "2", "-q"])
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        XCTAssertEqual(try leftovers(), [])
    }

    /// While a run holds its outputs, a second run naming them (with or without --force, or
    /// resuming its checkpoint) is io.locked and touches nothing.
    func testARunningTrainingLocksItsOutputs() throws {
        var args = small
        args[args.firstIndex(of: "--steps")! + 1] = "100000"
        let first = try Running(args + ["--out", path("l.l2z")])
        let deadline = Date().addingTimeInterval(60)
        while !exists("l.log.csv") && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        for second in [small + ["--out", path("l.l2z")], small + ["--out", path("l.l2z"), "--force"],
                       ["--resume", path("l.ckpt.h5"), "--out", path("l.l2z")],
                       small + ["--out", path("other.l2z"), "--log", path("l.log.csv")]] {
            let r = try CLI.run("l2hmc-train", second)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("error: [io.locked]"), r.stderr)
            XCTAssertTrue(first.process.isRunning)
        }
        first.process.interrupt()
        let r = first.finish()
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertFalse(exists("other.ckpt.h5") || exists("other.log.csv"))
        XCTAssertEqual(try leftovers(), [], "the locks are released at exit")
        XCTAssertEqual(try CLI.run("l2hmc-train", ["export", path("l.ckpt.h5"), "-o", path("l.l2z")]).status, 0)
    }

    /// --force replaces l2hmc-train's own files only; a directory or a foreign file is refused and
    /// survives; without --force an existing output is io.output_exists.
    func testForceReplacesOnlyFilesTheToolWrote() throws {
        let base = ["--target", "gmm", "--steps", "5", "--chains", "4", "--n-lf", "2", "--hidden-units", "4", "-q"]
        // A directory with the user's files.
        let userDir = dir.appendingPathComponent("results")
        try FileManager.default.createDirectory(at: userDir, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: userDir.appendingPathComponent("notes.txt"))
        let r1 = try CLI.run("l2hmc-train", base + ["--out", userDir.path, "--checkpoint", path("x.ckpt.h5"), "--log", path("x.log.csv"), "--force"])
        XCTAssertEqual(r1.status, 1, r1.stderr)
        XCTAssertTrue(r1.stderr.hasPrefix("error: [io.foreign_output]"), r1.stderr)
        XCTAssertEqual(try String(contentsOf: userDir.appendingPathComponent("notes.txt"), encoding: .utf8), "mine")
        XCTAssertFalse(exists("x.ckpt.h5") || exists("x.log.csv"), "nothing written")

        // A foreign file where the checkpoint would go.
        try Data("not a checkpoint".utf8).write(to: dir.appendingPathComponent("m.ckpt.h5"))
        for extra in [[], ["--force"]] {
            let r = try CLI.run("l2hmc-train", base + ["--out", path("m.l2z")] + extra)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains(extra.isEmpty ? "[io.output_exists]" : "[io.foreign_output]"), r.stderr)
            XCTAssertEqual(try bytes("m.ckpt.h5"), Data("not a checkpoint".utf8))
            XCTAssertFalse(exists("m.l2z") || exists("m.log.csv"))
        }
        try FileManager.default.removeItem(atPath: path("m.ckpt.h5"))

        // Our own files are replaced with --force (and only then).
        XCTAssertEqual(try CLI.run("l2hmc-train", base + ["--out", path("m.l2z")]).status, 0)
        let again = try CLI.run("l2hmc-train", base + ["--out", path("m.l2z")])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("[io.output_exists]"), again.stderr)
        let forced = try CLI.run("l2hmc-train", ["--target", "gmm", "--steps", "7", "--chains", "4", "--n-lf", "2", "--hidden-units", "4", "-q",
                                                 "--out", path("m.l2z"), "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(try String(contentsOfFile: path("m.log.csv"), encoding: .utf8).split(separator: "\n").count, 8)
        XCTAssertEqual(try leftovers(), [])

        // export --force: the same rule.
        try Data("my model".utf8).write(to: dir.appendingPathComponent("mine.l2z"))
        let export = try CLI.run("l2hmc-train", ["export", path("m.ckpt.h5"), "-o", path("mine.l2z"), "--force"])
        XCTAssertEqual(export.status, 1, export.stderr)
        XCTAssertTrue(export.stderr.hasPrefix("error: [io.foreign_output]"), export.stderr)
        XCTAssertEqual(try bytes("mine.l2z"), Data("my model".utf8))
        XCTAssertEqual(try CLI.run("l2hmc-train", ["export", path("m.ckpt.h5"), "-o", path("m.l2z"), "--force"]).status, 0)
    }

    /// A full disk, simulated with a file-size limit (RLIMIT_FSIZE via bash's `ulimit -f`, in KiB;
    /// SIGXFSZ ignored so writes fail with EFBIG): one coded line, exit 1, no crash at exit; the
    /// outputs are absent (the step-0 checkpoint did not fit) or resumable to the uninterrupted
    /// result (the log outgrew the limit mid-run).
    func testFullDiskFailsCleanlyAndLeavesAbsentOrResumableOutputs() throws {
        func limited(_ kib: Int, _ args: [String]) throws -> CLI.Result {
            let tool = CLI.productsDirectory.appendingPathComponent("l2hmc-train").path
            let quoted = ([tool] + args).map { "'" + $0 + "'" }.joined(separator: " ")
            return try CLI.run(executable: URL(fileURLWithPath: "/bin/bash"), ["-c", "ulimit -f \(kib); trap '' XFSZ; exec \(quoted)"])
        }
        // The checkpoint (about 42 KB) does not fit in 20 KiB: nothing is left behind.
        let a = try limited(20, small + ["--out", path("a.l2z")])
        XCTAssertEqual(a.status, 1, a.stderr)
        XCTAssertEqual(a.stderr.split(separator: "\n").count, 1, a.stderr)
        XCTAssertTrue(a.stderr.hasPrefix("error: ["), a.stderr)
        XCTAssertFalse(exists("a.ckpt.h5") || exists("a.log.csv") || exists("a.l2z"))
        XCTAssertEqual(try leftovers(), [])

        // The log (about 150 bytes a row) outgrows 48 KiB after some 300 of 400 steps.
        let b = try limited(48, small + ["--out", path("b.l2z")])
        XCTAssertEqual(b.status, 1, b.stderr)
        XCTAssertEqual(b.stderr.split(separator: "\n").count, 1, b.stderr)
        XCTAssertTrue(exists("b.ckpt.h5") && !exists("b.l2z"))
        let resumed = try CLI.run("l2hmc-train", ["--resume", path("b.ckpt.h5"), "--out", path("b.l2z"), "-q"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try CLI.run("l2hmc-train", small + ["--out", path("whole.l2z")]).status, 0)
        XCTAssertEqual(try bytes("b.l2z"), try bytes("whole.l2z"))
        XCTAssertEqual(try bytes("b.log.csv"), try bytes("whole.log.csv"))
        XCTAssertEqual(try leftovers(), [])
    }

    /// Checkpoints by wall time: with checkpoint_seconds 0.05 (and no step period) the
    /// checkpoint a kill -9 leaves after half a second of training is well past step 0.
    func testTimeBasedCheckpointsLimitWhatAKillLoses() throws {
        var args = small
        args[args.firstIndex(of: "--checkpoint-every")! + 1] = "0"
        args[args.firstIndex(of: "--steps")! + 1] = "100000"
        let p = try Running(args + ["--checkpoint-seconds", "0.05", "--out", path("t.l2z")])
        let deadline = Date().addingTimeInterval(60)
        while !exists("t.log.csv") && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        Thread.sleep(forTimeInterval: 0.5)
        kill(p.process.processIdentifier, SIGKILL)
        _ = p.finish()
        let r = try CLI.run("l2hmc-train", ["export", path("t.ckpt.h5"), "-o", path("e.l2z")])
        XCTAssertEqual(r.status, 0, r.stderr)
        guard let open = r.stdout.range(of: "(step "), let step = Int(r.stdout[open.upperBound...].prefix { $0.isNumber }) else {
            return XCTFail("no step in \(r.stdout)")
        }
        XCTAssertGreaterThan(step, 0, "a time-based checkpoint was written")
        let rows = try String(contentsOfFile: path("t.log.csv"), encoding: .utf8).split(separator: "\n").count - 1
        XCTAssertGreaterThanOrEqual(rows, step, "the log holds the checkpoint's rows")
    }

    /// --resume may extend --steps (and nothing else); the extended run continues the log.
    func testResumeMayExtendStepsOnly() throws {
        let base = ["--target", "gmm", "--chains", "4", "--n-lf", "2", "--hidden-units", "4", "-q"]
        XCTAssertEqual(try CLI.run("l2hmc-train", base + ["--steps", "20", "--out", path("m.l2z")]).status, 0)
        let before = try bytes("m.ckpt.h5")
        for (args, needle) in [(["--steps", "10"], "can only extend"), (["--n-lf", "3"], "only --steps")] {
            let r = try CLI.run("l2hmc-train", ["--resume", path("m.ckpt.h5"), "--out", path("m.l2z"), "-q"] + args)
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.contains(needle), r.stderr)
            XCTAssertEqual(try bytes("m.ckpt.h5"), before, "the checkpoint is untouched")
        }
        let r = try CLI.run("l2hmc-train", ["--resume", path("m.ckpt.h5"), "--out", path("m.l2z"), "--steps", "30", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("steps=30") && r.stdout.contains("done        30 steps"), r.stdout)
        let rows = try String(contentsOfFile: path("m.log.csv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.count, 31)
        XCTAssertEqual(rows.map { $0.split(separator: ",")[0] }.dropFirst(), ArraySlice((1...30).map { Substring(String($0)) }))
        XCTAssertEqual(try leftovers(), [])
    }

    /// Damaged checkpoints (edited with h5py) are refused with one coded line, exit 1, before
    /// anything is written; the checkpoint and the log stay as they were.
    func testResumeRefusesDamagedCheckpointsAndTouchesNothing() throws {
        let base = ["--target", "gmm", "--chains", "4", "--n-lf", "2", "--hidden-units", "4", "-q", "--steps", "6"]
        XCTAssertEqual(try CLI.run("l2hmc-train", base + ["--out", path("m.l2z")]).status, 0)
        try FileManager.default.removeItem(atPath: path("m.l2z"))
        let cases: [(String, String)] = [
            (#"f.attrs["step"] = -3"#, "checkpoint.inconsistent"),
            (#"f.attrs["adam_t"] = 99"#, "checkpoint.inconsistent"),
            (#"f.attrs["config"] = f.attrs["config"].replace('"n_lf": 2', '"n_lf": -1')"#, "checkpoint.invalid_config"),
            (#"d = f["masks"]; a = d[...]; a[0, 0] = 7; d[...] = a"#, "checkpoint.bad_value"),
            (#"d = f["chains"]; a = d[...]; a[1, 1] = float("nan"); d[...] = a"#, "checkpoint.non_finite"),
            (#"del f["params/log_eps_x"]"#, "checkpoint.missing_array"),
            (#"a = f["chains"][...]; del f["chains"]; f["chains"] = a.astype("float32")"#, "checkpoint.wrong_dtype"),
            (#"a = f["chains"][...]; del f["chains"]; f["chains"] = a[:2]"#, "checkpoint.wrong_shape"),
        ]
        for (edit, code) in cases {
            try FileManager.default.copyItem(atPath: path("m.ckpt.h5"), toPath: path("bad.ckpt.h5"))
            try FileManager.default.copyItem(atPath: path("m.log.csv"), toPath: path("bad.log.csv"))
            let py = try CLI.python("import h5py, sys\nwith h5py.File(sys.argv[1], 'r+') as f:\n    \(edit)\n", path("bad.ckpt.h5"))
            XCTAssertEqual(py.status, 0, "h5py edit failed (run scripts/setup.sh): \(py.stderr)")
            let damaged = try bytes("bad.ckpt.h5")
            let r = try CLI.run("l2hmc-train", ["--resume", path("bad.ckpt.h5"), "--out", path("bad.l2z")])
            XCTAssertEqual(r.status, 1, "\(edit): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: [\(code)]"), "\(edit): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertEqual(try bytes("bad.ckpt.h5"), damaged, "\(edit): the checkpoint is untouched")
            XCTAssertEqual(try bytes("bad.log.csv"), try bytes("m.log.csv"), "\(edit): the log is untouched")
            XCTAssertFalse(exists("bad.l2z"))
            XCTAssertEqual(try leftovers(), [])
            try FileManager.default.removeItem(atPath: path("bad.ckpt.h5"))
            try FileManager.default.removeItem(atPath: path("bad.log.csv"))
        }
    }
}

extension CLI {
    /// Runs python3 with a script and arguments.
    static func python(_ script: String, _ arguments: String...) throws -> Result {
        try run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script] + arguments)
    }
}
