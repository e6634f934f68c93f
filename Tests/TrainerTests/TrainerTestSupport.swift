import Foundation
import ModelFormat
@testable import Trainer

enum TrainerFixtures {
    static func u1(lt: Int = 2, lx: Int = 2, nLF: Int = 2, layout: NetworkLayout = .shared, xNets: Int = 1, xInput: InputEncoding = .cosSinBlocks,
                   placement: MaskPlacement? = .beforeTrig, vInput: InputEncoding = .raw, time: Bool = true, sign: TranslationSign = .plus,
                   xUpdate: XUpdateForm = .ncp, activation: Activation = .tanh, units: [Int] = [6, 5], beta: Double = 2) -> SamplerSpec {
        var w = NetWeights.all(1)
        if xUpdate == .linear { w.xScale = 0 }
        return SamplerSpec(target: .u1(U1Lattice(lt: lt, lx: lx, beta: beta)),
                           dynamics: Dynamics(nLF: nLF, xUpdate: xUpdate, translationSign: sign),
                           network: NetworkSpec(layout: layout, xNetworksPerStep: xNets, xNetInput: xInput, vNetInput: vInput,
                                                maskPlacement: xInput == .raw ? nil : placement, timeInput: time, hiddenUnits: units,
                                                activation: activation),
                           netWeights: w)
    }

    static func mixture(nLF: Int = 2, layout: NetworkLayout = .perStep, xNets: Int = 2) -> SamplerSpec {
        let c1 = [[0.3, 0.05], [0.05, 0.2]], c2 = [[0.15, 0.0], [0.0, 0.25]]
        return SamplerSpec(target: .gaussianMixture(GaussianMixture(dimension: 2, weights: [0.4, 0.6], means: [[-1, 0], [1, 0.3]], covariances: [c1, c2])),
                           dynamics: Dynamics(nLF: nLF, xUpdate: .linear),
                           network: NetworkSpec(layout: layout, xNetworksPerStep: xNets, xNetInput: .raw, vNetInput: .raw, maskPlacement: nil,
                                                timeInput: true, hiddenUnits: [6], activation: .tanh))
    }

    /// A model whose every parameter is perturbed (so biases and coefficients are non-zero and
    /// every head matters).
    static func model(_ spec: SamplerSpec, seed: UInt64 = 1, eps: Double = 0.25, noise: Double = 0.2) throws -> TrainerModel {
        var m = try TrainerModel(spec: spec, eps: eps, seed: seed, kernelScale: 1)
        var rng = SplitMix64(seed: seed ^ 0x5EED)
        for i in 0..<m.params.values.count { m.params.values[i] += noise * rng.normal() }
        return m
    }

    static func normals(_ rows: Int, _ cols: Int, seed: UInt64, scale: Double = 1) -> Matrix {
        var rng = SplitMix64(seed: seed)
        return Matrix(rows: rows, cols: cols, data: (0..<(rows * cols)).map { _ in scale * rng.normal() })
    }
}
