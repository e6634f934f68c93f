import Foundation
import ModelFormat
import XCTest

/// `l2hmc-convert SRC DST` end to end: our trainer's ckpt.h5 and the committed Keras fixtures.
final class ConvertCheckpointCLITests: XCTestCase {
    static let tf2021 = ["--preset", "tf2-functional-2021", "--lattice", "2x2", "--beta", "1", "--eps", "0.1", "--x-update", "ncp", "--activation", "relu"]

    func testTrainerCheckpointConvertsToTheTrainersModelAndInspects() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trained = dir.appendingPathComponent("X.l2z").path
        let train = try CLI.run("l2hmc-train", ["--target", "gmm", "--steps", "2", "--chains", "4", "--n-lf", "2", "--hidden-units", "4", "--quiet", "--out", trained])
        XCTAssertEqual(train.status, 0, train.stderr)
        let ckpt = dir.appendingPathComponent("X.ckpt.h5").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: ckpt))

        let inspect = try CLI.run("l2hmc-convert", ["inspect", ckpt])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("l2hmc-train checkpoint"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("/params/log_eps_x") && inspect.stdout.contains("eps_x (exp)"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("/chains") && inspect.stdout.contains("ignored"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains(", 0 unmapped"), inspect.stdout)

        let out = dir.appendingPathComponent("converted.l2z").path
        let convert = try CLI.run("l2hmc-convert", [ckpt, out])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        XCTAssertTrue(convert.stdout.hasPrefix("wrote \(out)"), convert.stdout)
        let a = try L2ZReader.read(path: out).model, b = try L2ZReader.read(path: trained).model
        XCTAssertEqual(try a.sampler, try b.sampler)
        XCTAssertEqual(a.arrays.filter { !$0.key.hasPrefix("probe.") }, b.arrays.filter { !$0.key.hasPrefix("probe.") })

        // A convention flag is refused for our own checkpoint (usage error, nothing written).
        let refused = try CLI.run("l2hmc-convert", [ckpt, dir.appendingPathComponent("other.l2z").path, "--lattice", "2x2"])
        XCTAssertEqual(refused.status, 64)
        XCTAssertTrue(refused.stderr.hasPrefix("error: [convert.option_not_accepted] --lattice"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("other.l2z").path))
    }

    func testKerasFixtureConvertsAndTheResultVerifies() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("k.l2z").path
        let r = try CLI.run("l2hmc-convert", ["fixtures/keras/tf2021_keras3.weights.h5", out] + Self.tf2021)
        XCTAssertEqual(r.status, 0, r.stderr)
        let inspect = try CLI.run("l2hmc-convert", ["inspect", out])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains("producer    l2hmc-convert"), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains("inputs      x-net cos_sin_interleaved, mask after_trig, v-net raw, time input on"), inspect.stdout)
        // The stored probe is re-run by the runtime.
        let run = try CLI.run("l2hmc-run", ["--model", out, "--trajectories", "20", "--chains", "4"])
        XCTAssertEqual(run.status, 0, run.stderr)
    }

    func testDryRunPrintsTheMappingAndWritesNothing() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("never.l2z").path
        let r = try CLI.run("l2hmc-convert", ["fixtures/keras/sep2020_tfkeras_weights.h5", out, "--dry-run", "--preset", "tf2-functional-2020",
                                              "--lattice", "2x2", "--beta", "1", "--eps", "0.1", "--x-update", "linear", "--n-lf", "2", "--activation", "relu"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for needle in ["/xnet/xnet/h_layer1/kernel:0", "(folded) xnet.0.h_layer1.kernel", "xnet.0.scale.coeff", "reshaped [1, 8] -> [8]",
                       "translation_sign", "preset tf2-functional-2020", "36 source datasets: 36 mapped", "dry run: nothing written",
                       "x_scale 0 with a linear x update"] {
            XCTAssertTrue(r.stdout.contains(needle), "dry run lacks \(needle):\n\(r.stdout)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testRefusalsAndExitCodes() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.l2z").path
        // A missing fact: usage (64), naming the fact and the flag.
        let missing = try CLI.run("l2hmc-convert", ["fixtures/keras/tf2021_tfkeras_weights.h5", out, "--preset", "tf2-functional-2021", "--lattice", "2x2", "--beta", "1", "--eps", "0.1"])
        XCTAssertEqual(missing.status, 64, missing.stderr)
        XCTAssertTrue(missing.stderr.hasPrefix("error: [convert.missing_fact] missing fact 'x_update'"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("--x-update"), missing.stderr)
        // Not HDF5: bad data (1).
        let text = dir.appendingPathComponent("notes.h5").path
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: text))
        let notHDF5 = try CLI.run("l2hmc-convert", [text, out])
        XCTAssertEqual(notHDF5.status, 1)
        XCTAssertTrue(notHDF5.stderr.hasPrefix("error: [hdf5.not_hdf5]"), notHDF5.stderr)
        // Unmapped datasets: the Keras file is fine but a flag forces the wrong naming.
        let naming = try CLI.run("l2hmc-convert", ["fixtures/keras/tf2021_tfkeras_weights.h5", out, "--naming", "sep2020"] + Self.tf2021)
        XCTAssertEqual(naming.status, 1)
        XCTAssertTrue(naming.stderr.hasPrefix("error: [convert.unmapped_datasets] 54 dataset(s)"), naming.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["notes.h5"], "nothing written")
        // An existing output is kept unless --force.
        try Data("old".utf8).write(to: URL(fileURLWithPath: out))
        let exists = try CLI.run("l2hmc-convert", ["fixtures/keras/tf2021_tfkeras_weights.h5", out] + Self.tf2021)
        XCTAssertEqual(exists.status, 1)
        XCTAssertTrue(exists.stderr.hasPrefix("error: [io.output_exists]"), exists.stderr)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "old")
        // --force replaces only an .l2z: the user's "old" file is refused and kept.
        let foreign = try CLI.run("l2hmc-convert", ["fixtures/keras/tf2021_tfkeras_weights.h5", out, "--force"] + Self.tf2021)
        XCTAssertEqual(foreign.status, 1)
        XCTAssertTrue(foreign.stderr.hasPrefix("error: [io.foreign_output]"), foreign.stderr)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "old")
        try FileManager.default.removeItem(atPath: out)
        XCTAssertEqual(try CLI.run("l2hmc-convert", ["fixtures/keras/tf2021_tfkeras_weights.h5", out] + Self.tf2021).status, 0)
        let forced = try CLI.run("l2hmc-convert", ["fixtures/keras/tf2021_tfkeras_weights.h5", out, "--force"] + Self.tf2021)
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertNoThrow(try L2ZReader.read(path: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["notes.h5", "out.l2z"], "no temporary file left")
        // Without DST (and without --dry-run): usage.
        let noDestination = try CLI.run("l2hmc-convert", ["fixtures/keras/tf2021_tfkeras_weights.h5"] + Self.tf2021)
        XCTAssertEqual(noDestination.status, 64, noDestination.stderr)
    }

    func testInspectKerasFileAndConvertHelp() throws {
        let inspect = try CLI.run("l2hmc-convert", ["inspect", "fixtures/keras/head2022_keras3.keras"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        for needle in ["Keras 3 archive", "naming      tf2021", "model.weights.h5:/layers/functional/layers/dense/vars/0", "vnet.0.x_layer.kernel", "time layer no"] {
            XCTAssertTrue(inspect.stdout.contains(needle), "inspect lacks \(needle):\n\(inspect.stdout)")
        }
        let help = try CLI.run("l2hmc-convert", ["convert", "--help"])
        XCTAssertEqual(help.status, 0)
        for needle in ["--preset", "tf2-functional-2021", "head-2022", "--dry-run", "--allow-unused", "--strict", "--match-by-order", "docs/CONVERT.md"] {
            XCTAssertTrue(help.stdout.contains(needle), "help lacks \(needle)")
        }
    }
}
