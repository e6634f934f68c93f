import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// Flow training settings as strict JSON, and the flow checkpoint: a run interrupted and
/// resumed from its checkpoint gives exactly the numbers of an uninterrupted one.
final class FlowCheckpointTests: XCTestCase {
    static func smallSettings() -> FlowTrainer.Settings {
        var s = FlowTrainer.Settings()
        s.lt = 4; s.lx = 4; s.batch = 8; s.steps = 6; s.learningRate = 5e-3; s.seed = 9; s.betaInit = 1; s.betaFinal = 2
        s.architecture = FlowArchitecture(layers: 4, hiddenChannels: [4], kernelSize: 3, nMix: 2, activation: .swish)
        return s
    }

    func scratch(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flowckpt-\(getpid())-\(name)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent("run.ckpt.h5").path
    }

    func testSettingsJSONRoundTripAndRefusals() throws {
        var s = Self.smallSettings()
        s.clipNorm = 5; s.initScale = 0.5; s.hmcStepSize = 0.25; s.hmcNLF = 7; s.checkpointEvery = 3; s.logEvery = 2
        let bytes = try CanonicalJSONWriter.encode(s.json())
        XCTAssertEqual(try FlowTrainer.Settings(jsonBytes: bytes), s)
        let text = #"{"layers": 8, "hidden_channels": [8, 8], "lattice": [8, 12], "beta_init": 2, "activation": "leaky_relu"}"#
        let t = try FlowTrainer.Settings(jsonBytes: Array(text.utf8))
        XCTAssertEqual(t.architecture.layers, 8); XCTAssertEqual(t.lt, 8); XCTAssertEqual(t.lx, 12); XCTAssertEqual(t.betaInit, 2)
        func refused(_ json: String, key: String) {
            XCTAssertThrowsError(try { let s = try FlowTrainer.Settings(jsonBytes: Array(json.utf8)); try s.validate() }()) {
                XCTAssertEqual(($0 as? TrainingConfig.Invalid)?.key, key, json)
            }
        }
        refused(#"{"layer": 8}"#, key: "layer")
        refused(#"{"lattice": [6, 8]}"#, key: "lattice")
        refused(#"{"lattice": [8]}"#, key: "lattice")
        refused(#"{"kernel_size": 4}"#, key: "kernel_size")
        refused(#"{"n_mix": 0}"#, key: "n_mix")
        refused(#"{"activation": "gelu"}"#, key: "activation")
        refused(#"{"batch": 1.5}"#, key: "batch")
        refused(#"{"learning_rate": -1}"#, key: "learning_rate")
        refused(#"[1]"#, key: "(file)")
    }

    func testResumeFromTheCheckpointIsBitIdentical() throws {
        let s = Self.smallSettings()
        let straight = try FlowTrainer(settings: s)
        var straightLosses: [Double] = []
        for _ in 0..<6 { straightLosses.append(straight.trainStep().loss) }

        let path = scratch("resume")
        let first = try FlowTrainer(settings: s)
        var losses: [Double] = []
        for _ in 0..<3 { losses.append(first.trainStep().loss) }
        try FlowCheckpoint.write(first, to: path, replaceExisting: false)
        XCTAssertTrue(FlowCheckpoint.isCheckpoint(path))
        XCTAssertFalse(Checkpoint.isCheckpoint(path))
        let resumed = try FlowCheckpoint.read(path)
        XCTAssertEqual(resumed.step, 3)
        XCTAssertEqual(resumed.settings, s)
        XCTAssertEqual(resumed.flow.params, first.flow.params)
        XCTAssertEqual(resumed.adam, first.adam)
        while resumed.step < 6 { losses.append(resumed.trainStep().loss) }
        XCTAssertEqual(losses, straightLosses)
        XCTAssertEqual(resumed.flow.params, straight.flow.params)
        XCTAssertEqual(resumed.adam, straight.adam)
        // Exported models are the same bytes.
        let prov = Provenance(producer: "l2hmc-train", producerVersion: "0", source: "test")
        XCTAssertEqual(try L2ZWriter.encode(resumed.export(provenance: prov)), try L2ZWriter.encode(straight.export(provenance: prov)))

        // --steps may extend the run, never shorten it.
        XCTAssertEqual(try FlowCheckpoint.read(path, steps: 10).settings.steps, 10)
        XCTAssertThrowsError(try FlowCheckpoint.read(path, steps: 4)) { XCTAssertEqual(($0 as? TrainingConfig.Invalid)?.key, "steps") }
        XCTAssertThrowsError(try FlowCheckpoint.read(path + ".missing")) { XCTAssertEqual(($0 as? Checkpoint.Failure)?.code, "checkpoint.not_a_file") }
    }

    /// An L2HMC checkpoint is not a flow checkpoint (and is refused with a coded failure).
    func testAnL2HMCCheckpointIsRefused() throws {
        var c = TrainingConfig()
        c.lattice = [2, 2]; c.chains = 2; c.tile = 2; c.steps = 1; c.nLF = 1; c.hiddenUnits = [2]; c.betaInit = 1; c.betaFinal = 1
        let path = scratch("l2hmc")
        try Checkpoint.write(try L2HMCTrainer(config: c), to: path)
        XCTAssertFalse(FlowCheckpoint.isCheckpoint(path))
        XCTAssertThrowsError(try FlowCheckpoint.read(path)) { XCTAssertEqual(($0 as? Checkpoint.Failure)?.code, "checkpoint.invalid") }
    }
}
