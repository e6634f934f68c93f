import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// Training local models: the configuration keys and their validation, checkpoint and resume,
/// export to a valid `.l2z` and loading it back into the trainer.
final class LocalTrainingTests: XCTestCase {
    static func config() -> TrainingConfig {
        var c = TrainingConfig()
        c.lattice = [4, 4]; c.networkKind = .local; c.channels = [4, 3]; c.kernelSize = 3; c.nLF = 2; c.chains = 4; c.tile = 2
        c.steps = 3; c.activation = .tanh; c.layout = .perStep; c.xNetworksPerStep = 2; c.seed = 7
        return c
    }

    func testConfigurationBuildsALocalSamplerWithTheDesignsArrays() throws {
        let c = Self.config()
        let spec = c.samplerSpec()
        XCTAssertEqual(spec.network.kind, .local(LocalNetworkSpec(kernelSize: 3, maskRule: .checkerboard)))
        XCTAssertEqual(spec.network.hiddenUnits, [4, 3])
        let model = try TrainerModel(spec: spec, eps: 0.1, seed: 1)
        // The array table of the format (ModelFormat's walk) names exactly the trainer's parameters.
        var expected = SamplerRules.expectedArrays(spec, probe: nil).keys.sorted()
        expected.removeAll { $0 == "eps_x" || $0 == "eps_v" }
        let names = model.params.slices.map(\.name).filter { !$0.hasPrefix("log_eps") }
        XCTAssertEqual(names.sorted(), expected)
        // Glorot over k^2 C_in and k^2 C_out: every conv0 kernel entry within sqrt(6 / (9 (8 + 4))).
        let limit = (6.0 / Double(9 * (8 + 4))).squareRoot()
        let k0 = model.params["vnet.0.conv0.kernel"]
        XCTAssertTrue(k0.allSatisfy { abs($0) <= limit } && k0.contains { abs($0) > limit / 2 })
        // Small heads: 0.1 times Glorot over C_L and 2.
        XCTAssertTrue(model.params["xnet_first.1.scale.kernel"].allSatisfy { abs($0) <= 0.1 * (6.0 / 5.0).squareRoot() })
        XCTAssertTrue(model.params["vnet.1.scale.coeff"].allSatisfy { $0 == 0 })
    }

    func testInvalidLocalConfigurationsAreRefusedNamingTheKey() {
        let cases: [(String, (inout TrainingConfig) -> Void, String)] = [
            ("local on a mixture", { $0.target = .gmm; $0.networkKind = .local }, "network_kind: must be dense for a mixture"),
            ("even kernel", { $0.kernelSize = 4 }, "kernel_size: must be odd and in 1...15"),
            ("kernel 0", { $0.kernelSize = 0 }, "kernel_size: must be odd"),
            ("kernel 17", { $0.kernelSize = 17 }, "kernel_size: must be odd and in 1...15"),
            ("no channels", { $0.channels = [] }, "channels: must be a non-empty list"),
            ("zero channels", { $0.channels = [4, 0] }, "channels: must be a non-empty list"),
            ("huge channels", { $0.channels = [5000] }, "channels: at most 64 layers of at most 4096 channels"),
        ]
        for (label, change, message) in cases {
            var c = Self.config()
            change(&c)
            XCTAssertThrowsError(try L2HMCTrainer(config: c), label) {
                XCTAssertTrue("\($0)".hasPrefix("[train.invalid_config] \(message)"), "\(label): \($0)")
            }
        }
        var flags = TrainingConfig()
        XCTAssertThrowsError(try flags.set("network_kind", text: "conv")) { XCTAssertTrue("\($0)".contains("network_kind: must be one of dense, local"), "\($0)") }
    }

