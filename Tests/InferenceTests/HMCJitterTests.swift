import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// `--hmc-jitter F`: per-trajectory, per-chain step sizes eps (1 + F u) from the counter-based
/// stream; exact (reversible) for each draw; independent of the thread count; and the cure of
/// the resonant mixture example (eps 0.1 x 10 steps on variance 0.1, L / (pi sigma) = 1.007).
final class HMCJitterTests: XCTestCase {
    private static let cov = [[0.1, 0.0], [0.0, 0.1]]
    private static let mixture = GaussianMixture(dimension: 2, weights: [0.5, 0.5], means: [[-2, 0], [2, 0]], covariances: [cov, cov])

    /// The factors lie in [1 - F, 1 + F], average 1 (uniform u: the mean of 20000 has a standard
    /// error F / sqrt(3 x 20000) = 0.0012 for F = 0.3; 0.006 is 5 of those), and are keyed by
    /// (seed, trajectory, chain): another chain, trajectory or seed gives another number.
    func testFactorsAreUniformAndKeyedBySeedTrajectoryAndChain() {
        let random = ChainRandom(seed: 5), f = 0.3
        var sum = 0.0, lo = 2.0, hi = 0.0
        for t in 0..<200 { for c in 0..<100 {
            let s = LeapfrogDynamics.stepFactor(jitter: f, random: random, trajectory: UInt32(t), chain: UInt32(c))
            sum += s; lo = min(lo, s); hi = max(hi, s)
        } }
        XCTAssertEqual(sum / 20000, 1, accuracy: 0.006)
        XCTAssertGreaterThanOrEqual(lo, 1 - f); XCTAssertLessThanOrEqual(hi, 1 + f)
        XCTAssertLessThan(lo, 1 - 0.99 * f, "the range is covered"); XCTAssertGreaterThan(hi, 1 + 0.99 * f)
        let a = LeapfrogDynamics.stepFactor(jitter: f, random: random, trajectory: 3, chain: 7)
        XCTAssertNotEqual(a, LeapfrogDynamics.stepFactor(jitter: f, random: random, trajectory: 3, chain: 8))
        XCTAssertNotEqual(a, LeapfrogDynamics.stepFactor(jitter: f, random: random, trajectory: 4, chain: 7))
        XCTAssertNotEqual(a, LeapfrogDynamics.stepFactor(jitter: f, random: ChainRandom(seed: 6), trajectory: 3, chain: 7))
        XCTAssertEqual(a, LeapfrogDynamics.stepFactor(jitter: f, random: ChainRandom(seed: 5), trajectory: 3, chain: 7))
    }

    /// Each row keeps its drawn step size for the forward map and its reverse: forward, flip v,
    /// forward returns the start (to rounding; 1e-12 is ~5000 ulps of numbers of order 2 after
    /// 2 x 10 steps), and the rows really used different step sizes (their end points differ
    /// from a fixed-eps trajectory by much more than that).
    func testAJitteredTrajectoryIsReversedByItsOwnStepSizes() {
        let target = MixtureAction(mixture: Self.mixture)
        let jittered = LeapfrogDynamics(target: target, stepSize: 0.1, stepCount: 10, capacity: 4)
        jittered.jitter = 0.3
        jittered.drawStepSizes(random: ChainRandom(seed: 9), trajectory: 12, firstChain: 8, rows: 4)
        let plain = LeapfrogDynamics(target: target, stepSize: 0.1, stepCount: 10, capacity: 4)
        let x0 = [2.1, 0.2, -1.8, -0.1, 2.3, 0.0, -2.2, 0.3], v0 = [1.0, -0.5, 0.3, 0.8, -1.2, 0.4, 0.6, -0.9]
        let x = Buffer(x0), v = Buffer(v0), xp = Buffer(x0), vp = Buffer(v0)
        jittered.integrate(x: x.pointer, v: v.pointer, rows: 4)
        plain.integrate(x: xp.pointer, v: vp.pointer, rows: 4)
        for r in 0..<4 { XCTAssertGreaterThan(abs(x[2 * r] - xp[2 * r]) + abs(x[2 * r + 1] - xp[2 * r + 1]), 1e-4, "row \(r) used eps 0.1") }
        for i in 0..<8 { v[i] = -v[i] }
        jittered.integrate(x: x.pointer, v: v.pointer, rows: 4)
        for i in 0..<8 {
            XCTAssertEqual(x[i], x0[i], accuracy: 1e-12)
            XCTAssertEqual(-v[i], v0[i], accuracy: 1e-12)
        }
    }

    private func run(jitter: Double, chains: Int = 32, trajectories: Int, tile: Int? = nil, threads: Int = 1) throws -> RunEngine {
        var s = RunSettings(chains: chains, trajectories: trajectories, seed: 1, schedule: .hmcOnly, hmcStepSize: 0.1, hmcSteps: 10)
        s.hmcJitter = jitter
        s.tile = tile
        let engine = try RunEngine(settings: s, target: MixtureAction(mixture: Self.mixture), model: nil, threads: threads)
        try engine.run()
        return engine
    }

