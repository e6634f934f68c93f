@testable import ModelFormat

/// Small model descriptions used across the format tests.
enum TestModels {
    static func u1(lt: Int = 2, lx: Int = 3, nLF: Int = 2, layout: NetworkLayout = .shared, xNets: Int = 1,
                   xInput: InputEncoding = .cosSinBlocks, batchNorm: Bool = false, time: Bool = true,
                   units: [Int] = [5, 4]) -> SamplerSpec {
        SamplerSpec(
            target: .u1(U1Lattice(lt: lt, lx: lx, beta: 2.5, linkLayout: .tXMu)),
            dynamics: Dynamics(nLF: nLF, xUpdate: .ncp, translationSign: .minus, epsXParametrization: .epsOverOnePlusEps),
            network: NetworkSpec(layout: layout, xNetworksPerStep: xNets, xNetInput: xInput, vNetInput: .raw,
                                 maskPlacement: xInput == .raw ? nil : .afterTrig, timeInput: time, hiddenUnits: units,
                                 activation: .tanh, scaleHead: .tanhExpCoeff, transformationHead: .tanh,
                                 batchNorm: batchNorm ? BatchNormSpec(epsilon: 1e-3) : nil),
            netWeights: NetWeights(xScale: 0.5, xTranslation: 1, xTransformation: 1, vScale: 1, vTranslation: 0.25, vTransformation: 1))
    }

    static func mixture(nLF: Int = 3) -> SamplerSpec {
        let cov = [[0.1, 0.02], [0.02, 0.2]]
        return SamplerSpec(
            target: .gaussianMixture(GaussianMixture(dimension: 2, weights: [0.25, 0.75], means: [[-2, 0], [2, 0.5]], covariances: [cov, cov])),
            dynamics: Dynamics(nLF: nLF, xUpdate: .linear),
            network: NetworkSpec(layout: .perStep, xNetworksPerStep: 2, xNetInput: .raw, vNetInput: .raw,
                                 maskPlacement: nil, timeInput: false, hiddenUnits: [6]))
    }

    /// A model with a probe whose arrays are filled with deterministic values (not computed by
    /// a runtime: the format only checks presence, shapes and finiteness).
    static func withProbe(_ sampler: SamplerSpec, seed: UInt64 = 3, batch: Int = 2) throws -> L2ZModel {
        var model = try RandomModel.make(sampler: sampler, seed: seed)
        let probe = ProbeSpec(batch: batch, networks: [SamplerRules.networkNames(sampler)[0]], trajectory: true,
                              headsTolerance: Tolerance(abs: 1e-12, rel: 1e-10),
                              trajectoryTolerance: Tolerance(abs: 1e-10, rel: 1e-10), logDetTolerance: Tolerance(abs: 1e-10, rel: 1e-10))
        var rng = SplitMix64(seed: seed ^ 0xABCD)
        for (name, e) in SamplerRules.expectedArrays(sampler, probe: probe) where e.role == .probe {
            let count = e.shape.reduce(1, *)
            let values = name.hasSuffix("direction") ? (0..<count).map { $0 % 2 == 0 ? 1.0 : -1.0 } : (0..<count).map { _ in rng.normal() }
            model.arrays[name] = try NDArray(shape: e.shape, doubles: values)
        }
        model.probe = probe
        return model
    }
}
