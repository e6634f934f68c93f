import Foundation
import XCTest

/// Inputs that once crashed l2hmc-run (issue 9's list), each now a coded one-line error with its
/// exit status, or a working run.
final class RunCrashRegressionTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func assertRefused(_ args: [String], status: Int32, code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let out = dir.appendingPathComponent("out").path
        let r = try CLI.run("l2hmc-run", args + ["--out", out])
        XCTAssertEqual(r.status, status, "\(args): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): one line, got \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("error: ") && r.stderr.contains(code), "\(args): \(r.stderr)", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(args) wrote output", file: file, line: line)
    }

    /// Was a nil unwrap (exit 132): a schedule of plain HMC alone needs no model.
    func testAnHMCOnlyScheduleWithoutSamplerRunsPlainHMC() throws {
        let r = try CLI.run("l2hmc-run", ["--schedule", "hmc:4", "--trajectories", "8", "--chains", "2", "--lattice", "4x4", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("schedule    hmc:4"), r.stdout)
        XCTAssertFalse(r.stdout.contains("model       "), "no model is loaded")
    }

    /// Were an allocation abort (exit 134) and the kernel's OOM kill: refused up front with the
    /// estimate and the limit.
    func testRequestsBeyondTheMemoryLimitAreRefusedBeforeAllocating() throws {
        try assertRefused(["--chains", "100000000", "--trajectories", "5"], status: 64, code: "[run.too_large]")
        try assertRefused(["--sampler", "hmc", "--lattice", "4096x4096", "--trajectories", "5"], status: 64, code: "[run.too_large]")
        try assertRefused(["--sampler", "hmc", "--trajectories", "1000000000000"], status: 64, code: "[run.too_large]")
        try assertRefused(["--sampler", "hmc", "--lattice", "64x64", "--max-memory", "16M", "--trajectories", "5"], status: 64, code: "limit of 16 MiB")
        try assertRefused(["--sampler", "hmc", "--max-memory", "lots"], status: 64, code: "--max-memory")
        try assertRefused(["--sampler", "hmc", "--checkpoint-every", "0"], status: 64, code: "--checkpoint-every")
    }

    /// A resume directory edited to mismatch its schedule, or with an unknown key, is refused
    /// with the file named, and left as it was.
    func testEditedResumeDirectoriesAreRefusedAndLeftUntouched() throws {
        let out = dir.appendingPathComponent("run").path
        let made = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--lattice", "4x4", "--chains", "2", "--trajectories", "6", "-q", "--out", out])
        XCTAssertEqual(made.status, 0, made.stderr)
        // sampler.npy: flip trajectory 2 to "l2hmc" (byte 128 + 2).
        let samplerPath = "\(out)/sampler.npy"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: samplerPath)))
        bytes[130] = 0
        try Data(bytes).write(to: URL(fileURLWithPath: samplerPath))
        let before = try snapshot(out)
        let r = try CLI.run("l2hmc-run", ["--resume", out, "--trajectories", "10"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("[io.failure]") && r.stderr.contains("sampler"), r.stderr)
        XCTAssertEqual(try snapshot(out), before, "a refused resume changes nothing")
        // params.json with an unknown key.
        bytes[130] = 1
        try Data(bytes).write(to: URL(fileURLWithPath: samplerPath))
        var params = try String(contentsOfFile: "\(out)/params.json", encoding: .utf8)
        params = params.replacingOccurrences(of: "\"chains\"", with: "\"bogus\": 1, \"chains\"")
        try params.write(toFile: "\(out)/params.json", atomically: true, encoding: .utf8)
        let p = try CLI.run("l2hmc-run", ["--resume", out, "--trajectories", "10"])
        XCTAssertEqual(p.status, 1, p.stderr)
        XCTAssertTrue(p.stderr.contains("params.json") && p.stderr.contains("bogus"), p.stderr)
    }

    private func snapshot(_ path: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: "\(path)/\(name)"))
        }
        return out
    }
}
