import Foundation
import XCTest
import ModelFormat

/// Nothing lost: `l2hmc-run --out` under kill -9, SIGTERM, a full disk, `--force` on foreign
/// directories and two concurrent writers. Expected values come from an uninterrupted run of the
/// same binary (the reference), compared byte for byte.
final class RunDurabilityTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Plain HMC on 4x4 with 2 chains: several thousand trajectories a second in a debug build,
    /// so a kill lands at a random point of a run that checkpoints every 150 trajectories.
    private let run = ["--sampler", "hmc", "--lattice", "4x4", "--chains", "2", "--beta", "1.5", "--eps", "0.2", "--nlf", "5",
                       "--seed", "11", "-q", "--checkpoint-every", "150"]
    private let total = 24000

    /// Files that must be byte-identical to an uninterrupted run (summary.json differs in its
    /// wall-clock seconds, params.json is rewritten by each resume with its thread count).
    private let compared = ["observables.csv", "final_states.npy", "state.json", "sampler.npy", "accept_prob.npy", "accepted.npy",
                            "energy_before.npy", "energy_change.npy", "log_det.npy", "plaquette.npy", "q_int.npy", "q_sin.npy",
                            "states-0000024000.npy", "README.txt"]

    private func start(_ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = CLI.productsDirectory.appendingPathComponent("l2hmc-run")
        p.arguments = arguments
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    private func committed(_ path: String) -> Int? {
        guard let bytes = try? AtomicFile.read("\(path)/state.json", limit: 1 << 16), case let .object(o)? = try? StrictJSONParser.parse(bytes),
              case let .int(i)? = o["trajectory_index"] else { return nil }
        return Int(i)
    }

    func testKillNineAtRandomMomentsLosesNothingCommittedAndResumesToIdenticalFiles() throws {
        let reference = dir.appendingPathComponent("reference").path
        let r = try CLI.run("l2hmc-run", run + ["--trajectories", "\(total)", "--out", reference])
        XCTAssertEqual(r.status, 0, r.stderr)

        let out = dir.appendingPathComponent("killed").path
        var rng = SplitMix64(seed: 2026)
        var kills = 0, absent = 0, lastCommitted = 0
        // 24 kills: the first few within the creation window (0-40 ms after start), the rest at
        // random moments of the run, each followed by a check and a resume.
        while kills < 24 {
            let exists = FileManager.default.fileExists(atPath: out)
            let p = try start(exists ? ["--resume", out, "-q", "--checkpoint-every", "150"] : run + ["--trajectories", "\(total)", "--out", out])
            let wait = kills < 4 ? Double(rng.next() % 40) / 1000 : 0.02 + Double(rng.next() % 150) / 1000
            Thread.sleep(forTimeInterval: wait)
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if p.terminationReason == .exit { break }  // finished before the kill
            kills += 1
            guard FileManager.default.fileExists(atPath: out) else { absent += 1; continue }
            guard let k = committed(out) else { return XCTFail("after kill \(kills) the output exists without a readable state.json") }
            XCTAssertGreaterThanOrEqual(k, lastCommitted, "a kill lost committed trajectories")
            lastCommitted = k
        }
        XCTAssertGreaterThanOrEqual(kills, 20, "the run finished too early to be killed 20 times")
        let finish = try CLI.run("l2hmc-run", ["--resume", out, "-q"], cwd: dir)
        XCTAssertEqual(finish.status, 0, finish.stderr)
        for file in compared {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(reference)/\(file)")), b = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(file)"))
            XCTAssertEqual(a, b, "\(file) differs from the uninterrupted run after \(kills) kills")
        }
        let own = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(own, (compared + ["params.json", "summary.json"]).sorted(), "no stray files")
        let siblings = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertEqual(siblings, ["killed", "reference"], "temporary directories of killed creations are cleaned up")
        print("durability: \(kills) kills (\(absent) before the output existed), 0 committed trajectories lost, files identical")
    }

    func testSigtermStopsLikeCtrlCWithExit143AndAResumableOutput() throws {
        let out = dir.appendingPathComponent("term").path
        let p = Process()
        p.executableURL = CLI.productsDirectory.appendingPathComponent("l2hmc-run")
        p.arguments = run + ["--trajectories", "1000000", "--out", out]
        p.currentDirectoryURL = dir
        let stdout = Pipe(), stderr = Pipe()
        p.standardOutput = stdout
        p.standardError = stderr
        try p.run()
        _ = CLI.waitForOutput(stdout, containing: "output      ")
        Thread.sleep(forTimeInterval: 0.3)
        p.terminate()  // SIGTERM
        p.waitUntilExit()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 143, message)
        XCTAssertTrue(message.contains("interrupted by SIGTERM after") && message.contains("--resume"), message)
        guard let k = committed(out) else { return XCTFail("no state.json") }
        XCTAssertGreaterThan(k, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(out)/summary.json"), "an interrupted run still writes its summary")
        let more = try CLI.run("l2hmc-run", ["--resume", out, "--trajectories", "\(k + 5)", "-q"], cwd: dir)
        XCTAssertEqual(more.status, 0, more.stderr)
        XCTAssertEqual(committed(out), k + 5)
    }

    func testForceReplacesOnlyAnOutputOfL2HMCRun() throws {
        let fm = FileManager.default
        // A user's directory: refused, every file survives.
        let mine = dir.appendingPathComponent("mine")
        try fm.createDirectory(at: mine.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data("my notes".utf8).write(to: mine.appendingPathComponent("notes.txt"))
        let refused = try CLI.run("l2hmc-run", run + ["--trajectories", "5", "--out", mine.path, "--force"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("[io.foreign_output]"), refused.stderr)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: mine.path).sorted(), ["notes.txt", "sub"])
        XCTAssertEqual(try String(contentsOf: mine.appendingPathComponent("notes.txt"), encoding: .utf8), "my notes")
        // A plain file: refused.
        let file = dir.appendingPathComponent("file.txt")
        try Data("x".utf8).write(to: file)
        XCTAssertTrue(try CLI.run("l2hmc-run", run + ["--trajectories", "5", "--out", file.path, "--force"]).stderr.contains("[io.foreign_output]"))
        // Our own output: replaced with --force, refused without.
        let ours = dir.appendingPathComponent("ours").path
        XCTAssertEqual(try CLI.run("l2hmc-run", run + ["--trajectories", "5", "--out", ours]).status, 0)
        let again = try CLI.run("l2hmc-run", run + ["--trajectories", "7", "--out", ours])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("[io.output_exists]"), again.stderr)
        XCTAssertEqual(try CLI.run("l2hmc-run", run + ["--trajectories", "7", "--out", ours, "--force"]).status, 0)
        XCTAssertEqual(committed(ours), 7)
        // Our output with a file of the user's added: refused, nothing deleted.
        try Data("added".utf8).write(to: URL(fileURLWithPath: "\(ours)/analysis.py"))
        let mixed = try CLI.run("l2hmc-run", run + ["--trajectories", "9", "--out", ours, "--force"])
        XCTAssertTrue(mixed.stderr.contains("[io.foreign_output]") && mixed.stderr.contains("analysis.py"), mixed.stderr)
        XCTAssertEqual(committed(ours), 7)
        XCTAssertTrue(fm.fileExists(atPath: "\(ours)/analysis.py"))
    }

    func testTwoConcurrentWritersToOneOutputExactlyOneSucceeds() throws {
        for round in 0..<3 {
            let out = dir.appendingPathComponent("same\(round)").path
            let args = run + ["--trajectories", "400", "--out", out]
            let a = try start(args), b = try start(args)
            a.waitUntilExit(); b.waitUntilExit()
            let statuses = [a.terminationStatus, b.terminationStatus].sorted()
            XCTAssertEqual(statuses, [0, 1], "round \(round): exactly one writer succeeds, the other gets a coded error")
            XCTAssertEqual(committed(out), 400)
        }
        // With --force on an output another process is still writing: io.locked.
        let busy = dir.appendingPathComponent("busy").path
        let long = try start(run + ["--trajectories", "10000000", "--out", busy])
        defer { kill(long.processIdentifier, SIGKILL); long.waitUntilExit() }
        let deadline = Date().addingTimeInterval(20)
        while committed(busy) == nil && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let second = try CLI.run("l2hmc-run", run + ["--trajectories", "5", "--out", busy, "--force"], cwd: dir)
        XCTAssertEqual(second.status, 1)
        XCTAssertTrue(second.stderr.contains("[io.locked]"), second.stderr)
        let resume = try CLI.run("l2hmc-run", ["--resume", busy, "-q"], cwd: dir)
        XCTAssertTrue(resume.stderr.contains("[io.locked]"), resume.stderr)
    }

    /// A full disk mid-run: a coded error (not a crash), and the directory keeps its last
    /// checkpoint, which resumes once there is space. Needs a small tmpfs (root only; skipped otherwise).
    func testFullDiskGivesACodedErrorAndKeepsTheLastCheckpoint() throws {
        let mount = dir.appendingPathComponent("small").path
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let m = Process()
        m.executableURL = URL(fileURLWithPath: "/bin/mount")
        m.arguments = ["-t", "tmpfs", "-o", "size=192k", "tmpfs", mount]
        m.standardError = FileHandle.nullDevice
        guard (try? m.run()) != nil else { throw XCTSkip("cannot run mount") }
        m.waitUntilExit()
        guard m.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs here (not root)") }
        defer {
            let u = Process()
            u.executableURL = URL(fileURLWithPath: "/bin/umount")
            u.arguments = [mount]
            try? u.run(); u.waitUntilExit()
        }
        let out = "\(mount)/run"
        let r = try CLI.run("l2hmc-run", run + ["--trajectories", "100000", "--out", out], cwd: dir)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("error: [io.failure]") && r.stderr.contains("No space left") && r.stderr.contains("--resume"), r.stderr)
        guard let k = committed(out) else { return XCTFail("the last checkpoint is gone") }
        // Free space by moving the run out of the small disk, then finish a few more trajectories.
        let moved = dir.appendingPathComponent("moved").path
        try FileManager.default.copyItem(atPath: out, toPath: moved)
        let more = try CLI.run("l2hmc-run", ["--resume", moved, "--trajectories", "\(k + 10)", "-q"], cwd: dir)
        XCTAssertEqual(more.status, 0, more.stderr)
        XCTAssertEqual(committed(moved), k + 10)
    }
}
