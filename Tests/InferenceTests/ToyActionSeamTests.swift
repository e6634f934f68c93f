import Foundation
import XCTest
import ModelFormat
import Inference

/// The measure of the target and proposal seams: a target the library does not know (a 1D double
/// well, defined only here) and a proposal the library does not know (a shear, defined only
/// here) run through ``RunEngine`` and its schedule, a ``RunOutput`` run directory, a resume that
/// is byte-identical to the uninterrupted run, ``RunSummary`` against exact moments computed here
/// by quadrature, and ``RunReport`` text and JSON, with no change to any library file.
/// (Deliberately `import Inference`, not `@testable`: only the public API is used.)
final class ToyActionSeamTests: XCTestCase {
    /// U(x) = (x^2 - 1)^2 / (2 s) on R: two wells at x = +-1 with a barrier of height 1/(2s).
    final class DoubleWell: TargetAction {
        let s: Double
        init(s: Double) { self.s = s }
        let stateSize = 1
        let isCompact = false
        func action(_ x: UnsafePointer<Double>, rows: Int, into out: UnsafeMutablePointer<Double>) {
            for r in 0..<rows { let a = x[r] * x[r] - 1; out[r] = a * a / (2 * s) }
        }
        func force(_ x: UnsafePointer<Double>, rows: Int, into out: UnsafeMutablePointer<Double>) {
            for r in 0..<rows { out[r] = 2 * x[r] * (x[r] * x[r] - 1) / s }
        }
        /// `x`, and `well` (int32: 0 left of the barrier, 1 right) whose occupancy is 1/2 each.
        var observables: [Observable] {
            [Observable(name: "x", exact: 0),
             Observable(name: "well", storage: .int32, role: .modeIndex(count: 2), domainDescription: "0 or 1") { $0 == 0 || $0 == 1 }]
        }
        func measure(_ x: UnsafePointer<Double>, rows: Int) -> [[Double]] {
            [(0..<rows).map { x[$0] }, (0..<rows).map { x[$0] < 0 ? 0 : 1 }]
        }
        var exactMoments: (x2: Double, x4: Double) = (.nan, .nan)
        var estimators: [Estimator] {
            [Estimator(name: "x", exact: 0) { $0.scalar("x") },
             Estimator(name: "x^2", exact: exactMoments.x2) { pow($0.scalar("x"), 2) },
             Estimator(name: "x^4", exact: exactMoments.x4, observable: "x") { pow($0, 4) }]
        }
    }

    /// A directional proposal: x' = x + a v (forward) or x - a v (backward), v unchanged. Each
    /// direction is the other's inverse and the map is volume preserving (log-det 0), so
    /// Metropolis-Hastings with d = +-1 drawn uniformly is exact.
    final class Shear: Proposal {
        let a: Double, capacity: Int
        init(a: Double, capacity: Int) { self.a = a; self.capacity = capacity }
        var kind: Schedule.Kind { .l2hmc }
        var isDirectional: Bool { true }
        func propose(x: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Double>, rows: Int, forward: Bool, logDet: UnsafeMutablePointer<Double>) {
            for r in 0..<rows { x[r] += (forward ? a : -a) * v[r] }
        }
        func replica(capacity: Int) -> Proposal { Shear(a: a, capacity: capacity) }
    }

    /// <x^2> and <x^4> under e^{-U} by composite Simpson on [-4, 4] (e^{-U} < e^{-200} beyond:
    /// the truncation is far below rounding), 40000 intervals (Simpson's error ~ h^4 ~ 1e-15).
    static func exactMoments(s: Double) -> (x2: Double, x4: Double) {
        let n = 40000, lo = -4.0, h = 8.0 / Double(n)
        var z = 0.0, m2 = 0.0, m4 = 0.0
        for i in 0...n {
            let x = lo + Double(i) * h
            let w = (i == 0 || i == n) ? 1.0 : (i % 2 == 1 ? 4.0 : 2.0)
            let p = w * exp(-(x * x - 1) * (x * x - 1) / (2 * s))
            z += p; m2 += p * x * x; m4 += p * x * x * x * x
        }
        return (m2 / z, m4 / z)
    }

    private var root: URL!
    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("l2hmc-toy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    private func settings(trajectories: Int) throws -> RunSettings {
        var s = RunSettings(chains: 16, trajectories: trajectories, seed: 21, schedule: try Schedule(parsing: "l2hmc:1,hmc:2", hmcStart: 10),
                            hmcStepSize: 0.25, hmcSteps: 8)
        s.thermalization = 0.2
        return s
    }

    private func makeWell() -> DoubleWell {
        let well = DoubleWell(s: 0.5)
        well.exactMoments = Self.exactMoments(s: 0.5)
        return well
    }

