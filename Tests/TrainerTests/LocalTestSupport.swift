import Foundation
import ModelFormat
@testable import Trainer

extension TrainerFixtures {
    /// A U(1) sampler with local networks (small channels so the tests stay fast).
    static func local(lt: Int = 4, lx: Int = 4, nLF: Int = 2, layout: NetworkLayout = .shared, xNets: Int = 1, kernel: Int = 3,
                      channels: [Int] = [3, 2], time: Bool = true, activation: Activation = .tanh, sign: TranslationSign = .plus,
                      linkLayout: LinkLayout = .tXMu, batchNorm: Bool = false, coefficients: Bool = true, beta: Double = 2) -> SamplerSpec {
        let head: SquashedHead = coefficients ? .tanhExpCoeff : .tanh
        return SamplerSpec(target: .u1(U1Lattice(lt: lt, lx: lx, beta: beta, linkLayout: linkLayout)),
                           dynamics: Dynamics(nLF: nLF, xUpdate: .ncp, translationSign: sign),
                           network: .local(LocalNetworkSpec(kernelSize: kernel), layout: layout, xNetworksPerStep: xNets, timeInput: time,
                                           channels: channels, activation: activation, scaleHead: head, transformationHead: head,
                                           batchNorm: batchNorm ? BatchNormSpec(epsilon: 1e-3) : nil),
                           netWeights: .all(1))
    }

    /// A local model with every parameter perturbed by `noise` normals (so biases and
    /// coefficients are non-zero); batch-norm variances are kept positive (0.3 + |noise|).
    /// Built from the parts, so batch norm (which the trainer does not train) is allowed.
    static func localModel(_ spec: SamplerSpec, seed: UInt64 = 1, eps: Double = 0.25, noise: Double = 0.2) throws -> TrainerModel {
        let masks = try TrainerModel.ruleMasks(spec)
        var store = ParameterStore()
        var rng = SplitMix64(seed: seed)
        let dyn = TrainerDynamics(spec: spec, target: makeTrainingTarget(spec.target), masks: masks)
        for net in dyn.networks { net.addParameters(to: &store, rng: &rng, kernelScale: 1) }
        store.add("log_eps_x", shape: [spec.dynamics.nLF], values: [Double](repeating: log(eps), count: spec.dynamics.nLF))
        store.add("log_eps_v", shape: [spec.dynamics.nLF], values: [Double](repeating: log(eps * 1.1), count: spec.dynamics.nLF))
        for slice in store.slices {
            for i in slice.range {
                let z = noise * rng.normal()
                store.values[i] = slice.name.hasSuffix("moving_variance") ? 0.3 + abs(z) : store.values[i] + z
            }
        }
        return TrainerModel(spec: spec, masks: masks, params: store)
    }

    /// Uniform angles in [-pi, pi).
    static func angles(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
        var rng = SplitMix64(seed: seed)
        return Matrix(rows: rows, cols: cols, data: (0..<(rows * cols)).map { _ in 2 * .pi * rng.uniform() - .pi })
    }
}
