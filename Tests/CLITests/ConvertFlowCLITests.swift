import Foundation
import ModelFormat
import XCTest

/// `l2hmc-convert` on the PyTorch U(1) flow fixtures, end to end through the child process: the
/// written file is a `flow` model, `--dry-run` prints the facts with their origins, and the
/// refusals exit with their codes and statuses (64 for facts, 1 for data).
final class ConvertFlowCLITests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testConvertsTheTutorialAndFthmcFiles() throws {
        let tutorial = dir.appendingPathComponent("tutorial.l2z").path
        let r = try CLI.run("l2hmc-convert", ["fixtures/torch-flow/tutorial-8x8.pt", tutorial, "--preset", "tutorial-2021"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("torch-flow naming; 64 arrays, probe of 4 rows of z, x, log-det and force"), r.stdout)
        let model = try L2ZReader.read(path: tutorial)
        XCTAssertEqual(model.manifest.architecture.description, "flow v1")
        XCTAssertEqual(try model.model.spec.flow().coupling.angleConvention, .zeroToTwoPi)

        let dry = try CLI.run("l2hmc-convert", ["fixtures/torch-flow/fthmc-4x4.tar", "--dry-run", "--preset", "fthmc", "--lattice", "4x4", "--beta", "3"])
        XCTAssertEqual(dry.status, 0, dry.stderr)
        for line in ["activation        swish                preset fthmc", "lattice           4x4                  --lattice",
                     "hidden_channels   [4, 4]               the file (tensor shapes)", "history", "dry run: nothing written"] {
            XCTAssertTrue(dry.stdout.contains(line), "missing \(line.debugDescription) in\n\(dry.stdout)")
        }
        let inspect = try CLI.run("l2hmc-convert", ["inspect", tutorial])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("layer9.conv2.kernel  float32  [3, 3, 8, 3]"), inspect.stdout)
    }

    func testRefusalsExitWithTheirCodes() throws {
        let out = dir.appendingPathComponent("x.l2z").path
        let cases: [([String], Int32, String)] = [
            (["fixtures/torch-flow/fthmc-4x4.tar", out, "--preset", "fthmc"], 64, "convert.missing_fact"),
            (["fixtures/torch-flow/tutorial-8x8.pt", out, "--preset", "tutorial-2021", "--lattice", "6x6"], 64, "convert.invalid_fact"),
            (["fixtures/torch-flow/tutorial-8x8.pt", out, "--preset", "torch-2023-06"], 64, "convert.conflicting_fact"),
            (["fixtures/torch-flow/tutorial-8x8.pt", out, "--preset", "tutorial-2021", "--angle-convention", "degrees"], 64, "convert.invalid_fact"),
            (["fixtures/torch-l2hmc/shared2022.pt", out, "--preset", "tutorial-2021"], 1, "convert.unrecognized_naming"),
        ]
        for (arguments, status, code) in cases {
            let r = try CLI.run("l2hmc-convert", arguments)
            XCTAssertEqual(r.status, status, "\(arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: [\(code)]"), "\(arguments): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing is written on a refusal")
        }
    }
}
