import Foundation
import XCTest
import ModelFormat

/// The committed fixtures are golden files of the writer: regenerating them with the recipe of
/// fixtures/make-fixtures.sh must give the committed bytes. A writer change that alters bytes
/// (member order, JSON form, padding, checksums) fails here until the fixtures are regenerated
/// on purpose with that script.
final class FixtureGoldenTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures")

    func testDefaultFixtureMatchesItsRecipe() throws {
        // make-fixtures.sh: init-random --target u1 --lattice 4x4 --beta 2 --nlf 2 --units 16,16 --seed 1
        let sampler = SamplerSpec(
            target: .u1(U1Lattice(lt: 4, lx: 4, beta: 2)),
            dynamics: Dynamics(nLF: 2, xUpdate: .ncp),
            network: NetworkSpec(layout: .shared, xNetInput: .cosSinBlocks, vNetInput: .raw, maskPlacement: .beforeTrig,
                                 timeInput: true, hiddenUnits: [16, 16]))
        let expected = try L2ZWriter.encode(try RandomModel.make(sampler: sampler, seed: 1, epsX: 0.1, epsV: 0.1))
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
        let expected = try L2ZWriter.encode(try RandomModel.make(sampler: sampler, seed: 2, epsX: 0.1, epsV: 0.1))
        let committed = try Array(Data(contentsOf: Self.fixtures.appendingPathComponent("gmm2-random.l2z")))
        XCTAssertTrue(committed == expected, "fixtures/gmm2-random.l2z differs from its recipe; rerun fixtures/make-fixtures.sh if the change is intended")
    }
}
