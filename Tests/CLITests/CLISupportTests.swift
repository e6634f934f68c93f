import Foundation
import XCTest
import ModelFormat
import Trainer

/// What the three tools share through CLISupport: `--version`, the one-line error policy
/// (exit 1 bad data, 64 usage), `-q`, `--lattice`, one spelling per concept with the old ones
/// as hidden aliases, and the training flags and help made from the trainer's key table.
final class CLISupportTests: XCTestCase {
    private let tools = ["l2hmc-run", "l2hmc-train", "l2hmc-convert"]

    func testEveryToolPrintsTheOnePackageVersion() throws {
        for tool in tools {
            let r = try CLI.run(tool, ["--version"])
            XCTAssertEqual(r.status, 0, "\(tool): \(r.stderr)")
            XCTAssertEqual(r.stdout, ModelFormatInfo.version + "\n", tool)
        }
        XCTAssertEqual(TrainerInfo.version, ModelFormatInfo.version)
    }

    func testEveryFailureIsOneCodedLineWithTheExitStatusOfItsKind() throws {
        let cases: [(String, [String], Int32, String)] = [
            ("l2hmc-run", ["--no-such-option"], 64, "error: "),
            ("l2hmc-train", ["--no-such-option", "1"], 64, "error: [usage] unknown option '--no-such-option'"),
            ("l2hmc-convert", ["inspect", "--no-such-option", "x"], 64, "error: "),
            ("l2hmc-run", ["--model", "/nonexistent/m.l2z", "--trajectories", "2"], 1, "error: [io."),
            ("l2hmc-train", ["--nlf", "0", "--out", "/nonexistent/m.l2z"], 64, "error: [train.invalid_config] n_lf"),
            ("l2hmc-convert", ["inspect", "/nonexistent/m.l2z"], 1, "error: [io."),
            ("l2hmc-run", ["--sampler", "hmc", "--lattice", "8x", "--trajectories", "2"], 64, "error: [usage] --lattice must look like 8x8 (got 8x)"),
            ("l2hmc-convert", ["init-random", "--lattice", "0x4", "-o", "/nonexistent/m.l2z"], 64, "error: [usage] --lattice must look like 8x8 (got 0x4)"),
        ]
        for (tool, args, status, prefix) in cases {
            let r = try CLI.run(tool, args)
            XCTAssertEqual(r.status, status, "\(tool) \(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix(prefix), "\(tool) \(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one line: \(r.stderr)")
        }
    }

    func testQuietMeansTheSameOnEveryTool() throws {
        let run = try CLI.run("l2hmc-run", ["run", "--help"]).stdout
        let train = try CLI.run("l2hmc-train", ["train", "--help"]).stdout
        let line = { (help: String) in help.split(separator: "\n").first { $0.contains("-q, --quiet") }.map(String.init) }
        XCTAssertNotNil(line(run))
        XCTAssertEqual(line(run), line(train))
    }

    /// Every key's flag, meaning, allowed values and default appear in `train --help` (wrapped
    /// lines joined again).
    func testTrainHelpShowsEveryKeyWithMeaningAndDefault() throws {
        let r = try CLI.run("l2hmc-train", ["train", "--help"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let help = r.stdout.split(whereSeparator: { $0 == "\n" || $0 == " " }).joined(separator: " ")
        for key in TrainingConfig.keyTable {
            let entry = "\(key.flag) (\(key.type)): \(key.meaning); \(key.range); default \(TrainingConfig.render(key.defaultValue))"
            XCTAssertTrue(help.contains(entry.split(separator: " ").joined(separator: " ")), "train --help lacks: \(entry)")
        }
        for hidden in ["--n-lf", "--units"] { XCTAssertFalse(help.contains(hidden), "\(hidden) is a hidden alias") }
    }

    /// Every key through its flag at once, against a configuration whose fields are set
    /// directly; the old spelling `--n-lf` gives the same configuration.
    func testEveryConfigFlagSetsItsKey() throws {
        let flags = ["--target", "u1", "--lattice", "4x6", "--beta-init", "1.5", "--beta-final", "3.25", "--mixture-means", "[[1, 2, 3]]",
                     "--mixture-variance", "0.5", "--mixture-weights", "0.25,0.75", "--temperature-init", "7", "--temperature-final", "2",
                     "--nlf", "7", "--eps-init", "0.05", "--network-kind", "local", "--hidden-units", "8,16,4", "--kernel-size", "5", "--channels", "8,4", "--activation", "tanh", "--layout", "per_step",
                     "--x-networks-per-step", "2", "--x-input", "raw", "--mask-placement", "after_trig", "--time-input", "false",
                     "--x-update", "linear", "--translation-sign", "-1", "--x-scale", "false", "--kernel-scale", "0.3", "--chains", "12",
                     "--tile", "5", "--steps", "33", "--seed", "99", "--learning-rate", "0.02", "--learning-rate-decay", "0.5",
                     "--learning-rate-decay-steps", "20", "--clip-norm", "5", "--lambda", "2.5", "--esjd-weight", "0.75",
                     "--plaquette-weight", "0.125", "--lambda-plaquette", "3", "--charge-weight", "0.2", "--lambda-charge", "4",
                     "--acceptance-weight", "0.25", "--aux-weight", "0.6", "--checkpoint-every", "9", "--checkpoint-seconds", "30", "--log-every", "3",
                     "--threads", "3"]
        XCTAssertEqual(flags.count, 2 * TrainingConfig.keyTable.count, "one flag per key")
        var expected = TrainingConfig()
        expected.lattice = [4, 6]; expected.betaInit = 1.5; expected.betaFinal = 3.25; expected.mixtureMeans = [[1, 2, 3]]
        expected.mixtureVariance = 0.5; expected.mixtureWeights = [0.25, 0.75]; expected.temperatureInit = 7; expected.temperatureFinal = 2
        expected.nLF = 7; expected.epsInit = 0.05; expected.networkKind = .local; expected.kernelSize = 5; expected.channels = [8, 4]
        expected.hiddenUnits = [8, 16, 4]; expected.activation = .tanh; expected.layout = .perStep
        expected.xNetworksPerStep = 2; expected.xInput = .raw; expected.maskPlacement = .afterTrig; expected.timeInput = false
        expected.xUpdate = .linear; expected.translationSign = .minus; expected.xScale = false; expected.kernelScale = 0.3; expected.chains = 12
        expected.steps = 33; expected.seed = 99; expected.learningRate = 0.02; expected.learningRateDecay = 0.5
        expected.learningRateDecaySteps = 20; expected.clipNorm = 5; expected.loss.lambda = 2.5; expected.loss.esjdWeight = 0.75
        expected.loss.plaquetteWeight = 0.125; expected.loss.lambdaPlaquette = 3; expected.loss.chargeWeight = 0.2; expected.loss.lambdaCharge = 4
        expected.loss.acceptanceWeight = 0.25; expected.loss.auxWeight = 0.6; expected.checkpointEvery = 9; expected.checkpointSeconds = 30; expected.logEvery = 3
        expected.tile = 5; expected.threads = 3
        let want = String(decoding: try CanonicalJSONWriter.encode(expected.json()), as: UTF8.self)

        let r = try CLI.run("l2hmc-train", ["--show-config"] + flags)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, want)
        let old = try CLI.run("l2hmc-train", ["--show-config"] + flags.map { $0 == "--nlf" ? "--n-lf" : $0 })
        XCTAssertEqual(old.stdout, want, "--n-lf still works")
        let equals = try CLI.run("l2hmc-train", ["--show-config", "--nlf=7"])
        XCTAssertTrue(equals.stdout.contains("\"n_lf\": 7"), equals.stdout)
    }

    /// `init-random`'s old spellings (`--units`, `--n-lf`, `gmm2`) write the same bytes as the
    /// chosen ones (`--hidden-units`, `--nlf`, `gmm`).
    func testOldSpellingsAreHiddenAliases() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.l2z").path, b = dir.appendingPathComponent("b.l2z").path
        XCTAssertEqual(try CLI.run("l2hmc-convert", ["init-random", "--target", "gmm2", "--units", "4", "--n-lf", "3", "-o", a]).status, 0)
        XCTAssertEqual(try CLI.run("l2hmc-convert", ["init-random", "--target", "gmm", "--hidden-units", "4", "--nlf", "3", "-o", b]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)))
        let help = try CLI.run("l2hmc-convert", ["init-random", "--help"]).stdout + (try CLI.run("l2hmc-convert", ["convert", "--help"]).stdout)
        for hidden in ["gmm2", "--units", "--n-lf"] { XCTAssertFalse(help.contains(hidden), "\(hidden) is hidden") }
        XCTAssertTrue(help.contains("--nlf") && help.contains("--hidden-units"))
    }
}
