import Foundation
import XCTest
import Inference
import ModelFormat

/// The committed fixtures are golden files of the writer: regenerating them with the recipe of
/// fixtures/make-fixtures.sh must give the committed bytes. A writer change that alters bytes
/// (member order, JSON form, padding, checksums) fails here until the fixtures are regenerated
/// on purpose with that script.
final class FixtureGoldenTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures")

    func testDefaultFixtureMatchesItsRecipe() throws {
        // make-fixtures.sh: init-random --target u1 --lattice 8x8 --beta 2 --nlf 4 --units 32,32 --eps 0.15 --weight-scale 0.3 --seed 1
        let sampler = SamplerSpec(
            target: .u1(U1Lattice(lt: 8, lx: 8, beta: 2)),
            dynamics: Dynamics(nLF: 4, xUpdate: .ncp),
            network: NetworkSpec(layout: .shared, xNetInput: .cosSinBlocks, vNetInput: .raw, maskPlacement: .beforeTrig,
                                 timeInput: true, hiddenUnits: [32, 32]))
        var model = try RandomModel.make(sampler: sampler, seed: 1, epsX: 0.15, epsV: 0.15, weightScale: 0.3)
        try ProbeBuilder.addProbe(to: &model, target: makeTarget(sampler.target))
        let expected = try L2ZWriter.encode(model)
        let committed = try Array(Data(contentsOf: Self.fixtures.appendingPathComponent("default.l2z")))
        XCTAssertEqual(committed.count, expected.count, "fixtures/default.l2z differs in size from its recipe; rerun fixtures/make-fixtures.sh if the change is intended")
        XCTAssertTrue(committed == expected, "fixtures/default.l2z differs from its recipe; rerun fixtures/make-fixtures.sh if the change is intended")
    }

    func testMixtureFixtureMatchesItsRecipe() throws {
        // make-fixtures.sh: init-random --target gmm2 --nlf 3 --units 8,8 --layout per_step --x-nets 2 --seed 2
        let cov = [[0.1, 0.0], [0.0, 0.1]]
        let sampler = SamplerSpec(
            target: .gaussianMixture(GaussianMixture(dimension: 2, weights: [0.5, 0.5], means: [[-2, 0], [2, 0]], covariances: [cov, cov])),
            dynamics: Dynamics(nLF: 3, xUpdate: .linear),
            network: NetworkSpec(layout: .perStep, xNetworksPerStep: 2, xNetInput: .raw, vNetInput: .raw, maskPlacement: nil,
                                 timeInput: true, hiddenUnits: [8, 8]))
        var model = try RandomModel.make(sampler: sampler, seed: 2, epsX: 0.1, epsV: 0.1)
        try ProbeBuilder.addProbe(to: &model, target: makeTarget(sampler.target))
        let expected = try L2ZWriter.encode(model)
        let committed = try Array(Data(contentsOf: Self.fixtures.appendingPathComponent("gmm2-random.l2z")))
        XCTAssertTrue(committed == expected, "fixtures/gmm2-random.l2z differs from its recipe; rerun fixtures/make-fixtures.sh if the change is intended")
    }
}
