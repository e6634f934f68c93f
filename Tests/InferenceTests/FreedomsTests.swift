import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// Free N_LF, low-rank compression and stored probes.
final class FreedomsTests: XCTestCase {
    func testStepPlanMappings() throws {
        let dynamics = Dynamics(nLF: 3, xUpdate: .ncp)
        let eps = [0.1, 0.2, 0.3]
        let shared = try StepPlan(dynamics: dynamics, layout: .shared, epsX: eps, epsV: eps, nLF: 5, mapping: nil)
        XCTAssertEqual(shared.steps.map(\.mask), [0, 1, 2, 0, 1])
        XCTAssertEqual(shared.steps.map(\.network), [0, 0, 0, 0, 0])
        XCTAssertEqual(shared.steps[1].tau[0], cos(2 * .pi / 5), accuracy: 1e-15, "shared networks: time follows the new N")
        XCTAssertThrowsError(try StepPlan(dynamics: dynamics, layout: .perStep, epsX: eps, epsV: eps, nLF: 5, mapping: nil)) {
            XCTAssertTrue("\($0)".contains("--step-mapping"), "\($0)")
        }
        let cyclic = try StepPlan(dynamics: dynamics, layout: .perStep, epsX: eps, epsV: eps, nLF: 5, mapping: .cyclic)
        XCTAssertEqual(cyclic.steps.map(\.network), [0, 1, 2, 0, 1])
        XCTAssertEqual(cyclic.steps[3].tau[0], 1, accuracy: 1e-15, "per-step networks keep their trained time input")
        let stretch = try StepPlan(dynamics: dynamics, layout: .perStep, epsX: eps, epsV: eps, nLF: 6, mapping: .stretch)
        XCTAssertEqual(stretch.steps.map(\.network), [0, 0, 1, 1, 2, 2])
        XCTAssertEqual(stretch.steps.map(\.epsX), [0.1, 0.1, 0.2, 0.2, 0.3, 0.3])
        let squeeze = try StepPlan(dynamics: dynamics, layout: .perStep, epsX: eps, epsV: eps, nLF: 2, mapping: .stretch)
        XCTAssertEqual(squeeze.steps.map(\.network), [0, 1])
        XCTAssertThrowsError(try StepPlan(dynamics: dynamics, layout: .shared, epsX: eps, epsV: eps, nLF: 0, mapping: nil))
    }

    func testFreeStepCountStaysReversible() throws {
        let shared = try Fixtures.dynamics(Fixtures.u1Sampler(nLF: 3), eps: 0.3)
        for n in [1, 2, 7] {
            try shared.setStepCount(n, mapping: nil)
            try assertReversible(shared, label: "shared N_LF \(n)")
        }
        let perStep = try Fixtures.dynamics(Fixtures.u1Sampler(nLF: 3, layout: .perStep, xNets: 2), eps: 0.3)
        for mapping in StepMapping.allCases {
            for n in [2, 5] {
                try perStep.setStepCount(n, mapping: mapping)
                try assertReversible(perStep, label: "per-step N_LF \(n) \(mapping)")
            }
        }
    }

    func testTruncatedSVDReconstructsAndTruncates() throws {
        let rows = 7, cols = 5
        let a = Fixtures.normals(rows * cols, seed: 41)
        let svd = try TruncatedSVD(matrix: a, rows: rows, cols: cols)
        XCTAssertEqual(svd.singularValues, svd.singularValues.sorted(by: >))
        let full = svd.factors(rank: 5)
        let product = multiply(full.p, full.q, rows, 5, cols)
        for i in 0..<a.count { XCTAssertEqual(product[i], a[i], accuracy: 1e-12) }
        // Eckart-Young: the rank-r error in Frobenius norm is sqrt(sum_{i>r} s_i^2).
        let r2 = svd.factors(rank: 2)
        let approx = multiply(r2.p, r2.q, rows, 2, cols)
        let err = zip(approx, a).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        let tail = svd.singularValues.dropFirst(2).reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertEqual(err, tail, accuracy: 1e-12)
        XCTAssertGreaterThanOrEqual(svd.energyRetained(rank: svd.rank(keepingEnergy: 0.9)), 0.9)
        XCTAssertLessThan(svd.energyRetained(rank: svd.rank(keepingEnergy: 0.9) - 1), 0.9)
    }

