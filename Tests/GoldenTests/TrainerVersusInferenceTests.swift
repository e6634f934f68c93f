import Foundation
import XCTest
import Audit
import ModelFormat
@testable import Inference
@testable import Trainer

/// The Trainer path and the Inference path agree on identical weights and inputs, for a matrix
/// of configurations: both targets, shared and per-step networks, one and two x-networks, time
/// input on and off, both T signs, both directions, two lattice sizes.
final class TrainerVersusInferenceTests: XCTestCase {
    static func configurations() -> [(String, SamplerSpec)] {
        var out: [(String, SamplerSpec)] = []
        for (lt, lx) in [(2, 3), (4, 4)] {
            for layout in NetworkLayout.allCases {
                for xNets in [1, 2] {
                    for time in [true, false] {
                        for sign in TranslationSign.allCases {
                            let spec = SamplerSpec(
                                target: .u1(U1Lattice(lt: lt, lx: lx, beta: 2.5)),
                                dynamics: Dynamics(nLF: 3, xUpdate: .ncp, translationSign: sign),
                                network: NetworkSpec(layout: layout, xNetworksPerStep: xNets, xNetInput: .cosSinBlocks, vNetInput: .raw,
                                                     maskPlacement: .beforeTrig, timeInput: time, hiddenUnits: [8, 6], activation: .tanh))
                            out.append(("u1 \(lt)x\(lx) \(layout.rawValue) xnets \(xNets) time \(time) sign \(sign.rawValue)", spec))
                        }
                    }
                }
            }
        }
        out.append(("u1 interleaved after-trig swish", SamplerSpec(
            target: .u1(U1Lattice(lt: 2, lx: 2, beta: 1.5, linkLayout: .muTX)), dynamics: Dynamics(nLF: 2, xUpdate: .ncp),
            network: NetworkSpec(layout: .perStep, xNetworksPerStep: 2, xNetInput: .cosSinInterleaved, vNetInput: .cosSinBlocks,
                                 maskPlacement: .afterTrig, timeInput: true, hiddenUnits: [5], activation: .swish, transformationHead: .tanh))))
        // PyTorch's default hidden activation (nn.LeakyReLU(), slope 0.01): U(1) and the mixture.
        out.append(("u1 per-step split leaky_relu", SamplerSpec(
            target: .u1(U1Lattice(lt: 2, lx: 3, beta: 2.5)), dynamics: Dynamics(nLF: 3, xUpdate: .ncp, translationSign: .minus),
            network: NetworkSpec(layout: .perStep, xNetworksPerStep: 2, xNetInput: .cosSinBlocks, vNetInput: .raw,
                                 maskPlacement: .beforeTrig, timeInput: true, hiddenUnits: [8, 6], activation: .leakyRelu))))
        let leakyCov = [[0.2, 0.05], [0.05, 0.3]]
        out.append(("mixture shared leaky_relu", SamplerSpec(
            target: .gaussianMixture(GaussianMixture(dimension: 2, weights: [0.3, 0.7], means: [[-1, 0], [1, 0.5]], covariances: [leakyCov, leakyCov])),
            dynamics: Dynamics(nLF: 3, xUpdate: .linear, translationSign: .minus),
            network: NetworkSpec(layout: .shared, xNetworksPerStep: 1, xNetInput: .raw, vNetInput: .raw, maskPlacement: nil,
                                 timeInput: true, hiddenUnits: [8, 8], activation: .leakyRelu))))
        for layout in NetworkLayout.allCases {
            for xNets in [1, 2] {
                let cov = [[0.2, 0.05], [0.05, 0.3]]
                out.append(("mixture \(layout.rawValue) xnets \(xNets)", SamplerSpec(
                    target: .gaussianMixture(GaussianMixture(dimension: 2, weights: [0.3, 0.7], means: [[-1, 0], [1, 0.5]], covariances: [cov, cov])),
                    dynamics: Dynamics(nLF: 3, xUpdate: .linear, translationSign: .minus),
                    network: NetworkSpec(layout: layout, xNetworksPerStep: xNets, xNetInput: .raw, vNetInput: .raw, maskPlacement: nil,
                                         timeInput: true, hiddenUnits: [8], activation: .relu))))
            }
        }
        return out
    }

    func testBothPathsAgreeAtEveryStepAndNetworkEvaluation() throws {
        var worst: [String: Double] = [:]
        for (label, spec) in Self.configurations() {
            let model = try RandomModel.make(sampler: spec, seed: 21, epsX: 0.23, epsV: 0.17, weightScale: 0.7)
            let trainer = try TrainerModel(l2z: model)
            for forward in [true, false] {
                let c = try PathComparison.run(trainerModel: trainer, inferenceModel: model, rows: 3, forward: forward, seed: 5)
                for f in c.failures { XCTFail("\(label), \(forward ? "forward" : "backward"): \(f)") }
                for d in c.deviations {
                    let key = String(d.quantity.prefix { $0 != " " })
                    worst[key] = max(worst[key] ?? 0, d.maxDifference)
                }
            }
        }
        // The largest deviations observed (printed for the record).
        print("golden: largest trainer/inference deviations: " + worst.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2e", $0.value))" }.joined(separator: ", "))
    }
}
