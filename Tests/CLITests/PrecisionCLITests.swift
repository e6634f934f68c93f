import Foundation
import XCTest
import ModelFormat

/// `l2hmc-run --precision`: float64 is the default bit for bit, float32 runs, is recorded in
/// params.json and resumes in float32, and bad values are usage errors.
final class PrecisionCLITests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private let run = ["--trajectories", "30", "--chains", "4", "--seed", "3", "-q"]
    /// Every file of a run directory except summary.json (its wall-clock seconds differ).
    private let compared = ["params.json", "observables.csv", "final_states.npy", "state.json", "sampler.npy", "accept_prob.npy", "accepted.npy",
                            "energy_before.npy", "energy_change.npy", "log_det.npy", "plaquette.npy", "q_int.npy", "q_sin.npy"]

    func testFloat64IsByteIdenticalToNoFlag() throws {
        let a = dir.appendingPathComponent("plain").path, b = dir.appendingPathComponent("float64").path
        let r1 = try CLI.run("l2hmc-run", run + ["--out", a]), r2 = try CLI.run("l2hmc-run", run + ["--precision", "float64", "--out", b])
        XCTAssertEqual(r1.status, 0, r1.stderr)
        XCTAssertEqual(r2.status, 0, r2.stderr)
        // The printed report too, but for the output path and the wall-clock time.
        func report(_ text: String) -> [Substring] { text.split(separator: "\n").filter { !$0.hasPrefix("output") && !$0.hasPrefix("time") } }
        XCTAssertEqual(report(r1.stdout), report(r2.stdout))
        for file in compared {
            let x = try Data(contentsOf: URL(fileURLWithPath: "\(a)/\(file)")), y = try Data(contentsOf: URL(fileURLWithPath: "\(b)/\(file)"))
            XCTAssertEqual(x, y, "\(file) differs between no flag and --precision float64")
        }
        XCTAssertFalse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(a)/params.json")), as: UTF8.self).contains("precision"))
    }

    func testFloat32RunsIsRecordedAndResumesInFloat32() throws {
        let out = dir.appendingPathComponent("f32").path
        // The random-weight mixture model: its networks are alive for every input (the trained U(1)
        // model's ReLUs are mostly inactive, so float32 often gives the float64 bits there).
        let model = ["--model", "fixtures/gmm2-random.l2z"]
        let r = try CLI.run("l2hmc-run", model + ["--trajectories", "20", "--chains", "4", "--seed", "3", "--precision", "float32", "--check-reversibility", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("precision float32"), r.stdout)
        XCTAssertTrue(r.stdout.contains("float32 at its tolerance"), r.stdout)
        XCTAssertTrue(r.stdout.contains("per-chain max |dx| quantiles"), r.stdout)
        let params = String(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(out)/params.json")), as: UTF8.self)
        XCTAssertTrue(params.contains("\"precision\"") && params.contains("\"float32\""), params)
        // Different arithmetic, different numbers: the float32 energies are not the float64 ones.
        let f64 = dir.appendingPathComponent("f64").path
        XCTAssertEqual(try CLI.run("l2hmc-run", model + ["--trajectories", "20", "--chains", "4", "--seed", "3", "-q", "--out", f64]).status, 0)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: "\(f64)/energy_change.npy")),
                          try Data(contentsOf: URL(fileURLWithPath: "\(out)/energy_change.npy")), "float32 gave the float64 numbers")
        let resumed = try CLI.run("l2hmc-run", ["--resume", out, "--trajectories", "30"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("precision float32"), resumed.stdout)
    }

    /// float32 networks are shared read-only by the threads' replicas: same bits for any thread count.
    func testFloat32IsIdenticalForEveryThreadCount() throws {
        let a = dir.appendingPathComponent("t1").path, b = dir.appendingPathComponent("t2").path
        let args = ["--trajectories", "20", "--chains", "8", "--tile", "2", "--seed", "5", "-q", "--precision", "float32"]
        XCTAssertEqual(try CLI.run("l2hmc-run", args + ["--threads", "1", "--out", a]).status, 0)
        XCTAssertEqual(try CLI.run("l2hmc-run", args + ["--threads", "2", "--out", b]).status, 0)
        for file in compared where file != "params.json" {
            let x = try Data(contentsOf: URL(fileURLWithPath: "\(a)/\(file)")), y = try Data(contentsOf: URL(fileURLWithPath: "\(b)/\(file)"))
            XCTAssertEqual(x, y, "\(file) differs between 1 and 2 threads in float32")
        }
    }

    func testBadPrecisionIsAUsageError() throws {
        for args in [["--precision", "half"], ["--precision", "float32", "--sampler", "hmc"], ["bench", "--precision", "half", "--seconds", "0.1"]] {
            let r = try CLI.run("l2hmc-run", args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error:"), r.stderr)
            XCTAssertTrue(r.stderr.contains("precision"), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)")
        }
    }

    func testBenchPrintsFloat32RowsNextToFloat64() throws {
        let r = try CLI.run("l2hmc-run", ["bench", "--workloads", "W4", "--threads", "1", "--seconds", "0.1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for needle in ["W4 f32", "float32 / float64 chain-trajectories per second, W4, 1 thread(s)"] {
            XCTAssertTrue(r.stdout.contains(needle), "bench output lacks \(needle):\n\(r.stdout)")
        }
    }
}
