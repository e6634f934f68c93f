import Foundation
import XCTest

/// `l2hmc-run --threads N`: the same run directory, byte for byte, for every N; more threads
/// than tiles is a usage error; the BLAS kernel set is named, and a generic one is warned about.
final class RunThreadsCLITests: XCTestCase {
    private var root: URL!
    override func setUpWithError() throws { root = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    private static let recordFiles = ["accept_prob.npy", "accepted.npy", "energy_before.npy", "energy_change.npy", "log_det.npy",
                                      "plaquette.npy", "q_int.npy", "q_sin.npy", "sampler.npy", "observables.csv", "final_states.npy"]

    private var hasAVX2: Bool {
        ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").contains(" avx2")
    }

    /// Run with OpenBLAS's Haswell kernels, whose rounding for a GEMM row depends on the rows
    /// sharing the call (the control below shows it: another tile size changes the bits), so
    /// a sharding that mixed tiles would show up as differing files.
    func testEveryThreadCountWritesTheSameFiles() throws {
        try XCTSkipUnless(hasAVX2, "the Haswell kernels need AVX2")
        let env = ["OPENBLAS_CORETYPE": "Haswell"]
        func run(_ name: String, _ extra: [String]) throws -> URL {
            let dir = root.appendingPathComponent(name)
            let r = try CLI.run("l2hmc-run", ["--trajectories", "12", "--chains", "40", "--schedule", "l2hmc:2,hmc:1", "--hmc-eps", "0.1",
                                              "--out", dir.path, "--quiet"] + extra, environment: env)
            XCTAssertEqual(r.status, 0, r.stderr)
            return dir
        }
        let one = try run("t1", ["--tile", "8", "--threads", "1"])
        for threads in ["2", "3", "5"] {
            let other = try run("t\(threads)", ["--tile", "8", "--threads", threads])
            for f in Self.recordFiles {
                XCTAssertEqual(try Data(contentsOf: one.appendingPathComponent(f)), try Data(contentsOf: other.appendingPathComponent(f)),
                               "\(f) differs between 1 and \(threads) threads")
            }
        }
        // Tiles of 5 put rows at other positions of OpenBLAS's micro-tiles than tiles of 8 (one
        // tile of 40, a multiple of 8, gave the same bits as tiles of 8 with the retrained
        // default model).
        let control = try run("whole", ["--tile", "5"])
        XCTAssertNotEqual(try Data(contentsOf: one.appendingPathComponent("energy_change.npy")),
                          try Data(contentsOf: control.appendingPathComponent("energy_change.npy")),
                          "the control lost its power: tiles of 8 and tiles of 5 gave the same bits")
    }

    func testThreadAndTileLimitsAreUsageErrors() throws {
        let more = try CLI.run("l2hmc-run", ["--trajectories", "2", "--chains", "32", "--tile", "16", "--threads", "3", "--quiet"])
        XCTAssertEqual(more.status, 64, more.stderr)
        XCTAssertTrue(more.stderr.contains("--threads 3 is more than the 2 tile(s) of 16 chains"), more.stderr)
        for bad in [["--threads", "0"], ["--tile", "0"]] {
            let r = try CLI.run("l2hmc-run", ["--trajectories", "2"] + bad)
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("error: ["), r.stderr)
        }
    }

    func testTheHeaderNamesTheKernelAndWarnsAboutGenericOnes() throws {
        let plain = try CLI.run("l2hmc-run", ["--trajectories", "2", "--chains", "16"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.contains("blas        OpenBLAS"), plain.stdout)
        XCTAssertTrue(plain.stdout.contains("threads     "), plain.stdout)
        try XCTSkipUnless(hasAVX2, "the warning is about CPUs with AVX2 or AVX-512")
        let generic = try CLI.run("l2hmc-run", ["--trajectories", "2", "--chains", "16"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
        XCTAssertEqual(generic.status, 0, generic.stderr)
        XCTAssertTrue(generic.stdout.contains("Prescott kernels"), generic.stdout)
        XCTAssertTrue(generic.stderr.contains("warning: OpenBLAS runs its generic Prescott kernels"), generic.stderr)
        XCTAssertTrue(generic.stderr.contains("OPENBLAS_CORETYPE="), generic.stderr)
        XCTAssertFalse(plain.stderr.contains("generic"), plain.stderr)
    }
}