    private let params: JSONValue = .object(["target": .string("double well"), "s": .double(0.5)])
    private let limits = RunDirectoryReader.Limits(maxFileBytes: 1 << 26, maxElements: 1 << 24)

    /// Runs `total` trajectories into a new directory, checkpointing every `every`.
    private func run(_ name: String, total: Int, every: Int) throws -> (path: String, engine: RunEngine) {
        let well = makeWell()
        let engine = try RunEngine(settings: try settings(trajectories: total), target: well, model: nil, proposals: [Shear(a: 0.6, capacity: 16)])
        let path = root.appendingPathComponent(name).path
        let (output, _) = try RunOutput.create(at: path, replace: false, params: params, layout: RunDirectory.Layout(well), chains: 16,
                                               stateSize: 1, seed: 21, record: engine.record, states: engine.states)
        while !engine.isFinished {
            try engine.step()
            if engine.record.count % every == 0 { try output.checkpoint(record: engine.record, states: engine.states) }
        }
        try output.checkpoint(record: engine.record, states: engine.states)
        try output.finish(summary: RunReport.json(RunSummary(record: engine.record, target: well, thermalization: 0.2)), states: engine.states)
        output.close()
        return (path, engine)
    }

    private func files(_ path: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: path) { out[name] = try Data(contentsOf: URL(fileURLWithPath: "\(path)/\(name)")) }
        return out
    }

    func testTheToyTargetRunsThroughEverySeam() throws {
        let full = try run("full", total: 600, every: 100)

        // The directory holds one .npy per observable of the toy, and its CSV columns.
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: full.path))
        XCTAssertTrue(names.isSuperset(of: ["x.npy", "well.npy", "sampler.npy", "accept_prob.npy", "observables.csv", "state.json", "summary.json"]))
        XCTAssertFalse(names.contains("plaquette.npy"))
        let csv = try String(contentsOfFile: "\(full.path)/observables.csv", encoding: .utf8)
        XCTAssertTrue(csv.hasPrefix("trajectory,chain,sampler,accept_prob,accepted,energy_change,log_det,x,well\n"))
        XCTAssertEqual(csv.split(separator: "\n").count, 1 + 600 * 16)

        // Interrupted after 250 (a checkpoint at 250), reopened with the toy's layout, resumed.
        do {
            let well = makeWell()
            let engine = try RunEngine(settings: try settings(trajectories: 250), target: well, model: nil, proposals: [Shear(a: 0.6, capacity: 16)])
            let path = root.appendingPathComponent("resumed").path
            let (output, _) = try RunOutput.create(at: path, replace: false, params: params, layout: RunDirectory.Layout(well), chains: 16,
                                                   stateSize: 1, seed: 21, record: engine.record, states: engine.states)
            while !engine.isFinished { try engine.step(); if engine.record.count % 70 == 0 { try output.checkpoint(record: engine.record, states: engine.states) } }
            try output.checkpoint(record: engine.record, states: engine.states)
            output.close()
        }
        let path = root.appendingPathComponent("resumed").path
        let well = makeWell()
        let (output, contents) = try RunOutput.reopen(path, limits: limits, layout: RunDirectory.Layout(well))
        XCTAssertEqual(contents.trajectoryIndex, 250)
        XCTAssertEqual(contents.record.series("x").count, 250)
        let engine = try RunEngine(settings: try settings(trajectories: 600), target: well, model: nil, proposals: [Shear(a: 0.6, capacity: 16)])
        try engine.resume(states: contents.states, trajectoryIndex: contents.trajectoryIndex, record: contents.record)
        while !engine.isFinished { try engine.step(); if engine.record.count % 100 == 0 { try output.checkpoint(record: engine.record, states: engine.states) } }
        try output.checkpoint(record: engine.record, states: engine.states)
        try output.finish(summary: RunReport.json(RunSummary(record: engine.record, target: well, thermalization: 0.2)), states: engine.states)
        output.close()
        XCTAssertEqual(engine.record, full.engine.record)
        let a = try files(full.path), b = try files(path)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (name, bytes) in a { XCTAssertEqual(bytes, b[name], "\(name) differs between the uninterrupted and the resumed run") }

        // Both proposals ran: the shear (recorded as kind l2hmc) and plain leapfrog, no model.
        XCTAssertEqual(engine.record.sampler.prefix(13), [.hmc, .hmc, .hmc, .hmc, .hmc, .hmc, .hmc, .hmc, .hmc, .hmc, .l2hmc, .hmc, .hmc])

        // The summary against the exact moments (quadrature above, independent of the sampler).
        // |z| < 4.5: each z is (estimate - exact) / honest error, so a correct sampler fails a
        // quantity with probability < 1e-5; a wrong kinetic energy or acceptance moves <x^2> by
        // many errors.
        let summary = RunSummary(record: engine.record, target: well, thermalization: 0.2)
        XCTAssertEqual(summary.quantities.map(\.name), ["x", "x^2", "x^4"])
        let exact = Self.exactMoments(s: 0.5)
        XCTAssertEqual(summary.quantities[1].exact, exact.x2)
        for q in summary.quantities {
            let z = try XCTUnwrap(q.zScore, q.name)
            XCTAssertLessThan(abs(z), 4.5, "\(q.name): \(q.estimate.mean) +- \(q.estimate.error), exact \(q.exact ?? .nan)")
        }
        XCTAssertGreaterThan(summary.acceptance[.l2hmc] ?? 0, 0.2)
        XCTAssertGreaterThan(summary.acceptance[.hmc] ?? 0, 0.5)
        let occupancy = try XCTUnwrap(summary.occupancy)
        XCTAssertEqual(occupancy.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertGreaterThan(summary.modeSwitchRate ?? 0, 0, "the chains cross the barrier")
        XCTAssertNil(summary.tunneling, "no topological charge here")

        let text = RunReport.text(summary)
        print("ToyActionSeamTests report:\n" + text)
        let lines = text.split(separator: "\n").map(String.init)
        for name in ["x", "x^2", "x^4"] { XCTAssertTrue(lines.contains { $0.hasPrefix(name + " ") }, "no row for \(name) in\n\(text)") }
        XCTAssertTrue(lines.contains { $0.hasPrefix("modes       switch rate") })
        XCTAssertTrue(lines.contains { $0.hasPrefix("acceptance  l2hmc:") })
        XCTAssertFalse(text.contains("tunneling"))
    }

    /// A schedule naming a proposal nobody provides is a usage error at construction, not a
    /// crash at the first such trajectory; plain HMC in the same schedule needs no model.
    func testAScheduleNamingAnUnavailableProposalIsAUsageError() throws {
        let s = try settings(trajectories: 5)
        XCTAssertThrowsError(try RunEngine(settings: s, target: makeWell(), model: nil)) { error in
            guard let e = error as? InferenceError else { return XCTFail("\(error)") }
            XCTAssertTrue(e.isUsageError)
            XCTAssertEqual(e.code, "run.invalid_option")
        }
        var hmcOnly = s
        hmcOnly.schedule = try Schedule(parsing: "hmc:4")
        let engine = try RunEngine(settings: hmcOnly, target: makeWell(), model: nil)
        try engine.run()
        XCTAssertEqual(engine.record.count, 5)
        XCTAssertNil(engine.sampler.l2hmc)
    }

    /// Proposal buffers smaller than a tile, or a first chain inside a tile, are coded errors
    /// (they used to trap).
    func testMismatchedTilesAreCodedErrors() {
        let well = makeWell()
        let small = LeapfrogDynamics(target: well, stepSize: 0.1, stepCount: 2, capacity: 2)
        for (tile, first) in [(4, 0), (2, 1)] {
            XCTAssertThrowsError(try ChainSampler(target: well, proposals: [small], chains: 8, seed: 1, tile: tile, firstChain: first)) { e in
                XCTAssertEqual((e as? InferenceError)?.code, "run.invalid_option", "\(e)")
            }
        }
        XCTAssertNoThrow(try ChainSampler(target: well, proposals: [small], chains: 8, seed: 1, tile: 2, firstChain: 2))
    }

    /// A sampler asked for a kind it has no proposal for rejects every chain and keeps the states.
    func testAMissingProposalRejectsInsteadOfCrashing() throws {
        let well = makeWell()
        let sampler = try ChainSampler(target: well, proposals: [], chains: 4, seed: 1)
        sampler.randomizeStart()
        let before = sampler.x.array
        let outcome = sampler.step(kind: .hmc)
        XCTAssertEqual(outcome.accepted, [false, false, false, false])
        XCTAssertEqual(outcome.acceptProbability, [0, 0, 0, 0])
        XCTAssertEqual(sampler.x.array, before)
    }

    /// A saved value outside an observable's domain (here the toy's int32 `well`) is refused on
    /// reopening with the file, the trajectory and the observable's own description.
    func testAnObservableOutsideItsDomainIsRefusedOnReopening() throws {
        let (path, _) = try run("damaged", total: 20, every: 10)
        let file = "\(path)/well.npy"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        bytes[128 + 4 * (16 * 3 + 5)] = 7  // trajectory 3, chain 5 (int32 little-endian)
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        XCTAssertThrowsError(try RunOutput.reopen(path, limits: limits, layout: RunDirectory.Layout(makeWell()))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("[io.failure]") && text.contains("well.npy") && text.contains("trajectory 3, chain 5: well 7 is not 0 or 1"), text)
        }
    }
}