    func testLowRankKeepsReversibilityAndFullRankChangesNothing() throws {
        let spec = Fixtures.u1Sampler(lt: 3, lx: 3, units: [16, 16])
        let plain = try Fixtures.dynamics(spec, eps: 0.3)
        let n = spec.stateSize
        let x0 = Fixtures.angles(4 * n, seed: 1), v0 = Fixtures.normals(4 * n, seed: 2)
        let reference = plain.run(x: x0, v: v0, rows: 4, forward: true)

        let fullRank = try Fixtures.dynamics(spec, eps: 0.3)
        try fullRank.compress(.rank(16))
        let same = fullRank.run(x: x0, v: v0, rows: 4, forward: true)
        XCTAssertLessThanOrEqual(Fixtures.maxDifference(same.x, reference.x, compact: true), 1e-12)

        let compressed = try Fixtures.dynamics(spec, eps: 0.3)
        let report = try compressed.compress(.rank(3))
        XCTAssertTrue(report.contains { $0.rank == 3 && $0.energyRetained < 1 })
        XCTAssertTrue(report.filter { $0.layer == "t_layer" }.allSatisfy { $0.rank == 2 })
        XCTAssertLessThan(compressed.multiplyAddsPerChainTrajectory, plain.multiplyAddsPerChainTrajectory / 2)
        try assertReversible(compressed, label: "rank 3")
        XCTAssertGreaterThan(Fixtures.maxDifference(compressed.run(x: x0, v: v0, rows: 4, forward: true).x, reference.x, compact: true), 1e-6,
                             "rank 3 changes the proposal")

        let byEnergy = try Fixtures.dynamics(spec, eps: 0.3)
        for layer in try byEnergy.compress(.energy(0.9)) { XCTAssertGreaterThanOrEqual(layer.energyRetained, 0.9) }
    }

    func testStoredProbeReproducesAndCatchesTamperedWeights() throws {
        let spec = Fixtures.u1Sampler(layout: .perStep, xNets: 2, units: [6, 6])
        var model = try RandomModel.make(sampler: spec, seed: 5, epsX: 0.2, epsV: 0.2)
        let target = makeTarget(spec.target)
        try ProbeBuilder.addProbe(to: &model, target: target)
        // Through the file format and back.
        model = try L2ZReader.read(bytes: try L2ZWriter.encode(model)).model
        let report = try XCTUnwrap(try ProbeVerifier.verify(model: model, target: target))
        XCTAssertTrue(report.maxDifferences.values.allSatisfy { $0 <= 1e-14 }, "same runtime, same bits: \(report.maxDifferences)")

        func expectMismatch(_ label: String, _ mutate: (inout L2ZModel) throws -> Void, naming prefix: String) throws {
            var bad = model
            try mutate(&bad)
            XCTAssertThrowsError(try ProbeVerifier.verify(model: bad, target: target), label) { error in
                guard case let .probeMismatch(array, _, _, _)? = error as? InferenceError else { return XCTFail("\(label): \(error)") }
                XCTAssertTrue(array.hasPrefix(prefix), "\(label): mismatch reported for \(array)")
            }
        }
        try expectMismatch("zeroed biases", { m in m.arrays["vnet.1.x_layer.bias"] = try NDArray(shape: [6], doubles: [Double](repeating: 0, count: 6)) }, naming: "probe.vnet.1")
        try expectMismatch("transposed square kernel", { m in
            let k = try m.doubles("xnet_first.0.hidden1.kernel")
            m.arrays["xnet_first.0.hidden1.kernel"] = try NDArray(shape: [6, 6], doubles: (0..<36).map { k[($0 % 6) * 6 + $0 / 6] })
        }, naming: "probe.xnet_first.0")
        try expectMismatch("step sizes swapped", { m in
            let x = m.arrays["eps_x"]!; m.arrays["eps_x"] = m.arrays["eps_v"]; m.arrays["eps_v"] = x
            m.arrays["eps_x"] = try NDArray(shape: [3], doubles: [0.25, 0.2, 0.2])
        }, naming: "probe.trajectory")
        try expectMismatch("T sign flipped", { m in try m.updateSampler { $0.dynamics.translationSign = .minus } }, naming: "probe.trajectory")
    }

    private func multiply(_ p: [Double], _ q: [Double], _ m: Int, _ k: Int, _ n: Int) -> [Double] {
        (0..<(m * n)).map { idx in (0..<k).reduce(0) { $0 + p[(idx / n) * k + $1] * q[$1 * n + idx % n] } }
    }
}
