import Foundation
import XCTest

/// `l2hmc-convert export` end to end: the file it writes is read by the real safetensors library
/// (numpy side; installed by scripts/setup.sh) with the same keys and values our reader sees,
/// existing outputs are kept without --force, and a model upstream cannot compute is refused with
/// nothing written. With L2HMC_TORCH_PYTHON naming a Python that has torch, the export is also
/// loaded into the PyTorch modules with strict=True and reproduces PyTorch's outputs
/// (fixtures/torch-l2hmc/check_export.py).
final class ExportTorchCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    var fixtures: URL { CLI.repositoryRoot.appendingPathComponent("fixtures/torch-l2hmc") }

    /// Converts shared2022.pt and exports it; returns the export's path.
    func exportShared() throws -> String { try export("shared2022", checkpoint: "shared2022.pt", preset: "torch-2022-12") }

    /// Converts fixture `name` (checkpoint, `NAME-config.yaml`, `NAME-masks.npy`) with `preset`
    /// and exports it to NAME.safetensors; returns the export's path.
    func export(_ name: String, checkpoint: String, preset: String) throws -> String {
        let model = dir.appendingPathComponent("\(name).l2z").path, out = dir.appendingPathComponent("\(name).safetensors").path
        let c = try CLI.run("l2hmc-convert", [fixtures.appendingPathComponent(checkpoint).path, model, "--preset", preset,
                                              "--config", fixtures.appendingPathComponent("\(name)-config.yaml").path,
                                              "--masks", fixtures.appendingPathComponent("\(name)-masks.npy").path])
        XCTAssertEqual(c.status, 0, c.stderr)
        let e = try CLI.run("l2hmc-convert", ["export", model, out])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stdout.contains("wrote"), e.stdout)
        return out
    }

    func testSafetensorsLibraryReadsTheExport() throws {
        let out = try exportShared()
        let script = """
        import sys, json
        from safetensors.numpy import load_file
        from safetensors import safe_open
        t = load_file(sys.argv[1])
        with safe_open(sys.argv[1], "np") as f: meta = f.metadata()
        print(json.dumps({"keys": sorted(t), "xlayer": [repr(float(v)) for v in t["xnet.input_layer.xlayer.weight"].ravel()[:5]],
                          "shape": list(t["xnet.input_layer.xlayer.weight"].shape), "activation": meta["l2hmc.activation"]}))
        """
        let r = try CLI.run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, out])
        XCTAssertEqual(r.status, 0, "the safetensors library (scripts/setup.sh installs it) must read the export: \(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let keys = json?["keys"] as? [String] ?? []
        XCTAssertEqual(keys.count, 54, "24 network tensors x 2 aliases + 3 xeps + 3 veps")
        XCTAssertTrue(keys.contains("networks.vnet.transl.bias") && keys.contains("vnet.transl.bias") && keys.contains("xeps.2"))
        XCTAssertEqual(json?["shape"] as? [Int], [8, 64], "nn.Linear (out, in)")
        XCTAssertEqual(json?["activation"] as? String, "tanh")
        // The first values are the ones torch.save wrote (read by our independent torch reader).
        let inspect = try CLI.run("l2hmc-convert", ["inspect", fixtures.appendingPathComponent("shared2022.pt").path, "--json"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertFalse((json?["xlayer"] as? [String] ?? []).isEmpty)
    }

    func testExistingOutputIsKeptWithoutForceAndUnexportableModelsWriteNothing() throws {
        let out = try exportShared()
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        let model = dir.appendingPathComponent("shared2022.l2z").path
        let again = try CLI.run("l2hmc-convert", ["export", model, out])
        XCTAssertEqual(again.status, 1, again.stderr)
        XCTAssertTrue(again.stderr.hasPrefix("error: ["), again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), before)
        XCTAssertEqual(try CLI.run("l2hmc-convert", ["export", model, out, "--force"]).status, 0)

        let refused = dir.appendingPathComponent("d.safetensors").path
        let r = try CLI.run("l2hmc-convert", ["export", CLI.repositoryRoot.appendingPathComponent("fixtures/default.l2z").path, refused])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("error: [convert.export_unsupported]"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: refused))
        let usage = try CLI.run("l2hmc-convert", ["export", model, dir.appendingPathComponent("x.pt").path])
        XCTAssertEqual(usage.status, 64, usage.stderr)
    }

    /// Opt-in (PyTorch is gigabytes; CI does not install it): L2HMC_TORCH_PYTHON=/path/to/python.
    func testPyTorchLoadsTheExportStrictly() throws {
        guard let python = ProcessInfo.processInfo.environment["L2HMC_TORCH_PYTHON"] else {
            throw XCTSkip("set L2HMC_TORCH_PYTHON to a Python with torch, numpy and safetensors to run the PyTorch strict-load check")
        }
        let out = try exportShared()
        let r = try CLI.run(executable: URL(fileURLWithPath: python), [fixtures.appendingPathComponent("check_export.py").path, out,
                                                                       fixtures.appendingPathComponent("shared2022-outputs.npz").path], cwd: fixtures)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        print(r.stdout)
    }

    /// Opt-in like the test above: the conv2023 fixture (upstream's convolution stack) converted and
    /// exported loads strictly into the PyTorch modules built from the export's metadata (conv
    /// config included) and reproduces PyTorch's recorded outputs to 1e-10.
    func testPyTorchLoadsAConvStackExportStrictly() throws {
        guard let python = ProcessInfo.processInfo.environment["L2HMC_TORCH_PYTHON"] else {
            throw XCTSkip("set L2HMC_TORCH_PYTHON to a Python with torch, numpy and safetensors to run the PyTorch strict-load check")
        }
        let out = try export("conv2023", checkpoint: "conv2023.pt", preset: "torch-2023-06")
        let r = try CLI.run(executable: URL(fileURLWithPath: python), [fixtures.appendingPathComponent("check_export.py").path, out,
                                                                       fixtures.appendingPathComponent("conv2023-outputs.npz").path], cwd: fixtures)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        print(r.stdout)
    }

    /// Opt-in like the test above: float64 models trained by l2hmc-train in every layout
    /// upstream has (per step with split x-networks, per step with one x-network, shared), made
    /// exportable (no time input, leaky_relu), exported and loaded into PyTorch strictly; PyTorch
    /// (float64) must reproduce the model's own probe, computed by the trainer's forward pass
    /// (check_export.py with the .l2z: to 1e-10, the tolerance of the fixture comparison).
    func testPyTorchLoadsTrainedFloat64ExportsOfEveryLayoutStrictly() throws {
        guard let python = ProcessInfo.processInfo.environment["L2HMC_TORCH_PYTHON"] else {
            throw XCTSkip("set L2HMC_TORCH_PYTHON to a Python with torch, numpy and safetensors to run the PyTorch strict-load check")
        }
        for (layout, perStep) in [("per_step", "2"), ("per_step", "1"), ("shared", "1")] {
            let model = dir.appendingPathComponent("t-\(layout)-\(perStep).l2z").path
            let out = dir.appendingPathComponent("t-\(layout)-\(perStep).safetensors").path
            let t = try CLI.run("l2hmc-train", ["train", "--lattice", "4x4", "--nlf", "2", "--hidden-units", "8,8", "--activation", "leaky_relu",
                                                "--layout", layout, "--x-networks-per-step", perStep, "--time-input", "false",
                                                "--steps", "20", "--chains", "16", "--quiet", "--out", model])
            XCTAssertEqual(t.status, 0, t.stderr)
            let e = try CLI.run("l2hmc-convert", ["export", model, out])
            XCTAssertEqual(e.status, 0, e.stderr)
            let r = try CLI.run(executable: URL(fileURLWithPath: python), [fixtures.appendingPathComponent("check_export.py").path, out, model], cwd: fixtures)
            XCTAssertEqual(r.status, 0, "\(layout) x\(perStep): " + r.stdout + r.stderr)
            print("\(layout), \(perStep) x-network(s) per step: \(r.stdout)")
        }
    }
}
