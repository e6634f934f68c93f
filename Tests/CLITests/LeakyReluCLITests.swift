import Foundation
import XCTest
import ModelFormat
import Trainer

/// leaky_relu end to end: the trainer accepts it wherever it accepts swish (config key and flag),
/// writes a format 1.1 model, and the runtime and the inspector read it back; the runtime
/// reproduces the trainer's probe (an independent implementation of the activation).
final class LeakyReluCLITests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testConfigKeyAndFlagAcceptLeakyRelu() throws {
        var flag = TrainingConfig()
        try flag.set("activation", text: "leaky_relu")
        XCTAssertEqual(flag.activation, .leakyRelu)
        let json = try TrainingConfig(jsonBytes: Array(#"{"activation": "leaky_relu"}"#.utf8))
        XCTAssertEqual(json, flag)
        var bad = TrainingConfig()
        XCTAssertThrowsError(try bad.set("activation", text: "leakyrelu")) {
            XCTAssertTrue("\($0)".contains("relu, tanh, swish, linear, leaky_relu"), "\($0)")
        }
    }

    func testTrainRunAndInspectALeakyReluModel() throws {
        let out = dir.appendingPathComponent("leaky.l2z").path
        let train = try CLI.run("l2hmc-train", ["--lattice", "2x2", "--steps", "3", "--chains", "4", "--n-lf", "2", "--hidden-units", "6",
                                                "--activation", "leaky_relu", "--log-every", "3", "-q", "--out", out])
        XCTAssertEqual(train.status, 0, train.stderr)
        let model = try L2ZReader.read(path: out)
        XCTAssertEqual(model.manifest.formatVersion.description, "1.1")
        XCTAssertEqual(try model.model.sampler.network.activation, .leakyRelu)
        XCTAssertTrue(model.manifest.requiredFeatures.contains("leaky_relu"), "\(model.manifest.requiredFeatures)")

        let run = try CLI.run("l2hmc-run", ["--model", out, "--trajectories", "5", "--chains", "4", "-q"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("probe reproduced"), run.stdout)
        let f32 = try CLI.run("l2hmc-run", ["--model", out, "--trajectories", "5", "--chains", "4", "--precision", "float32", "-q"])
        XCTAssertEqual(f32.status, 0, f32.stderr)

        let inspect = try CLI.run("l2hmc-convert", ["inspect", out])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("l2z 1.1") && inspect.stdout.contains("leaky_relu"), inspect.stdout)
    }
}
