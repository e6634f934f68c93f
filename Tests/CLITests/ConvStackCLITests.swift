import Foundation
import XCTest
import ModelFormat

/// `l2hmc-run` on a model whose networks carry the convolution stack (format 1.3; the probe on
/// load is ConvStackTests' and the converted fixture's, TorchConvStackFixtureTests): the physics is exact (plaquette and <Q^2> within 3 sigma of the exact
/// finite-volume values that the run's summary compares with, U1Exact) and trajectories are
/// reversible; float32 and `--lowrank` run; `--lattice` is refused as for every dense model.
final class ConvStackCLITests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A random 4x4 model with a torch-like stack on every network (filters [2, 3], sizes [3, 2],
    /// pool after the second conv, leaky_relu), small weights so it accepts.
    static func writeModel(to path: String) throws {
        typealias L = ConvStackSpec.Layer
        var net = NetworkSpec(layout: .shared, xNetInput: .cosSinBlocks, vNetInput: .raw, maskPlacement: .afterTrig, timeInput: true,
                              hiddenUnits: [8, 8], activation: .leakyRelu)
        net.convStack = ConvStackSpec(layers: [L(filters: 2, kernelSize: 3, pool: 1, activation: false), L(filters: 3, kernelSize: 2, pool: 2, activation: true)],
                                      poolOrder: .poolThenActivation, denseUnits: 6)
        let spec = SamplerSpec(target: .u1(U1Lattice(lt: 4, lx: 4, beta: 2, linkLayout: .muTX)),
                               dynamics: Dynamics(nLF: 3, xUpdate: .ncp, epsVParametrization: .epsOverOnePlusEps), network: net)
        let model = try RandomModel.make(sampler: spec, seed: 17, epsX: 0.25, epsV: 0.3, weightScale: 0.3)
        try L2ZWriter.write(model, to: path)
    }

    private func summary(_ out: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(out)/summary.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// 400 trajectories of 16 chains at beta 2 after 100 HMC trajectories: |z| <= 3 for the
    /// plaquette and <Q^2> (an unbiased kernel passes in 99.7 % of runs per quantity; the run is
    /// deterministic by seed); forward then backward to 1e-12; float32 with low rank 4 runs and
    /// stays exact by the same test.
    func testExactPhysicsReversibilityFloat32AndLowRank() throws {
        let model = dir.appendingPathComponent("conv.l2z").path
        try Self.writeModel(to: model)
        for (i, extra) in [[String](), ["--precision", "float32", "--lowrank", "4"]].enumerated() {
            let out = dir.appendingPathComponent("run\(i)").path
            let r = try CLI.run("l2hmc-run", ["--model", model, "--chains", "16", "--trajectories", "400", "--hmc-start", "100", "--hmc-eps", "0.2",
                                              "--hmc-nlf", "8", "--seed", "5", "--check-reversibility", "--out", out, "-q"] + extra)
            XCTAssertEqual(r.status, 0, "\(extra): \(r.stderr)")
            let s = try summary(out)
            let quantities = try XCTUnwrap(s["quantities"] as? [[String: Any]])
            for name in ["plaquette", "Q^2"] {
                let q = try XCTUnwrap(quantities.first { $0["name"] as? String == name }, name)
                let z = try XCTUnwrap(q["z"] as? Double)
                XCTAssertLessThanOrEqual(abs(z), 3, "\(extra) \(name): \(q)")
            }
            let rev = try XCTUnwrap(s["reversibility"] as? [String: Any])
            // float64: rounding of 2 N_LF sub-updates; float32 networks are deterministic functions
            // of their inputs too, so the inverse still undoes each sub-update to double rounding.
            for key in ["max_dx", "max_dv", "max_logdet_sum"] {
                XCTAssertLessThanOrEqual(try XCTUnwrap(rev[key] as? Double), 1e-12, "\(extra) \(key)")
            }
            let acceptance = (s["acceptance"] as? [String: Double])?["l2hmc"] ?? -1
            XCTAssertGreaterThan(acceptance, 0.3, "\(extra): the model must accept for the physics check to mean something")
            print("conv-stack 4x4 \(extra.joined(separator: " ")): acceptance \(acceptance), " +
                  quantities.prefix(2).map { "\($0["name"] ?? "") z \($0["z"] ?? "")" }.joined(separator: ", "))
        }
    }

    func testInspectDescribesTheStackAndLatticeIsRefused() throws {
        let model = dir.appendingPathComponent("conv.l2z").path
        try Self.writeModel(to: model)
        let inspect = try CLI.run("l2hmc-convert", ["inspect", model])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("conv stack  x- and v-networks: periodic conv 2x3, 3x2/pool 2+act (pool_then_activation), dense 6"), inspect.stdout)
        let r = try CLI.run("l2hmc-run", ["--model", model, "--lattice", "8x8", "--trajectories", "2", "--out", dir.appendingPathComponent("l").path])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("[run.model_target_mismatch]"), r.stderr)
    }

    /// crossval runs every check the runtime can (probe, reversibility, numerical-Jacobian log-det,
    /// physics) and says that the trainer's recomputation is skipped because the trainer has no
    /// convolution stack; `l2hmc-train --resume` on such a file is a coded one-line refusal.
    func testCrossvalSkipsTheRecomputationAndTheTrainerRefuses() throws {
        let model = dir.appendingPathComponent("conv.l2z").path
        try Self.writeModel(to: model)
        let report = dir.appendingPathComponent("cv.json").path
        let r = try CLI.run("l2hmc-run", ["crossval", model, "--chains", "8", "--trajectories", "60", "--report", report])
        XCTAssertTrue(r.status == 0 || r.status == 1, r.stderr)   // 1 only for an inconclusive short physics check
        XCTAssertFalse(r.stdout.contains(" fail "), r.stdout)
        let lines = r.stdout.split(separator: "\n")
        for check in ["reversibility", "log-det"] {
            let line = lines.first { $0.hasPrefix(check + " ") }
            XCTAssertTrue(line?.contains(" pass ") == true, "\(check): \(line ?? "missing")\n\(r.stdout)")
        }
        let recomputation = lines.first { $0.hasPrefix("recomputation ") }
        XCTAssertTrue(recomputation?.contains("skip") == true && recomputation?.contains("convolution stack") == true, r.stdout)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: report)), as: UTF8.self)
        XCTAssertTrue(text.contains("convolution stack"), text)

        // The trainer reads only its own HDF5 checkpoints: an .l2z (with a stack or not) given to
        // --resume is one coded line (the trainer's own refusal of a stack: TrainerConvStackRefusalTests).
        let train = try CLI.run("l2hmc-train", ["--resume", model])
        XCTAssertEqual(train.status, 1)
        XCTAssertTrue(train.stderr.hasPrefix("error: [hdf5.not_hdf5]"), train.stderr)
        XCTAssertEqual(train.stderr.split(separator: "\n").count, 1, train.stderr)
    }
}
