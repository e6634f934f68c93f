import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// The determinism contract of the tiled trainer: parameters, Adam state, chain states, metrics
/// and checkpoint contents are bit-identical for every thread count (1, 2, 3 threads over 4 tiles,
/// the last one short), on U(1) and on a mixture, also across a resume with another thread
/// count. Why it holds (L2HMCTrainer): counter-based random numbers per global chain, fixed
/// tiles with their own GEMM calls and gradient vectors, and the sum over tiles in tile order
/// on one thread.
final class TrainerThreadDeterminismTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("trainer-threads-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// 10 chains in tiles of 3: tiles of 3, 3, 3 and 1 chains; every loss term and the
    /// auxiliary batch on.
    static func u1() -> TrainingConfig {
        var c = TrainingConfig()
        c.lattice = [2, 3]; c.nLF = 2; c.hiddenUnits = [8]; c.chains = 10; c.tile = 3; c.steps = 6; c.layout = .perStep; c.xNetworksPerStep = 2
        c.loss.plaquetteWeight = 0.1; c.loss.chargeWeight = 0.01; c.loss.auxWeight = 0.5; c.learningRateDecaySteps = 2; c.learningRate = 1e-2
        return c
    }

    static func mixture() -> TrainingConfig {
        var c = TrainingConfig()
        c.target = .gmm; c.mixtureMeans = [[-1, 0], [1, 0]]; c.mixtureVariance = 0.2; c.nLF = 3; c.hiddenUnits = [6, 5]
        c.chains = 10; c.tile = 3; c.steps = 6; c.loss.auxWeight = 0.3; c.learningRate = 1e-2; c.seed = 4
        return c
    }

    private struct Outcome: Equatable {
        var params: [Double]
        var adam: Adam
        var chains: [Double]
        var metrics: [[Double]]
    }

    private func train(_ config: TrainingConfig, threads: Int, steps: Int, from trainer: L2HMCTrainer? = nil) throws -> (L2HMCTrainer, [[Double]]) {
        let t = try trainer ?? L2HMCTrainer(config: config)
        t.threads = threads
        var rows: [[Double]] = []
        for _ in 0..<steps {
            let m = t.trainStep()
            rows.append([Double(m.step), m.scale, m.learningRate, m.loss, m.acceptance, m.esjd, m.tunneling, m.gradientNorm, m.epsX, m.epsV])
        }
        return (t, rows)
    }

    private func outcome(_ t: L2HMCTrainer, _ metrics: [[Double]]) -> Outcome {
        Outcome(params: t.model.params.values, adam: t.adam, chains: t.chainStates, metrics: metrics)
    }

    func testEveryThreadCountGivesTheSameBitsOnU1AndMixture() throws {
        for (label, config) in [("u1", Self.u1()), ("mixture", Self.mixture())] {
            XCTAssertEqual(config.tiling.count, 4); XCTAssertEqual(config.tiling.rows(3), 9..<10, "the last tile is short")
            let (one, m1) = try train(config, threads: 1, steps: config.steps)
            let reference = outcome(one, m1)
            XCTAssertNotEqual(reference.params, try L2HMCTrainer(config: config).model.params.values, "\(label): training moved the parameters")
            XCTAssertTrue(m1.contains { $0[4] > 0 && $0[4] < 1 }, "\(label): accept/reject took both branches")
            for threads in [2, 3, 4] {
                let (t, m) = try train(config, threads: threads, steps: config.steps)
                XCTAssertEqual(outcome(t, m), reference, "\(label): \(threads) threads differ from 1 thread")
            }
        }
    }

    /// Three steps on 1 thread, a checkpoint, three more on 3 threads: the same bits as six
    /// steps on 2 threads, and the checkpoints written at step 3 by 1 and by 3 threads hold the
    /// same bits.
    func testResumeWithAnotherThreadCountContinuesBitForBit() throws {
        for (label, config) in [("u1", Self.u1()), ("mixture", Self.mixture())] {
            let (whole, mw) = try train(config, threads: 2, steps: 6)
            let (first, m1) = try train(config, threads: 1, steps: 3)
            let (other, _) = try train(config, threads: 3, steps: 3)
            let a = dir.appendingPathComponent("\(label)-1.h5").path, b = dir.appendingPathComponent("\(label)-3.h5").path
            try Checkpoint.write(first, to: a)
            try Checkpoint.write(other, to: b)
            // Compared by contents: HDF5 stores object modification times in the file.
            let restored = try Checkpoint.read(a), fromThree = try Checkpoint.read(b)
            XCTAssertEqual(restored.model, fromThree.model, "\(label): checkpointed parameters")
            XCTAssertEqual(restored.adam, fromThree.adam); XCTAssertEqual(restored.chainStates, fromThree.chainStates)
            XCTAssertEqual(restored.config, fromThree.config)
            let (resumed, m2) = try train(config, threads: 3, steps: 3, from: restored)
            XCTAssertEqual(outcome(resumed, m1 + m2), outcome(whole, mw), "\(label): resumed on 3 threads differs from 2 threads throughout")
        }
    }

    /// The split into tiles is exact algebra: the loss is a sum over chains with weight
    /// 1/chains, so the tiles' gradients add up to the whole batch's gradient up to rounding.
    /// Bound: the sums differ only in the order of additions of ~1e2 terms of size <= max|g|,
    /// so 1e-13 max|g| (about 500 ulps of the largest element) is generous, while an error in the
    /// per-tile weights (1/tile instead of 1/chains) or a missing tile moves elements by O(max|g|).
    func testTilesAddUpToTheWholeBatchGradient() throws {
        for (label, config) in [("u1", Self.u1()), ("mixture", Self.mixture())] {
            var whole = config
            whole.tile = config.chains
            let a = try L2HMCTrainer(config: config), b = try L2HMCTrainer(config: whole)
            XCTAssertEqual(a.chainStates, b.chainStates, "\(label): the initial states do not depend on the tiling")
            let tiles = a.computeTiles(Array(0..<4), step: 0, scale: 1.3)
            var sum = [Double](repeating: 0, count: tiles[0].gradient.count)
            for t in tiles { for i in 0..<sum.count { sum[i] += t.gradient[i] } }
            let single = b.computeTiles([0], step: 0, scale: 1.3)[0]
            let scale = single.gradient.map(abs).max() ?? 0
            XCTAssertGreaterThan(scale, 0)
            for i in 0..<sum.count { XCTAssertEqual(sum[i], single.gradient[i], accuracy: 1e-13 * scale, "\(label): gradient[\(i)]") }
            // The proposals differ only by GEMM rounding (a row's result depends on the rows of its call).
            for (x, y) in zip(tiles.flatMap(\.chains), single.chains) { XCTAssertEqual(x, y, accuracy: 1e-12, "\(label): accept/reject per chain") }
            XCTAssertEqual(tiles.reduce(0) { $0 + $1.acceptanceSum }, single.acceptanceSum, accuracy: 1e-13 * Double(config.chains))
        }
    }
}
