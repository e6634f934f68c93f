import Foundation
import XCTest
import ModelFormat
import HDF5Kit
@testable import Trainer

final class TrainerBehaviourTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static func smallU1() -> TrainingConfig {
        var c = TrainingConfig()
        c.lattice = [2, 3]; c.nLF = 2; c.hiddenUnits = [8]; c.chains = 6; c.steps = 6; c.layout = .perStep; c.xNetworksPerStep = 2
        c.loss.plaquetteWeight = 0.1; c.loss.chargeWeight = 0.01; c.loss.auxWeight = 0.5; c.learningRateDecaySteps = 2
        return c
    }

    /// The trainer's forward pass is reversible: backward(forward(x, v)) = (x, v), log-dets cancel.
    func testTrainerTrajectoryIsReversible() throws {
        for spec in [TrainerFixtures.u1(layout: .perStep, xNets: 2), TrainerFixtures.u1(xUpdate: .linear), TrainerFixtures.mixture()] {
            let model = try TrainerFixtures.model(spec)
            let dyn = model.dynamics()
            let n = spec.stateSize
            let x0 = TrainerFixtures.normals(4, n, seed: 1, scale: spec.target.isCompact ? 1.5 : 1)
            let x0w = spec.target.isCompact ? Matrix(rows: 4, cols: n, data: x0.data.map(wrapAngle)) : x0
            let v0 = TrainerFixtures.normals(4, n, seed: 2, scale: 2)
            for forward in [true, false] {
                let a = dyn.run(x0: x0w, v0: v0, forward: forward, params: model.params, scale: 1.5, weights: spec.netWeights)
                let b = dyn.run(x0: a.x, v0: a.v, forward: !forward, params: model.params, scale: 1.5, weights: spec.netWeights)
                for i in 0..<x0w.data.count {
                    let dx = spec.target.isCompact ? wrapAngle(b.x.data[i] - x0w.data[i]) : b.x.data[i] - x0w.data[i]
                    XCTAssertLessThan(abs(dx), 1e-12); XCTAssertLessThan(abs(b.v.data[i] - v0.data[i]), 1e-12)
                }
                for r in 0..<4 { XCTAssertLessThan(abs(a.logDet[r] + b.logDet[r]), 1e-12) }
                XCTAssertTrue(a.logDet.contains { abs($0) > 1e-3 })
            }
        }
    }

    func testCheckpointRoundTripIsBitIdenticalAndResumeEqualsUninterrupted() throws {
        let config = Self.smallU1()
        let whole = try L2HMCTrainer(config: config)
        for _ in 0..<6 { whole.trainStep() }

        let first = try L2HMCTrainer(config: config)
        for _ in 0..<3 { first.trainStep() }
        let path = dir.appendingPathComponent("c.ckpt.h5").path
        try Checkpoint.write(first, to: path)
        let restored = try Checkpoint.read(path)
        XCTAssertEqual(restored.model, first.model, "parameters, masks and description restore bit for bit")
        XCTAssertEqual(restored.adam, first.adam, "optimizer state restores bit for bit")
        XCTAssertEqual(restored.step, 3)
        XCTAssertEqual(restored.chainStates, first.chainStates)
        XCTAssertEqual(restored.config, config)
        for _ in 0..<3 { restored.trainStep() }
        XCTAssertEqual(restored.model.params.values, whole.model.params.values, "resumed training differs from uninterrupted training")
        XCTAssertEqual(restored.adam, whole.adam)
        XCTAssertEqual(restored.chainStates, whole.chainStates)

        // The checkpoint is plain HDF5 with the documented layout.
        let f = try HDF5File.open(path)
        XCTAssertEqual(try f.readAttribute("/", "format"), .string(Checkpoint.format))
        XCTAssertEqual(try f.readAttribute("/", "rng_state"), .string("counter:philox4x32-10"))
        XCTAssertEqual(try f.readDataset("/params/vnet.1.scale.kernel").shape, [8, 12])
        XCTAssertEqual(try f.readDataset("/masks").shape, [2, 12])
        try f.close()
    }

    /// A short run on a mixture with overlapping modes lowers the loss and raises the ESJD.
    func testShortTrainingLowersLossAndRaisesESJD() throws {
        var c = TrainingConfig()
        c.target = .gmm; c.mixtureMeans = [[-1, 0], [1, 0]]; c.mixtureVariance = 0.2; c.temperatureInit = 1; c.temperatureFinal = 1
        c.nLF = 3; c.hiddenUnits = [16, 16]; c.chains = 32; c.steps = 120; c.learningRate = 3e-3; c.epsInit = 0.05; c.seed = 5
        let trainer = try L2HMCTrainer(config: c)
        var metrics: [L2HMCTrainer.Metrics] = []
        for _ in 0..<c.steps { metrics.append(trainer.trainStep()) }
        func mean(_ s: ArraySlice<L2HMCTrainer.Metrics>, _ k: KeyPath<L2HMCTrainer.Metrics, Double>) -> Double { s.reduce(0) { $0 + $1[keyPath: k] } / Double(s.count) }
        let early = metrics.prefix(20), late = metrics.suffix(20)
        XCTAssertLessThan(mean(late, \.loss), mean(early, \.loss), "loss must go down")
        XCTAssertGreaterThan(mean(late, \.esjd), 1.5 * mean(early, \.esjd), "ESJD must go up")
    }

    func testBadConfigurationsFailBeforeTraining() throws {
        let cases: [(String, String, String)] = [
            ("n_lf", "0", "n_lf: must be >= 1"),
            ("eps_init", "-0.1", "eps_init: must be > 0"),
            ("beta_final", "1", "beta_final: must be >= beta_init"),
            ("hidden_units", "[]", "hidden_units"),
            ("lattice", "3", "lattice"),
            ("x_networks_per_step", "3", "x_networks_per_step"),
            ("activation", "gelu", "activation: must be one of"),
        ]
        for (key, value, message) in cases {
            var c = TrainingConfig()
            do {
                try c.set(key, text: value)
                _ = try L2HMCTrainer(config: c)
                XCTFail("\(key)=\(value) must be refused")
            } catch {
                XCTAssertTrue("\(error)".contains(message), "\(key)=\(value): \(error)")
            }
        }
        XCTAssertThrowsError(try TrainingConfig(jsonBytes: Array(#"{"n_lf": 2, "nlf": 3}"#.utf8))) { XCTAssertTrue("\($0)".contains("nlf: unknown key"), "\($0)") }
        XCTAssertThrowsError(try TrainingConfig(jsonBytes: Array(#"{"n_lf": 2, "n_lf": 3}"#.utf8))) { XCTAssertTrue("\($0)".contains("duplicate"), "\($0)") }
        var linear = TrainingConfig()
        linear.xUpdate = .linear
        XCTAssertThrowsError(try L2HMCTrainer(config: linear)) { XCTAssertTrue("\($0)".contains("x_scale false"), "\($0)") }
    }

    func testExportedModelIsAValidL2ZWithTheTrainersProbe() throws {
        var config = Self.smallU1()
        config.steps = 2
        let trainer = try L2HMCTrainer(config: config)
        trainer.trainStep(); trainer.trainStep()
        let model = try ModelExporter.export(trainer.model, provenance: Provenance(producer: "test", producerVersion: "0"))
        let back = try L2ZReader.read(bytes: try L2ZWriter.encode(model)).model
        XCTAssertEqual(back.probe?.networks.count, 6, "two steps x (vnet, xnet_first, xnet_second)")
        XCTAssertEqual(try back.doubles("eps_x"), trainer.model.params["log_eps_x"].map { exp($0) })
        XCTAssertEqual(try back.doubles("vnet.0.x_layer.kernel"), Array(trainer.model.params["vnet.0.x_layer.kernel"]))
    }
}
