import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// R processes simulated by R threads in this process: the collectives of ``RunProcessGroup``
/// over shared memory, with the same semantics as the tool's MPI group (every member calls
/// every collective in the same order).
final class LoopbackGroup: RunProcessGroup {
    final class Hub {
        let size: Int
        let condition = NSCondition()
        var slots: [[UInt8]]
        var arrived = 0, generation = 0
        var results: [[UInt8]] = []
        init(size: Int) { self.size = size; slots = Array(repeating: [], count: size) }

        /// Every member's bytes, in rank order, once all have arrived.
        func exchange(rank: Int, _ bytes: [UInt8]) -> [[UInt8]] {
            condition.lock(); defer { condition.unlock() }
            let mine = generation
            slots[rank] = bytes
            arrived += 1
            if arrived == size {
                results = slots; arrived = 0; generation += 1
                condition.broadcast()
            } else {
                while generation == mine { condition.wait() }
            }
            return results
        }
    }
    let hub: Hub, rank: Int
    var size: Int { hub.size }
    init(hub: Hub, rank: Int) { self.hub = hub; self.rank = rank }
    func gather(_ bytes: [UInt8]) throws -> [[UInt8]]? { let all = hub.exchange(rank: rank, bytes); return rank == 0 ? all : nil }
    func broadcast(_ bytes: [UInt8]) throws -> [UInt8] { hub.exchange(rank: rank, bytes)[0] }

    /// Runs `body(group)` for ranks 0..<size, each on its own thread (all must run at once:
    /// a collective waits for every member); returns each rank's result.
    static func run<T>(size: Int, _ body: @escaping (LoopbackGroup) throws -> T) throws -> [T] {
        let hub = Hub(size: size)
        var results = [Result<T, Error>?](repeating: nil, count: size)
        let lock = NSLock(), finished = DispatchGroup()
        for r in 0..<size {
            finished.enter()
            Thread {
                let result = Result { try body(LoopbackGroup(hub: hub, rank: r)) }
                lock.lock(); results[r] = result; lock.unlock()
                finished.leave()
            }.start()
        }
        finished.wait()
        return try results.map { try XCTUnwrap($0).get() }
    }
}

/// A run shared by R processes records, on its root, exactly what one process records, and a
/// run continued with another process count continues exactly.
final class ProcessGroupEngineTests: XCTestCase {
    private let spec = SamplerSpec(
        target: .u1(U1Lattice(lt: 4, lx: 4, beta: 2)),
        dynamics: Dynamics(nLF: 2, xUpdate: .ncp),
        network: NetworkSpec(layout: .shared, xNetInput: .cosSinBlocks, vNetInput: .cosSinBlocks, maskPlacement: .beforeTrig,
                             timeInput: true, hiddenUnits: [24, 16]))

    private func settings(trajectories: Int) throws -> RunSettings {
        var s = RunSettings(chains: 36, trajectories: trajectories, seed: 7, schedule: try Schedule(parsing: "l2hmc:2,hmc:1"), hmcStepSize: 0.2, hmcSteps: 3)
        s.tile = 8  // 5 tiles, the last one of 4 chains
        return s
    }

    /// Runs `trajectories` with `size` processes (optionally resumed from `from`); returns the
    /// root's record and all states.
    private func run(size: Int, trajectories: Int, from: (states: [Double], record: RunRecord)? = nil) throws -> (RunRecord, [Double]) {
        let model = try RandomModel.make(sampler: spec, seed: 3, epsX: 0.15, epsV: 0.15, weightScale: 0.3)
        let settings = try settings(trajectories: trajectories)
        let outcomes = try LoopbackGroup.run(size: size) { group -> (RunRecord, [Double]?) in
            let engine = try RunEngine(settings: settings, target: makeTarget(self.spec.target), model: model, threads: 1, group: group)
            if let from { try engine.resume(states: from.states, trajectoryIndex: from.record.count, record: group.isRoot ? from.record : RunRecord()) }
            while !engine.isFinished {
                try engine.step()
                _ = try engine.agree(stop: false, checkpoint: false)
            }
            return (engine.record, try engine.gatheredStates())
        }
        XCTAssertTrue(outcomes.dropFirst().allSatisfy { $0.0.count == 0 && $0.1 == nil }, "only the root keeps the record and the states")
        return (outcomes[0].0, try XCTUnwrap(outcomes[0].1))
    }

    func testEveryProcessCountRecordsTheSingleProcessRun() throws {
        let (one, states) = try run(size: 1, trajectories: 9)
        XCTAssertEqual(one.count, 9)
        for size in [2, 3, 5] {
            let (record, s) = try run(size: size, trajectories: 9)
            XCTAssertEqual(record, one, "\(size) processes")
            XCTAssertEqual(s.map(\.bitPattern), states.map(\.bitPattern), "\(size) processes")
        }
    }

    func testAResumeWithAnotherProcessCountContinuesExactly() throws {
        let (whole, wholeStates) = try run(size: 1, trajectories: 12)
        let (first, states) = try run(size: 2, trajectories: 5)
        let (record, finalStates) = try run(size: 3, trajectories: 12, from: (states, first))
        XCTAssertEqual(record, whole)
        XCTAssertEqual(finalStates.map(\.bitPattern), wholeStates.map(\.bitPattern))
    }

    func testAStopAskedByOneProcessStopsEveryProcessAtTheSameTrajectory() throws {
        let model = try RandomModel.make(sampler: spec, seed: 3, epsX: 0.15, epsV: 0.15, weightScale: 0.3)
        let settings = try settings(trajectories: 50)
        let done = try LoopbackGroup.run(size: 3) { group -> Int in
            let engine = try RunEngine(settings: settings, target: makeTarget(self.spec.target), model: model, group: group)
            while !engine.isFinished {
                try engine.step()
                // Process 2 is "signalled" after its 4th trajectory.
                if try engine.agree(stop: group.rank == 2 && engine.trajectoriesDone >= 4, checkpoint: false).stop { break }
            }
            return engine.trajectoriesDone
        }
        XCTAssertEqual(done, [4, 4, 4])
    }

    /// A process whose only tile is the short last one (13 chains in tiles of 8: rank 1 holds 5
    /// chains starting at chain 8) runs like the others.
    func testAProcessHoldingOnlyTheShortLastTileRuns() throws {
        var settings = try settings(trajectories: 3)
        settings.chains = 13
        let model = try RandomModel.make(sampler: spec, seed: 3, epsX: 0.15, epsV: 0.15, weightScale: 0.3)
        func run(_ size: Int) throws -> RunRecord {
            try LoopbackGroup.run(size: size) { group -> RunRecord in
                let engine = try RunEngine(settings: settings, target: makeTarget(self.spec.target), model: model, group: group)
                while !engine.isFinished { try engine.step(); _ = try engine.agree(stop: false, checkpoint: false) }
                return engine.record
            }[0]
        }
        XCTAssertEqual(try run(2), try run(1))
    }

    func testMoreProcessesThanTilesIsAUsageError() throws {
        let settings = try settings(trajectories: 2)
        let errors = try LoopbackGroup.run(size: 6) { group -> String in
            do { _ = try RunEngine(settings: settings, target: makeTarget(self.spec.target), model: nil, group: group); return "" } catch { return "\(error)" }
        }
        for e in errors { XCTAssertTrue(e.contains("6 processes but only 5 tile(s)"), e) }
    }
}
