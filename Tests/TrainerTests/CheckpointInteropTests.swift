import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// h5py (an independent reader) opens the checkpoint with the layout of docs/CHECKPOINT.md.
/// scripts/setup.sh installs h5py when it is missing.
final class CheckpointInteropTests: XCTestCase {
    func testH5pyReadsTheDocumentedLayout() throws {
        var config = TrainingConfig()
        config.lattice = [2, 2]; config.nLF = 2; config.hiddenUnits = [4]; config.chains = 3; config.steps = 2
        let trainer = try L2HMCTrainer(config: config)
        trainer.trainStep()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.write(trainer, to: path)
        let script = #"""
        import h5py, json, sys
        with h5py.File(sys.argv[1], "r") as f:
            out = {"format": f.attrs["format"], "step": int(f.attrs["step"]), "config": json.loads(f.attrs["config"]),
                   "sampler": json.loads(f.attrs["sampler"]), "kernel": f["params/vnet.0.x_layer.kernel"][...].ravel().tolist(),
                   "masks": f["masks"][...].tolist(), "chains": list(f["chains"].shape), "adam_t": int(f.attrs["adam_t"])}
        print(json.dumps(out))
        """#
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        let pipe = Pipe(), err = Pipe()
        process.standardOutput = pipe
        process.standardError = err
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "python3 with h5py failed (run scripts/setup.sh): \(stderr)")
        guard case let .object(o) = try StrictJSONParser.parse(Array(data)) else { return XCTFail("not JSON") }
        XCTAssertEqual(o["format"], .string(Checkpoint.format))
        XCTAssertEqual(o["step"], .int(1))
        XCTAssertEqual(o["adam_t"], .int(1))
        XCTAssertEqual(o["chains"], .array([.int(3), .int(8)]))
        XCTAssertEqual(try ManifestCodec.decodeSampler(o["sampler"]!), trainer.model.spec)
        guard case let .array(kernel)? = o["kernel"] else { return XCTFail("kernel") }
        XCTAssertEqual(kernel.map { if case let .double(d) = $0 { return d }; if case let .int(i) = $0 { return Double(i) }; return .nan },
                       Array(trainer.model.params["vnet.0.x_layer.kernel"]), "h5py reads the exact parameter values")
        guard case let .array(masks)? = o["masks"] else { return XCTFail("masks") }
        XCTAssertEqual(masks.count, 2)
    }
}
