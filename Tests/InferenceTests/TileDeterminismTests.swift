import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// The same seed and tile give bit-identical runs for every thread count and every split of the
/// tiles over processes.
///
/// Why it is needed: an OpenBLAS GEMM's rounding for a row depends on which rows share the call
/// (measured with Debian's 0.3.21 on its Cooperlake, Haswell, SkylakeX, Zen and Prescott
/// kernels: m-tail kernels and row positions inside a micro-tile differ), so a chain's numbers
/// are reproducible only if it always shares its calls with the same chains. ChainSampler makes
/// every batched call per tile; these tests vary everything else.
final class TileDeterminismTests: XCTestCase {
    /// Bits of every recorded value of `kinds` trajectories, then the final states.
    private func record(_ sampler: ChainSampler, kinds: [Schedule.Kind]) -> [UInt64] {
        sampler.randomizeStart()
        var bits: [UInt64] = []
        for kind in kinds {
            let o = sampler.step(kind: kind)
            bits += (o.acceptProbability + o.energyChange + o.logDet + o.energyBefore).map(\.bitPattern)
            bits += o.accepted.map { $0 ? 1 : 0 }
        }
        return bits + sampler.x.array.map(\.bitPattern)
    }

    /// (spec, label, compression): a W1-like U(1) sampler (time input, cos/sin, NCP, units wide
    /// enough for OpenBLAS's blocked path) and a per-step mixture sampler with two x-networks.
    private func samplers() throws -> [(SamplerSpec, String, L2HMCDynamics.CompressionTarget?)] {
        let u1 = SamplerSpec(
            target: .u1(U1Lattice(lt: 6, lx: 6, beta: 2)),
            dynamics: Dynamics(nLF: 3, xUpdate: .ncp),
            network: NetworkSpec(layout: .shared, xNetInput: .cosSinBlocks, vNetInput: .cosSinBlocks, maskPlacement: .beforeTrig,
                                 timeInput: true, hiddenUnits: [160, 96]))
        return [(u1, "u1", nil), (u1, "u1 rank 5", .rank(5)), (Fixtures.mixtureSampler(), "mixture", nil)]
    }

    func testEveryThreadCountGivesTheSameBits() throws {
        let chains = 40, tile = 8  // 5 tiles: 2 and 3 threads split them unevenly
        for (spec, label, compression) in try samplers() {
            let model = try RandomModel.make(sampler: spec, seed: 3, epsX: 0.1, epsV: 0.1, weightScale: 0.3)
            func run(threads: Int) throws -> [UInt64] {
                let target = makeTarget(spec.target)
                let dyn = try L2HMCDynamics(model: model, target: target, capacity: tile)
                if let compression { try dyn.compress(compression) }
                let hmc = LeapfrogDynamics(target: target, stepSize: 0.2, stepCount: 4, capacity: tile)
                let sampler = try ChainSampler(target: target, l2hmc: dyn, hmc: hmc, chains: chains, seed: 11, tile: tile, threads: threads)
                XCTAssertEqual(sampler.threads, threads)
                return record(sampler, kinds: [.l2hmc, .hmc, .l2hmc, .l2hmc])
            }
            let one = try run(threads: 1)
            XCTAssertTrue(one.contains { $0 != 0 })
            for threads in [2, 3, 5] {
                let other = try run(threads: threads)
                let differing = zip(one, other).filter { $0 != $1 }.count
                XCTAssertEqual(other.count, one.count)
                XCTAssertEqual(differing, 0, "\(label): \(differing) of \(one.count) values differ between 1 and \(threads) threads")
            }
        }
    }

    /// Two samplers holding tiles [0, 3) and [3, 5) (as two MPI ranks would) give, together,
    /// the bits of one sampler holding all five.
    func testSplittingTheTilesOverProcessesGivesTheSameBits() throws {
        let tile = 8
        for (spec, label, _) in try samplers() {
            let model = try RandomModel.make(sampler: spec, seed: 5, epsX: 0.1, epsV: 0.1, weightScale: 0.3)
            func sampler(chains: Int, first: Int) throws -> ChainSampler {
                let target = makeTarget(spec.target)
                let dyn = try L2HMCDynamics(model: model, target: target, capacity: tile)
                return try ChainSampler(target: target, proposals: [dyn], chains: chains, seed: 4, tile: tile, threads: 2, firstChain: first)
            }
            let whole = try sampler(chains: 40, first: 0), low = try sampler(chains: 24, first: 0), high = try sampler(chains: 16, first: 24)
            for s in [whole, low, high] { s.randomizeStart() }
            for _ in 0..<3 {
                let w = whole.step(kind: .l2hmc), a = low.step(kind: .l2hmc), b = high.step(kind: .l2hmc)
                XCTAssertEqual(w.energyChange.map(\.bitPattern), (a.energyChange + b.energyChange).map(\.bitPattern), label)
                XCTAssertEqual(w.logDet.map(\.bitPattern), (a.logDet + b.logDet).map(\.bitPattern), label)
                XCTAssertEqual(w.accepted, a.accepted + b.accepted, label)
            }
            XCTAssertEqual(whole.x.array.map(\.bitPattern), (low.x.array + high.x.array).map(\.bitPattern), label)
        }
    }

    /// One tile of all chains is the single-batch sampler: the same bits as with no tile given.
    func testOneTileIsTheSingleBatchSampler() throws {
        let spec = Fixtures.mixtureSampler()
        let model = try RandomModel.make(sampler: spec, seed: 2, epsX: 0.1, epsV: 0.1, weightScale: 0.3)
        func run(tile: Int?) throws -> [UInt64] {
            let target = makeTarget(spec.target)
            let dyn = try L2HMCDynamics(model: model, target: target, capacity: 24)
            return record(try ChainSampler(target: target, proposals: [dyn], chains: 24, seed: 3, tile: tile), kinds: [.l2hmc, .l2hmc])
        }
        XCTAssertEqual(try run(tile: nil), try run(tile: 24))
        XCTAssertEqual(try run(tile: nil), try run(tile: 1000))
    }

    func testMoreThreadsThanTilesIsAUsageError() throws {
        var settings = RunSettings(chains: 32, trajectories: 2, seed: 1, schedule: Schedule(pattern: [(.hmc, 1)]), hmcStepSize: 0.1, hmcSteps: 2)
        settings.tile = 16
        let target = makeTarget(.u1(U1Lattice(lt: 4, lx: 4, beta: 1)))
        XCTAssertNoThrow(try RunEngine(settings: settings, target: target, model: nil, threads: 2))
        XCTAssertThrowsError(try RunEngine(settings: settings, target: target, model: nil, threads: 3)) { error in
            XCTAssertTrue("\(error)".contains("--threads"), "\(error)")
        }
        XCTAssertThrowsError(try RunEngine(settings: settings, target: target, model: nil, threads: 0))
        settings.tile = 0
        XCTAssertThrowsError(try RunEngine(settings: settings, target: target, model: nil)) { error in
            XCTAssertTrue("\(error)".contains("--tile"), "\(error)")
        }
    }
}
