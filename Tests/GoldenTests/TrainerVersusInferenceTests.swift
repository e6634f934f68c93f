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

    /// Local networks (format 1.2): every sub-update's x, v and log-det and the acceptance, at
    /// square and non-square lattices (odd extents included), both link layouts, shared and
    /// per-step, split x-networks, time input, batch norm, kernels 1 and 3, both directions.
    static func localConfigurations() -> [(String, SamplerSpec)] {
        var out: [(String, SamplerSpec)] = []
        let lattices: [(Int, Int, LinkLayout)] = [(4, 4, .muTX), (3, 4, .tXMu), (2, 6, .muTX)]
        for (i, (lt, lx, layout)) in lattices.enumerated() {
            for netLayout in NetworkLayout.allCases {
                for xNets in [1, 2] {
                    let time = (i + xNets) % 2 == 0
                    let kernel = netLayout == .shared ? 3 : 1
                    let activation: Activation = [.tanh, .swish, .leakyRelu][i]
                    let spec = SamplerSpec(
                        target: .u1(U1Lattice(lt: lt, lx: lx, beta: 2.5, linkLayout: layout)),
                        dynamics: Dynamics(nLF: 3, xUpdate: .ncp, translationSign: xNets == 2 ? .minus : .plus),
                        network: .local(LocalNetworkSpec(kernelSize: kernel), layout: netLayout, xNetworksPerStep: xNets, timeInput: time,
                                        channels: [4, 3], activation: activation, transformationHead: i == 1 ? .tanh : .tanhExpCoeff,
                                        batchNorm: i == 2 ? BatchNormSpec(epsilon: 1e-5) : nil))
                    out.append(("local \(lt)x\(lx) \(layout.rawValue) \(netLayout.rawValue) xnets \(xNets) k\(kernel) time \(time) \(activation.rawValue)", spec))
                }
            }
        }
        return out
    }

    func testLocalNetworksAgreeAtEverySubUpdate() throws {
        var worst: [String: Double] = [:]
        for (label, spec) in Self.localConfigurations() {
            let model = try RandomModel.make(sampler: spec, seed: 31, epsX: 0.23, epsV: 0.17, weightScale: 0.7)
            let trainer = try TrainerModel(l2z: model)
            for forward in [true, false] {
                let c = try PathComparison.run(trainerModel: trainer, inferenceModel: model, rows: 3, forward: forward, seed: 6)
                XCTAssertGreaterThan(c.deviations.count, 3 * 4 * 3, "\(label): every sub-update compared")
                for f in c.failures { XCTFail("\(label), \(forward ? "forward" : "backward"): \(f)") }
                for d in c.deviations {
                    let key = String(d.quantity.prefix { $0 != " " })
                    worst[key] = max(worst[key] ?? 0, d.maxDifference)
                }
            }
        }
        print("golden (local): largest trainer/inference deviations: " + worst.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.2e", $0.value))" }.joined(separator: ", "))
    }

    /// The comparison can fail: a local model whose runtime copy has one conv weight changed by
    /// 1e-6 differs from the trainer's beyond the state tolerance.
    func testLocalComparisonDetectsAPerturbedWeight() throws {
        let spec = Self.localConfigurations()[0].1
        let model = try RandomModel.make(sampler: spec, seed: 31, epsX: 0.23, epsV: 0.17, weightScale: 0.7)
        var mutated = model
        var k = model.arrays["xnet.0.conv1.kernel"]?.doubles() ?? []
        XCTAssertFalse(k.isEmpty)
        k[5] += 1e-6
        mutated.arrays["xnet.0.conv1.kernel"] = try NDArray(shape: model.arrays["xnet.0.conv1.kernel"]?.shape ?? [], doubles: k)
        let c = try PathComparison.run(trainerModel: try TrainerModel(l2z: model), inferenceModel: mutated, rows: 3, forward: true, seed: 6)
        XCTAssertFalse(c.failures.isEmpty, "a 1e-6 weight change must be visible above the 1e-11 state tolerance")
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
