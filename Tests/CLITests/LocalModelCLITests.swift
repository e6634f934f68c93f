import Foundation
import XCTest
import ModelFormat

/// `l2hmc-run` on a local model (docs/RUNTIME.md, "Local networks at any lattice size"): `--lattice`
/// other than the built one runs and is recorded; a dense model still refuses it; float32 is a
/// coded refusal for local models.
final class LocalModelCLITests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A random local model built for 4x4 (shared networks, N_LF 2, channels [4, 4], 3x3 kernels).
    private func writeLocalModel() throws -> String {
        let spec = SamplerSpec(target: .u1(U1Lattice(lt: 4, lx: 4, beta: 2)),
                               dynamics: Dynamics(nLF: 2, xUpdate: .ncp),
                               network: .local(LocalNetworkSpec(kernelSize: 3), layout: .shared, timeInput: true, channels: [4, 4]))
        let model = try RandomModel.make(sampler: spec, seed: 5, epsX: 0.2, epsV: 0.2, weightScale: 0.3)
        let path = dir.appendingPathComponent("local.l2z").path
        try L2ZWriter.write(model, to: path)
        return path
    }

    func testLocalModelRunsAtAnotherLatticeAndRecordsIt() throws {
        let model = try writeLocalModel()
        let out = dir.appendingPathComponent("run").path
        let r = try CLI.run("l2hmc-run", ["--model", model, "--lattice", "6x10", "--beta", "1.5", "--trajectories", "12", "--chains", "4", "--seed", "2",
                                          "--nlf", "3", "--lowrank", "2", "--check-reversibility", "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("target      U(1) 6x10, beta 1.5 (model trained on 4x4 at 2.0)"), r.stdout)
        let params = String(decoding: try Data(contentsOf: URL(fileURLWithPath: "\(out)/params.json")), as: UTF8.self)
        XCTAssertTrue(params.contains("\"lt\": 6") || params.contains("\"lt\":6"), params)
        XCTAssertTrue(params.contains("\"lx\": 10") || params.contains("\"lx\":10"), params)
        // 4 chains x 120 links of float64 after the .npy header.
        let states = try Data(contentsOf: URL(fileURLWithPath: "\(out)/final_states.npy"))
        XCTAssertGreaterThanOrEqual(states.count, 4 * 120 * 8)
        XCTAssertLessThan(states.count, 4 * 120 * 8 + 512)
        let resumed = try CLI.run("l2hmc-run", ["--resume", out, "--trajectories", "16"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
    }

    /// `crossval --lattice` audits a local model at a transferred size (the trainer's
    /// recomputation included); a dense model is refused with the run's code.
    func testCrossvalAtATransferredLattice() throws {
        let model = try writeLocalModel()
        let report = dir.appendingPathComponent("cv.json").path
        let r = try CLI.run("l2hmc-run", ["crossval", model, "--lattice", "6x4", "--chains", "8", "--trajectories", "40", "--report", report])
        XCTAssertTrue(r.status == 0 || r.status == 1, r.stderr)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: report)), as: UTF8.self)
        for check in ["recomputation", "reversibility", "log-det"] {
            XCTAssertTrue(r.stdout.contains(check), "\(check) missing: \(r.stdout)")
        }
        XCTAssertFalse(r.stdout.contains("trainer cannot rebuild"), r.stdout)
        XCTAssertTrue(text.contains("\"recomputation\""), text)
        let dense = try CLI.run("l2hmc-run", ["crossval", "fixtures/default.l2z", "--lattice", "6x4", "--chains", "8", "--trajectories", "40",
                                              "--report", dir.appendingPathComponent("d.json").path])
        XCTAssertEqual(dense.status, 64, dense.stderr)
        XCTAssertTrue(dense.stderr.contains("[run.model_target_mismatch]"), dense.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("d.json").path))
    }

    func testDenseModelStillRefusesAnotherLatticeAndLocalRefusesFloat32() throws {
        let dense = try CLI.run("l2hmc-run", ["--model", "fixtures/default.l2z", "--lattice", "16x16", "--trajectories", "2", "--out", dir.appendingPathComponent("d").path])
        XCTAssertEqual(dense.status, 64, dense.stderr)  // a usage error, as before
        XCTAssertTrue(dense.stderr.contains("[run.model_target_mismatch]") && dense.stderr.contains("fixed input size"), dense.stderr)
        let model = try writeLocalModel()
        let f32 = try CLI.run("l2hmc-run", ["--model", model, "--precision", "float32", "--trajectories", "2", "--chains", "2", "--out", dir.appendingPathComponent("f").path])
        XCTAssertNotEqual(f32.status, 0)
        XCTAssertTrue(f32.stderr.contains("error: [run.invalid_option]") && f32.stderr.contains("local models"), f32.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("f/summary.json").path))
    }

    /// `svd` lists the conv kernel matrices [k k C_in, C_out]; `bench --local` times W5.
    func testSVDAndBenchOnALocalModel() throws {
        let model = try writeLocalModel()
        let svd = try CLI.run("l2hmc-run", ["svd", model])
        XCTAssertEqual(svd.status, 0, svd.stderr)
        XCTAssertTrue(svd.stdout.contains("vnet.0.conv0") && svd.stdout.contains("[  72 x    4]"), svd.stdout)
        let bench = try CLI.run("l2hmc-run", ["bench", "--local", "4x4,3x5", "--model", model, "--seconds", "0.05", "--chains", "2"])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertTrue(bench.stdout.contains("W5") && bench.stdout.contains("3x5"), bench.stdout)
        let dense = try CLI.run("l2hmc-run", ["bench", "--local", "4x4", "--model", "fixtures/default.l2z", "--seconds", "0.05"])
        XCTAssertNotEqual(dense.status, 0)
        XCTAssertTrue(dense.stderr.contains("error: [run.invalid_option]") && dense.stderr.contains("local model"), dense.stderr)
    }
}
