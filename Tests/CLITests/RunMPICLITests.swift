import Foundation
import XCTest

/// `mpirun -np R l2hmc-run ...`: the run directory of R processes is byte for byte the one of
/// a single process; a resume may use another R; SIGTERM to mpirun leaves a resumable
/// directory; a rank killed outright takes the job down and the directory keeps its last
/// checkpoint. Skipped (with the way to install it) when mpirun is missing; CI installs it.
final class RunMPICLITests: XCTestCase {
    private var root: URL!
    override func setUpWithError() throws { root = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    private static let recordFiles = ["accept_prob.npy", "accepted.npy", "energy_before.npy", "energy_change.npy", "log_det.npy",
                                      "plaquette.npy", "q_int.npy", "q_sin.npy", "sampler.npy", "observables.csv", "final_states.npy"]
    /// A mixed schedule on the shipped model, 5 tiles of 8 chains (the last of 4).
    private static let base = ["--chains", "36", "--tile", "8", "--schedule", "l2hmc:2,hmc:1", "--hmc-eps", "0.1", "--quiet"]

    private func mpirun() throws -> URL {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("mpirun not found: apt-get install openmpi-bin libopenmpi-dev (scripts/setup.sh does)")
    }

    /// `mpirun --oversubscribe -np ranks TOOL arguments` as a process (not started).
    private func launch(_ ranks: Int, _ arguments: [String], tool: String = "l2hmc-run") throws -> Process {
        let p = Process()
        p.executableURL = try mpirun()
        p.arguments = ["--oversubscribe", "-np", String(ranks), CLI.productsDirectory.appendingPathComponent(tool).path] + arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OMPI_") && !$0.key.hasPrefix("PMIX_") }
        env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        p.environment = env
        p.currentDirectoryURL = CLI.repositoryRoot
        return p
    }

    private func run(_ ranks: Int, _ arguments: [String], tool: String = "l2hmc-run") throws -> (status: Int32, stderr: String) {
        let p = try launch(ranks, arguments, tool: tool)
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: e, as: UTF8.self))
    }

    private func assertSameRecord(_ a: URL, _ b: URL, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for f in Self.recordFiles {
            XCTAssertEqual(try Data(contentsOf: a.appendingPathComponent(f)), try Data(contentsOf: b.appendingPathComponent(f)),
                           "\(label): \(f) differs", file: file, line: line)
        }
    }

    func testTwoAndThreeProcessesWriteTheSingleProcessDirectory() throws {
        _ = try mpirun()
        let single = root.appendingPathComponent("single")
        let r1 = try CLI.run("l2hmc-run", Self.base + ["--trajectories", "12", "--out", single.path])
        XCTAssertEqual(r1.status, 0, r1.stderr)
        for ranks in [2, 3] {
            let dir = root.appendingPathComponent("np\(ranks)")
            let r = try run(ranks, Self.base + ["--trajectories", "12", "--out", dir.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            try assertSameRecord(single, dir, "\(ranks) processes")
            let params = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("params.json"))) as? [String: Any]
            XCTAssertEqual(params?["processes"] as? Int, ranks, "params.json records the process count")
        }
    }

    func testAResumeWithAnotherProcessCountContinuesExactly() throws {
        _ = try mpirun()
        let whole = root.appendingPathComponent("whole"), split = root.appendingPathComponent("split")
        XCTAssertEqual(try CLI.run("l2hmc-run", Self.base + ["--trajectories", "16", "--out", whole.path]).status, 0)
        let first = try run(2, Self.base + ["--trajectories", "7", "--out", split.path])
        XCTAssertEqual(first.status, 0, first.stderr)
        let second = try run(3, ["--resume", split.path, "--trajectories", "12", "--quiet"])
        XCTAssertEqual(second.status, 0, second.stderr)
        let third = try CLI.run("l2hmc-run", ["--resume", split.path, "--trajectories", "16", "--quiet"])
        XCTAssertEqual(third.status, 0, third.stderr)
        try assertSameRecord(whole, split, "2 processes, then 3, then 1")
    }

    func testMoreProcessesThanTilesIsAUsageError() throws {
        _ = try mpirun()
        let r = try run(2, ["--sampler", "hmc", "--chains", "8", "--tile", "8", "--trajectories", "2"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("error: [usage] mpirun -np 2 is more than the 1 tile(s) of 8 chains"), r.stderr)
    }

    /// SIGTERM to mpirun reaches every rank (docs/DISTRIBUTED.md); they agree to stop after the
    /// same trajectory, the root commits; the directory then continues to the numbers of an
    /// uninterrupted run. A rank killed outright (SIGKILL) ends the job; the directory keeps its
    /// last checkpoint and continues the same way.
    /// The trajectory index of `dir`'s last commit (0 before the first).
    private func committed(_ dir: URL) -> Int {
        guard let data = try? Data(contentsOf: dir.appendingPathComponent("state.json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let index = object["trajectory_index"] as? Int else { return 0 }
        return index
    }

    func testSignalsAndADeadRankLeaveAResumableDirectory() throws {
        _ = try mpirun()
        let args = ["--sampler", "hmc", "--lattice", "16x16", "--beta", "2", "--eps", "0.05", "--nlf", "40", "--chains", "64", "--tile", "16",
                    "--trajectories", "200", "--checkpoint-every", "5"]
        let whole = root.appendingPathComponent("whole")
        XCTAssertEqual(try CLI.run("l2hmc-run", args + ["--out", whole.path, "--quiet"]).status, 0)
        for (label, signal) in [("SIGTERM to mpirun", SIGTERM), ("SIGKILL to rank 1", SIGKILL)] {
            let dir = root.appendingPathComponent(label.replacingOccurrences(of: " ", with: "-"))
            let p = try launch(2, args + ["--out", dir.path, "--quiet"])
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Wait for a few checkpoints, then signal.
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline && committed(dir) < 10 { Thread.sleep(forTimeInterval: 0.05) }
            XCTAssertLessThan(committed(dir), 200, "\(label): the run ended before the signal; make it longer")
            Thread.sleep(forTimeInterval: 0.3)
            if signal == SIGTERM {
                kill(p.processIdentifier, SIGTERM)
            } else {
                let children = try CLI.run(executable: URL(fileURLWithPath: "/usr/bin/pgrep"), ["-P", String(p.processIdentifier), "l2hmc-run"])
                let pids = children.stdout.split(separator: "\n").compactMap { Int32($0) }.sorted()
                XCTAssertEqual(pids.count, 2, "ranks of mpirun: \(children.stdout)")
                if let last = pids.last { kill(last, SIGKILL) }
            }
            p.waitUntilExit()
            XCTAssertNotEqual(p.terminationStatus, 0, label)
            let resumed = try CLI.run("l2hmc-run", ["--resume", dir.path, "--quiet"])
            XCTAssertEqual(resumed.status, 0, "\(label): \(resumed.stderr)")
            try assertSameRecord(whole, dir, label)
        }
    }

    /// Data-parallel training: every rank computes its tiles, the tile results are exchanged and
    /// added in tile order, so the model and the log of 2 or 3 processes are those of one, and a
    /// training resumed under mpirun continues exactly.
    func testTrainingOnTwoAndThreeProcessesWritesTheSingleProcessModel() throws {
        _ = try mpirun()
        // No annealing (beta_init = beta_final): a run extended with --steps then follows the same schedule.
        let args = ["--target", "u1", "--lattice", "4x4", "--beta-init", "3", "--beta-final", "3", "--n-lf", "2", "--hidden-units", "16", "--chains", "24", "--tile", "4", "--quiet"]
        func path(_ name: String) -> String { root.appendingPathComponent(name).path }
        let one = try CLI.run("l2hmc-train", args + ["--steps", "20", "--out", path("one.l2z")])
        XCTAssertEqual(one.status, 0, one.stderr)
        for ranks in [2, 3] {
            let r = try run(ranks, args + ["--steps", "20", "--out", path("np\(ranks).l2z")], tool: "l2hmc-train")
            XCTAssertEqual(r.status, 0, r.stderr)
            for suffix in [".l2z", ".log.csv"] {
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("one" + suffix))), try Data(contentsOf: URL(fileURLWithPath: path("np\(ranks)" + suffix))),
                               "\(suffix) differs between 1 and \(ranks) processes")
            }
        }
        let first = try CLI.run("l2hmc-train", args + ["--steps", "8", "--out", path("split.l2z")])
        XCTAssertEqual(first.status, 0, first.stderr)
        let second = try run(2, ["--resume", path("split.ckpt.h5"), "--steps", "20", "--out", path("split.l2z"), "--quiet"], tool: "l2hmc-train")
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("one.l2z"))), try Data(contentsOf: URL(fileURLWithPath: path("split.l2z"))),
                       "8 steps alone then 12 on 2 processes differ from 20 steps alone")
    }
}