    /// The resonant example, measured (64 chains x 600 trajectories, seed 1; values printed):
    /// without a jitter some <x^2> misses its exact value by more than 4 error bars; with F = 0.3
    /// both lie within 4. Exact by hand: <x0^2> = mu^2 + sigma^2 = 4 + 0.1, <x1^2> = 0.1.
    func testJitterCuresTheResonantExample() throws {
        let exact = ["x[0]^2": 4.1, "x[1]^2": 0.1]
        func scores(_ jitter: Double) throws -> [String: Double] {
            let engine = try run(jitter: jitter, chains: 64, trajectories: 600)
            let summary = RunSummary(record: engine.record, target: engine.target, thermalization: 0.25)
            var z: [String: Double] = [:]
            for q in summary.quantities where exact[q.name] != nil {
                XCTAssertEqual(try XCTUnwrap(q.exact), try XCTUnwrap(exact[q.name]), accuracy: 1e-12, "the estimator's exact value")
                z[q.name] = (q.estimate.mean - (exact[q.name] ?? 0)) / q.estimate.error
            }
            print("jitter \(jitter): z \(z.sorted { $0.key < $1.key })")
            return z
        }
        let fixed = try scores(0), jittered = try scores(0.3)
        XCTAssertGreaterThan(fixed.values.map(abs).max() ?? 0, 4, "the resonant run should miss: \(fixed)")
        XCTAssertLessThan(jittered.values.map(abs).max() ?? .infinity, 4, "the jittered run should reproduce <x^2>: \(jittered)")
    }

    /// Tiles of 8 over 40 chains on 1 and 2 threads: identical bits with a jitter; and the jitter
    /// changes the numbers (the control: else the test would not see the draws at all).
    func testJitteredRunsDoNotDependOnTheThreadCount() throws {
        func bits(_ e: RunEngine) -> [UInt64] {
            (e.record.energyChange.joined().map(\.bitPattern)) + e.states.map(\.bitPattern)
        }
        let one = bits(try run(jitter: 0.3, chains: 40, trajectories: 6, tile: 8, threads: 1))
        let two = bits(try run(jitter: 0.3, chains: 40, trajectories: 6, tile: 8, threads: 2))
        XCTAssertEqual(one, two)
        XCTAssertNotEqual(one, bits(try run(jitter: 0, chains: 40, trajectories: 6, tile: 8, threads: 1)))
    }

    /// The tiles split over 2 and 3 processes (``LoopbackGroup``, the tool's MPI semantics in
    /// threads): the root records what one process records, bit for bit, with a jitter (each
    /// rank keys its draws by the global chain id).
    func testJitteredRunsDoNotDependOnTheProcessCount() throws {
        var s = RunSettings(chains: 36, trajectories: 5, seed: 3, schedule: .hmcOnly, hmcStepSize: 0.1, hmcSteps: 10)
        s.hmcJitter = 0.3
        s.tile = 8  // 5 tiles, the last one of 4 chains
        let single = try RunEngine(settings: s, target: MixtureAction(mixture: Self.mixture), model: nil)
        try single.run()
        let expected = single.record.energyChange.joined().map(\.bitPattern) + single.states.map(\.bitPattern)
        for size in [2, 3] {
            let results = try LoopbackGroup.run(size: size) { group -> [UInt64]? in
                let engine = try RunEngine(settings: s, target: MixtureAction(mixture: Self.mixture), model: nil, group: group)
                while !engine.isFinished { try engine.step() }
                let states = try engine.gatheredStates()
                return states.map { engine.record.energyChange.joined().map(\.bitPattern) + $0.map(\.bitPattern) }
            }
            XCTAssertEqual(results[0], expected, "\(size) processes")
        }
    }

    /// params.json keeps the jitter (written only when set) and refuses one outside [0, 1).
    func testParamsStoreTheJitterOnlyWhenSet() throws {
        var s = RunSettings(chains: 4, trajectories: 10, seed: 1, schedule: .hmcOnly, hmcStepSize: 0.1, hmcSteps: 10)
        let plain = RunParameters(settings: s, target: .gaussianMixture(Self.mixture), modelPath: nil, modelSHA256: nil)
        guard case let .object(o) = plain.json() else { return XCTFail() }
        XCTAssertNil(o["hmc_jitter"])
        XCTAssertEqual(try RunParameters(json: plain.json()).settings.hmcJitter, 0)
        s.hmcJitter = 0.25
        let jittered = RunParameters(settings: s, target: .gaussianMixture(Self.mixture), modelPath: nil, modelSHA256: nil)
        guard case var .object(j) = jittered.json() else { return XCTFail() }
        XCTAssertEqual(j["hmc_jitter"], .double(0.25))
        XCTAssertEqual(try RunParameters(json: jittered.json()), jittered)
        for bad in [-0.1, 1.0, 2.0] {
            j["hmc_jitter"] = .double(bad)
            XCTAssertThrowsError(try RunParameters(json: .object(j)), "\(bad)")
        }
        for bad in [-0.1, 1, .nan, .infinity] {
            XCTAssertThrowsError(try RunSettings.validate(hmcJitter: bad)) { XCTAssertTrue("\($0)".contains("--hmc-jitter"), "\($0)") }
        }
        XCTAssertNoThrow(try RunSettings.validate(hmcJitter: 0))
        XCTAssertNoThrow(try RunSettings.validate(hmcJitter: 0.999))
    }
}
