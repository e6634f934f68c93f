import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// `l2hmc-train flow`: a small run writes a flow model (with its probe, which the runtime
/// reproduces) and a checkpoint; an
/// interrupted-and-resumed run ends with the same model bytes as an uninterrupted one; bad
/// configurations and existing outputs are refused with their codes.
final class FlowTrainCLITests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func config(_ text: String) throws -> String {
        let path = dir.appendingPathComponent("flow.json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private let small = #"{"layers": 4, "hidden_channels": [4], "lattice": [4, 4], "beta_init": 1, "beta_final": 1.5, "batch": 8, "steps": 6, "seed": 5, "log_every": 2}"#

    func testTrainWritesAFlowModelAndResumeIsByteIdentical() throws {
        let cfg = try config(small)
        let out = dir.appendingPathComponent("a.l2z").path
        let r = try CLI.run("l2hmc-train", ["flow", "--config", cfg, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("step 6/6"), r.stdout)
        let model = try L2ZReader.read(path: out).model
        let spec = try model.spec.flow()
        XCTAssertEqual(spec.coupling.layers, 4); XCTAssertEqual(spec.target.lt, 4); XCTAssertEqual(spec.target.beta, 1.5)
        XCTAssertEqual(model.provenance.producer, "l2hmc-train")
        XCTAssertNotNil(model.probe)
        XCTAssertEqual(try FlowCheckpoint.read(dir.appendingPathComponent("a.ckpt.h5").path).step, 6)
        // The runtime's independent flow reproduces the trainer's probe (x, log-det, force).
        let run = try CLI.run("l2hmc-run", ["--model", out, "--sampler", "flow", "--trajectories", "10", "--chains", "4", "-q"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("probe reproduced"), run.stdout)
        // ... and a model whose manifest names another activation than the one trained does not.
        var wrong = model
        var wrongSpec = spec
        wrongSpec.coupling.activation = .swish
        wrong.spec = .flow(wrongSpec)
        let wrongPath = dir.appendingPathComponent("wrong.l2z").path
        try Data(try L2ZWriter.encode(wrong)).write(to: URL(fileURLWithPath: wrongPath))
        let refused = try CLI.run("l2hmc-run", ["--model", wrongPath, "--sampler", "flow", "--trajectories", "10", "--chains", "4", "-q"])
        XCTAssertNotEqual(refused.status, 0, refused.stdout)
        XCTAssertTrue(refused.stderr.contains("probe"), refused.stderr)

        // At one beta (an annealed schedule depends on the run's length), 6 steps, and 3 steps
        // then --resume extending to 6: the same model, byte for byte.
        let constant = try config(small.replacingOccurrences(of: "\"beta_final\": 1.5", with: "\"beta_final\": 1"))
        XCTAssertEqual(try CLI.run("l2hmc-train", ["flow", "--config", constant, "--out", out, "--force", "-q"]).status, 0)
        let outB = dir.appendingPathComponent("b.l2z").path
        XCTAssertEqual(try CLI.run("l2hmc-train", ["flow", "--config", constant, "--out", outB, "--steps", "3", "-q"]).status, 0)
        let resumed = try CLI.run("l2hmc-train", ["flow", "--resume", dir.appendingPathComponent("b.ckpt.h5").path, "--out", outB, "--steps", "6", "-q"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: outB)), try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    /// --init-model starts from a flow's weights (its architecture replaces the configuration's),
    /// here a 4x4 flow continued at 8x4: the first logged loss is that of the given weights.
    func testInitModelContinuesFromAFlowOnAnotherLattice() throws {
        let first = dir.appendingPathComponent("small.l2z").path
        XCTAssertEqual(try CLI.run("l2hmc-train", ["flow", "--config", try config(small), "--out", first, "-q"]).status, 0)
        let bigger = try config(#"{"layers": 2, "lattice": [8, 4], "batch": 8, "steps": 2, "seed": 5, "log_every": 1}"#)
        let out = dir.appendingPathComponent("big.l2z").path
        let r = try CLI.run("l2hmc-train", ["flow", "--config", bigger, "--init-model", first, "--out", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("flow        4 layers, hidden [4]"), r.stdout)
        let spec = try L2ZReader.read(path: out).model.spec.flow()
        XCTAssertEqual(spec.coupling.layers, 4); XCTAssertEqual(spec.target.lt, 8); XCTAssertEqual(spec.target.lx, 4)
        // The loss of step 1 is the given weights' loss on that step's draws.
        var s = try FlowTrainer.Settings(jsonBytes: Array(#"{"layers": 4, "hidden_channels": [4], "lattice": [8, 4], "batch": 8, "steps": 2, "seed": 5}"#.utf8))
        s.logEvery = 1
        let trainer = try FlowTrainer(settings: s, initialFlow: try TrainableFlow(l2z: try L2ZReader.read(path: first).model))
        let expected = String(format: "loss %.6g", trainer.trainStep().loss)
        XCTAssertTrue(r.stdout.contains("step 1/2  beta 2  \(expected)"), "\(expected) in \(r.stdout)")
        let refused = try CLI.run("l2hmc-train", ["flow", "--resume", dir.appendingPathComponent("small.ckpt.h5").path, "--init-model", first, "--out", out])
        XCTAssertEqual(refused.status, 64)
    }

    func testRefusals() throws {
        let out = dir.appendingPathComponent("m.l2z").path
        let bad = try CLI.run("l2hmc-train", ["flow", "--config", try config(#"{"lattice": [6, 8]}"#), "--out", out])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.hasPrefix("error: [train.invalid_config] lattice:"), bad.stderr)
        XCTAssertEqual(try CLI.run("l2hmc-train", ["flow", "--config", try config(#"{"layerz": 2}"#), "--out", out]).status, 64)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // An existing output is not replaced without --force.
        let cfg = try config(small)
        XCTAssertEqual(try CLI.run("l2hmc-train", ["flow", "--config", cfg, "--out", out, "--steps", "1", "-q"]).status, 0)
        let again = try CLI.run("l2hmc-train", ["flow", "--config", cfg, "--out", out, "--steps", "1", "-q"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.hasPrefix("error: [io.output_exists]"), again.stderr)
        XCTAssertEqual(try CLI.run("l2hmc-train", ["flow", "--config", cfg, "--out", out, "--steps", "1", "--force", "-q"]).status, 0)
        // --show-config prints the settings and writes nothing.
        let shown = try CLI.run("l2hmc-train", ["flow", "--config", cfg, "--show-config"])
        XCTAssertEqual(shown.status, 0)
        XCTAssertEqual(try FlowTrainer.Settings(jsonBytes: Array(shown.stdout.utf8)), try FlowTrainer.Settings(jsonBytes: Array(small.utf8)))
    }
}