    /// Train a step, checkpoint, resume, train on both: bit-identical (the determinism
    /// contract); the export is a valid `.l2z` (format 1.2, feature local_network, no masks,
    /// only the trajectory probe) that loads back into the trainer with the same parameters and
    /// reproduces its own probe.
    func testCheckpointResumeExportAndReload() throws {
        let config = Self.config()
        let trainer = try L2HMCTrainer(config: config)
        trainer.trainStep()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("local-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.write(trainer, to: path)
        let resumed = try Checkpoint.read(path)
        XCTAssertEqual(resumed.model, trainer.model)
        XCTAssertEqual(resumed.step, 1)
        for _ in 0..<2 {
            let a = trainer.trainStep(), b = resumed.trainStep()
            XCTAssertEqual(a.loss, b.loss)
        }
        XCTAssertEqual(resumed.model.params, trainer.model.params, "resume continues bit for bit")
        XCTAssertEqual(resumed.chainStates, trainer.chainStates)

        let exported = try ModelExporter.export(resumed.model, provenance: Provenance(producer: "test", producerVersion: "0"))
        let read = try L2ZReader.read(bytes: try L2ZWriter.encode(exported))
        let back = read.model
        XCTAssertNil(back.arrays["masks"], "a local model's masks are a rule")
        XCTAssertTrue(read.manifest.requiredFeatures.contains("local_network"))
        XCTAssertEqual(read.manifest.formatVersion, FormatVersion(major: 1, minor: 2))
        XCTAssertEqual(try back.sampler, resumed.model.spec)
        XCTAssertEqual(back.probe?.networks, [])
        XCTAssertEqual(back.probe?.trajectory, true)
        XCTAssertEqual(try back.doubles("xnet_second.1.conv1.kernel"), Array(resumed.model.params["xnet_second.1.conv1.kernel"]))
        XCTAssertEqual(back.arrays["vnet.0.conv0.kernel"]?.shape, [3, 3, 8, 4])

        let reloaded = try TrainerModel(l2z: back)
        XCTAssertEqual(reloaded.masks, resumed.model.masks)
        XCTAssertEqual(reloaded.params.slices.map(\.name), resumed.model.params.slices.map(\.name))
        for slice in reloaded.params.slices {
            let a = Array(reloaded.params[slice.name]), b = Array(resumed.model.params[slice.name])
            // log(exp(log eps)) differs from log eps by rounding only.
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-15 * max(1, abs(y)), slice.name) }
        }
        // The reloaded model recomputes the probe trajectory the exporter wrote.
        let x0 = try back.doubles(ProbeArrayNames.Trajectory.x0), v0 = try back.doubles(ProbeArrayNames.Trajectory.v0)
        let x1 = try back.doubles(ProbeArrayNames.Trajectory.x1), direction = try back.doubles(ProbeArrayNames.Trajectory.direction)
        let n = try back.sampler.stateSize
        for (r, d) in direction.enumerated() {
            let t = TrainerRecompute.trajectory(reloaded, x0: Array(x0[(r * n)..<((r + 1) * n)]), v0: Array(v0[(r * n)..<((r + 1) * n)]),
                                                rows: 1, forward: d > 0, scale: 4)
            for i in 0..<n { XCTAssertEqual(wrapAngle(t.x[i] - x1[r * n + i]), 0, accuracy: 1e-12, "probe row \(r) x[\(i)]") }
            XCTAssertEqual(t.subUpdates.first?.xIn.count, 16 * 8, "local network inputs: sites x 8 features")
        }
    }

    /// A local model runs at another lattice size with the same parameters: the masks are the
    /// rule there, the trajectory is reversible, and a dense model refuses.
    func testResizedModelRunsAtAnotherLattice() throws {
        let trainer = try L2HMCTrainer(config: Self.config())
        trainer.trainStep()
        let big = try trainer.model.resized(lt: 6, lx: 5)
        XCTAssertEqual(big.spec.stateSize, 60)
        XCTAssertEqual(big.params, trainer.model.params)
        XCTAssertEqual(big.masks, try TrainerModel.ruleMasks(big.spec))
        let rows = 2, n = 60
        let x0 = TrainerFixtures.angles(rows, n, seed: 3).data, v0 = TrainerFixtures.normals(rows, n, seed: 4).data
        let there = TrainerRecompute.trajectory(big, x0: x0, v0: v0, rows: rows, forward: true, scale: 4)
        let back = TrainerRecompute.trajectory(big, x0: there.x, v0: there.v, rows: rows, forward: false, scale: 4)
        for i in 0..<(rows * n) { XCTAssertEqual(wrapAngle(back.x[i] - x0[i]), 0, accuracy: 1e-12) }
        var dense = Self.config()
        dense.networkKind = .dense; dense.hiddenUnits = [4]
        XCTAssertThrowsError(try L2HMCTrainer(config: dense).model.resized(lt: 6, lx: 5)) { XCTAssertTrue("\($0)".contains("train.unsupported"), "\($0)") }
    }

    /// A checkpoint whose masks are not the local network's rule is refused.
    func testCheckpointWithOtherMasksIsRefused() throws {
        let trainer = try L2HMCTrainer(config: Self.config())
        var masks = trainer.model.masks
        masks[0][0] = 1 - masks[0][0]
        trainer.model = TrainerModel(spec: trainer.model.spec, masks: masks, params: trainer.model.params)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("local-bad-\(UUID().uuidString).h5").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.write(trainer, to: path)
        XCTAssertThrowsError(try Checkpoint.read(path)) { XCTAssertTrue("\($0)".contains("[checkpoint.inconsistent]"), "\($0)") }
    }
}

/// The example configuration of docs/TRAINING.md ("Local networks") is a valid local
/// configuration.
final class LocalTrainingDocsTests: XCTestCase {
    func testTheDocumentedExampleConfigurationIsValid() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/TRAINING.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let section = try XCTUnwrap(text.range(of: "## Local networks"))
        let start = try XCTUnwrap(text.range(of: "```json\n", range: section.upperBound..<text.endIndex))
        let end = try XCTUnwrap(text.range(of: "```", range: start.upperBound..<text.endIndex))
        let config = try TrainingConfig(jsonBytes: Array(text[start.upperBound..<end.lowerBound].utf8))
        XCTAssertNoThrow(try config.validate())
        XCTAssertEqual(config.networkKind, .local)
        XCTAssertEqual(config.samplerSpec().network.kind.local?.kernelSize, config.kernelSize)
    }
}
