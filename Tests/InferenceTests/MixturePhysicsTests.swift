import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// Exact moments of Gaussian mixtures (MixtureExact) reproduced by HMC and by L2HMC, and the
/// mode statistics of the run summary.
final class MixturePhysicsTests: XCTestCase {
    /// Overlapping modes (+-0.6, sigma^2 0.25) so that plain HMC mixes: moments within 4 sigma.
    func testHMCAndL2HMCReproduceMixtureMoments() throws {
        let cov = [[0.25, 0.0], [0.0, 0.25]]
        let mixture = GaussianMixture(dimension: 2, weights: [0.3, 0.7], means: [[-0.6, 0], [0.6, 0.2]], covariances: [cov, cov])
        let spec = SamplerSpec(target: .gaussianMixture(mixture), dynamics: Dynamics(nLF: 3, xUpdate: .linear),
                               network: NetworkSpec(layout: .perStep, xNetworksPerStep: 2, xNetInput: .raw, vNetInput: .raw,
                                                    maskPlacement: nil, timeInput: true, hiddenUnits: [8]))
        let model = try RandomModel.make(sampler: spec, seed: 4, epsX: 0.3, epsV: 0.3, weightScale: 0.5)
        let target = makeTarget(spec.target)
        for schedule in ["hmc:1", "l2hmc:1"] {
            let settings = RunSettings(chains: 64, trajectories: 400, seed: 2, schedule: try Schedule(parsing: schedule), hmcStepSize: 0.3, hmcSteps: 5)
            let engine = try RunEngine(settings: settings, target: target, model: model)
            try engine.run()
            let summary = RunSummary(record: engine.record, target: target, thermalization: 0.25)
            for q in summary.quantities {
                let z = try XCTUnwrap(q.zScore, q.name)
                XCTAssertLessThan(abs(z), 4, "\(schedule) \(q.name): \(q.estimate.mean) +- \(q.estimate.error) vs \(q.exact!)")
            }
            XCTAssertEqual(summary.quantities.map(\.name), ["x[0]", "x[0]^2", "x[1]", "x[1]^2", "weight[0]", "weight[1]"])
            XCTAssertGreaterThan(try XCTUnwrap(summary.modeSwitchRate), 0.05, "\(schedule): overlapping modes are crossed")
            XCTAssertEqual(summary.occupancy!.reduce(0, +), 1, accuracy: 1e-12)
        }
    }

    /// The seed's separated modes (+-2, 0), sigma^2 0.1: HMC with eps 0.25 never switches modes.
    func testHMCNeverSwitchesBetweenSeparatedModes() throws {
        let cov = [[0.1, 0.0], [0.0, 0.1]]
        let target = MixtureAction(mixture: GaussianMixture(dimension: 2, weights: [0.5, 0.5], means: [[-2, 0], [2, 0]], covariances: [cov, cov]))
        let settings = RunSettings(chains: 32, trajectories: 300, seed: 3, schedule: .hmcOnly, hmcStepSize: 0.25, hmcSteps: 10)
        let engine = try RunEngine(settings: settings, target: target, model: nil)
        try engine.run()
        let summary = RunSummary(record: engine.record, target: target, thermalization: 0.25)
        XCTAssertEqual(summary.modeSwitchRate, 0)
    }
}
