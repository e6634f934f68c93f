import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// Long-run averages against the exact finite-volume values (character expansion). A correct
/// kernel gives |z| < 4 with probability > 0.9999 per quantity (errors are autocorrelation
/// corrected); a biased kernel of the kinds measured when the runtime was written (7-10 sigma at these run
/// lengths) fails.
final class PhysicsTests: XCTestCase {
    func testHMCReproducesExactPlaquetteAndTopologicalSusceptibility() throws {
        for beta in [1.0, 2.0] {
            let target = U1Action(lattice: U1Lattice(lt: 4, lx: 4, beta: beta))
            var settings = RunSettings(chains: 64, trajectories: 400, seed: 17, schedule: .hmcOnly, hmcStepSize: 0.25, hmcSteps: 8)
            settings.thermalization = 0.25
            let engine = try RunEngine(settings: settings, target: target, model: nil)
            try engine.run()
            let summary = RunSummary(record: engine.record, target: target, thermalization: 0.25)
            for name in ["plaquette", "Q^2", "Q"] {
                let q = try XCTUnwrap(summary.quantities.first { $0.name == name })
                let z = try XCTUnwrap(q.zScore)
                XCTAssertLessThan(abs(z), 4, "beta \(beta) \(name): \(q.estimate.mean) +- \(q.estimate.error) vs exact \(q.exact!)")
                XCTAssertGreaterThan(q.estimate.error, 0)
            }
            XCTAssertEqual(summary.meanBoltzmannFactor, 1, accuracy: 0.05, "<exp(-dH)> = 1 for an exact leapfrog")
            XCTAssertGreaterThan(summary.acceptance[.hmc]!, 0.5)
        }
    }

    /// Random weights with a substantial x-scale: every x-network's scale bias set to `bias`, so
    /// S_x ~ tanh(bias) and |eps S_x| ~ 0.15 (the linear form's bias was measured at that size when the runtime was written).
    static func scaledModel(_ spec: SamplerSpec, bias: Double = 0.5) throws -> L2ZModel {
        var model = try RandomModel.make(sampler: spec, seed: 3, epsX: 0.25, epsV: 0.25, weightScale: 0.5)
        for name in model.arrays.keys where name.hasPrefix("xnet") && name.hasSuffix(".scale.bias") {
            let count = model.arrays[name]!.elementCount
            model.arrays[name] = try NDArray(shape: [count], doubles: [Double](repeating: bias, count: count))
        }
        return model
    }

    /// A random-weight L2HMC sampler with the non-compact projection and every head on (a
    /// substantial x-scale included), alternating with HMC, is still exact.
    func testMixedL2HMCScheduleIsExact() throws {
        let spec = Fixtures.u1Sampler(lt: 4, lx: 4, nLF: 3, layout: .perStep, xNets: 2, units: [16, 16], beta: 2)
        let model = try Self.scaledModel(spec)
        let target = makeTarget(spec.target)
        var settings = RunSettings(chains: 64, trajectories: 300, seed: 5, schedule: try Schedule(parsing: "l2hmc:2,hmc:1"), hmcStepSize: 0.25, hmcSteps: 6)
        settings.thermalization = 0.25
        let engine = try RunEngine(settings: settings, target: target, model: model)
        try engine.run()
        let summary = RunSummary(record: engine.record, target: target, thermalization: 0.25)
        for name in ["plaquette", "Q^2"] {
            let q = try XCTUnwrap(summary.quantities.first { $0.name == name })
            XCTAssertLessThan(abs(q.zScore!), 4, "\(name): \(q.estimate.mean) +- \(q.estimate.error) vs exact \(q.exact!)")
        }
        XCTAssertGreaterThan(summary.acceptance[.l2hmc]!, 0.2, "the test needs accepted L2HMC proposals")
        XCTAssertEqual(summary.trajectoriesBySampler[.l2hmc], 150)
        XCTAssertEqual(summary.trajectoriesBySampler[.hmc], 75)
    }

    /// Control: the linear x update with the x-scale forced on (bypassing the refusal) is the
    /// known biased sampler; the same protocol must detect it, or the test above proves nothing.
    func testBiasedLinearXScaleIsDetected() throws {
        var spec = Fixtures.u1Sampler(lt: 4, lx: 4, nLF: 3, layout: .perStep, xNets: 2, xUpdate: .ncp, units: [16, 16], beta: 2)
        let model = try Self.scaledModel(spec)
        spec.dynamics.xUpdate = .linear  // same weights, wrong (non-bijective) x update
        var biased = model
        biased.spec = .l2hmc(spec)
        let target = makeTarget(spec.target)
        let dyn = try L2HMCDynamics(model: biased, target: target, nLF: nil, mapping: nil, capacity: 64, refuseBiasedWeights: false)
        let hmc = LeapfrogDynamics(target: target, stepSize: 0.25, stepCount: 6, capacity: 64)
        let sampler = try ChainSampler(target: target, l2hmc: dyn, hmc: hmc, chains: 64, seed: 9)
        // The same protocol as the exact test: thermalized by HMC, then l2hmc:2,hmc:1.
        sampler.randomizeStart()
        let schedule = try Schedule(parsing: "l2hmc:2,hmc:1", hmcStart: 75)
        var plaquettes: [[Double]] = []
        for t in 0..<300 {
            _ = sampler.step(kind: schedule.kind(at: t))
            plaquettes.append((target as! U1Action).observables(sampler.x.pointer, rows: 64).plaquette)
        }
        let estimate = MeanEstimate.estimate(chains: RunRecord.byChain(plaquettes, from: 75))
        let z = estimate.zScore(exact: try U1Exact.plaquette(beta: 2, volume: 16))
        XCTAssertGreaterThan(abs(z), 4, "the biased sampler must be detected (z = \(z))")
    }

    func testSameSeedSameNumbersAndResumeEqualsUninterrupted() throws {
        let spec = Fixtures.u1Sampler(lt: 3, lx: 3, nLF: 2, units: [8])
        let model = try RandomModel.make(sampler: spec, seed: 1, epsX: 0.2, epsV: 0.2)
        let target = makeTarget(spec.target)
        let settings = RunSettings(chains: 8, trajectories: 20, seed: 42, schedule: try Schedule(parsing: "l2hmc:1,hmc:1", hmcStart: 3),
                                   hmcStepSize: 0.2, hmcSteps: 4)
        let full = try RunEngine(settings: settings, target: target, model: model)
        try full.run()
        let again = try RunEngine(settings: settings, target: target, model: model)
        try again.run()
        XCTAssertEqual(full.record, again.record)
        XCTAssertEqual(full.states, again.states)

        let first = try RunEngine(settings: settings, target: target, model: model)
        try first.run(shouldStop: { first.record.count >= 11 })
        XCTAssertEqual(first.record.count, 11)
        let second = try RunEngine(settings: settings, target: target, model: model)
        try second.resume(states: first.states, trajectoryIndex: 11, record: first.record)
        try second.run()
        XCTAssertEqual(second.record, full.record, "resumed run differs from the uninterrupted one")
        XCTAssertEqual(second.states, full.states)
        XCTAssertEqual(full.record.sampler.prefix(5), [.hmc, .hmc, .hmc, .l2hmc, .hmc])
    }
}
