import Foundation
import XCTest
import Audit
import ModelFormat
@testable import Inference
@testable import Trainer

/// Each fault that happened (or could happen) upstream, injected into an exported model, makes
/// the golden comparison fail, and the stored probe catch it too. This proves the suite can
/// catch them.
final class MutationTests: XCTestCase {
    static func trainedLikeModel() throws -> (TrainerModel, L2ZModel) {
        let spec = SamplerSpec(
            target: .u1(U1Lattice(lt: 2, lx: 3, beta: 2)),
            dynamics: Dynamics(nLF: 3, xUpdate: .ncp),
            network: NetworkSpec(layout: .perStep, xNetworksPerStep: 2, xNetInput: .cosSinBlocks, vNetInput: .raw,
                                 maskPlacement: .beforeTrig, timeInput: true, hiddenUnits: [8, 8], activation: .tanh))
        var model = try TrainerModel(spec: spec, eps: 0.2, seed: 3)
        // Non-trivial "trained" values: every parameter perturbed, distinct step sizes per step and for x and v.
        var rng = SplitMix64(seed: 4)
        for i in 0..<model.params.values.count { model.params.values[i] += 0.3 * rng.normal() }
        let ex = model.params.offset("log_eps_x"), ev = model.params.offset("log_eps_v")
        for k in 0..<3 { model.params.values[ex + k] = log(0.15 + 0.03 * Double(k)); model.params.values[ev + k] = log(0.25 - 0.02 * Double(k)) }
        let exported = try ModelExporter.export(model, provenance: Provenance(producer: "test", producerVersion: "0"))
        return (model, exported)
    }

    func testEveryInjectedFaultIsCaught() throws {
        let (trainer, exported) = try Self.trainedLikeModel()
        // Sanity: the unmutated export agrees and its probe reproduces.
        for forward in [true, false] {
            XCTAssertTrue(try PathComparison.run(trainerModel: trainer, inferenceModel: exported, rows: 3, forward: forward, seed: 1).failures.isEmpty)
        }
        XCTAssertNoThrow(try ProbeVerifier.verify(model: exported, target: makeTarget(exported.sampler.target)))

        let mutations: [(String, (inout L2ZModel) throws -> Void)] = [
            ("zeroed biases on export", { m in
                for name in m.arrays.keys where name.hasSuffix(".bias") && !name.hasPrefix("probe.") {
                    m.arrays[name] = try NDArray(shape: m.arrays[name]!.shape, doubles: [Double](repeating: 0, count: m.arrays[name]!.elementCount))
                }
            }),
            ("a transposed square kernel", { m in
                let k = try m.doubles("vnet.1.hidden1.kernel")
                m.arrays["vnet.1.hidden1.kernel"] = try NDArray(shape: [8, 8], doubles: (0..<64).map { k[($0 % 8) * 8 + $0 / 8] })
            }),
            ("two leapfrog steps' networks swapped", { m in
                for name in m.arrays.keys where name.hasPrefix("xnet_first.0.") {
                    let other = name.replacingOccurrences(of: "xnet_first.0.", with: "xnet_first.1.")
                    let a = m.arrays[name]; m.arrays[name] = m.arrays[other]; m.arrays[other] = a
                }
            }),
            ("the T sign flipped", { m in try m.updateSampler { $0.dynamics.translationSign = .minus } }),
            ("masks swapped", { m in
                let masks = m.arrays["masks"]!.bytes, n = try m.sampler.stateSize
                let swapped = Array(masks[n..<(2 * n)]) + Array(masks[0..<n]) + Array(masks[(2 * n)...])
                m.arrays["masks"] = try NDArray(shape: [3, n], uint8s: swapped)
            }),
            ("step sizes swapped between x and v", { m in
                let x = m.arrays["eps_x"]; m.arrays["eps_x"] = m.arrays["eps_v"]; m.arrays["eps_v"] = x
            }),
        ]
        for (label, mutate) in mutations {
            var bad = exported
            try mutate(&bad)
            var caughtByGolden = false
            for forward in [true, false] {
                let c = try PathComparison.run(trainerModel: trainer, inferenceModel: bad, rows: 3, forward: forward, seed: 1)
                if !c.failures.isEmpty { caughtByGolden = true }
            }
            XCTAssertTrue(caughtByGolden, "\(label) was not caught by the golden comparison")
            XCTAssertThrowsError(try ProbeVerifier.verify(model: bad, target: makeTarget(bad.sampler.target)), "\(label) was not caught by the probe")
        }
    }
}
