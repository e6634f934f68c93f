import Foundation
import ModelFormat

/// A sampler being trained: its description, masks and parameters.
public struct TrainerModel: Sendable, Equatable {
    public let spec: SamplerSpec
    /// m^k per step ([N_LF][n], 0/1).
    public let masks: [[Double]]
    public var params: ParameterStore

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case unsupported(String)
        public var description: String {
            switch self { case let .unsupported(s): return "[train.unsupported] \(s)" }
        }
    }

    /// Fresh parameters: Glorot-uniform kernels (heads scaled by 0.1), zero biases and
    /// coefficients, step sizes `eps`; dense networks get one random half-permutation mask per
    /// step, local networks the masks of their rule at the target's lattice.
    public init(spec: SamplerSpec, eps: Double, seed: UInt64, kernelScale: Double = 1) throws {
        guard spec.network.batchNorm == nil else { throw Failure.unsupported("the trainer does not train batch norm; set network.batch_norm to null") }
        guard spec.network.convStack == nil else { throw Failure.unsupported(Self.convStackRefusal) }
        if case .u1 = spec.target, spec.dynamics.xUpdate == .linear, spec.netWeights.xScale != 0 {
            throw Failure.unsupported("a linear x update on U(1) needs the x-scale net weight 0 (or use the ncp x update)")
        }
        guard spec.dynamics.epsXParametrization == .raw, spec.dynamics.epsVParametrization == .raw else {
            throw Failure.unsupported("the trainer exports raw step sizes (it trains log eps)")
        }
        self.spec = spec
        var rng = SplitMix64(seed: seed)
        let n = spec.stateSize
        var masks: [[Double]] = []
        if spec.network.kind.local != nil {
            masks = try Self.ruleMasks(spec)
        } else {
            for _ in 0..<spec.dynamics.nLF {
                var idx = Array(0..<n)
                idx.shuffle(using: &rng)
                var m = [Double](repeating: 0, count: n)
                for i in idx.prefix(n / 2) { m[i] = 1 }
                masks.append(m)
            }
        }
        self.masks = masks
        var store = ParameterStore()
        let dyn = TrainerDynamics(spec: spec, target: makeTrainingTarget(spec.target), masks: masks)
        for net in dyn.networks { net.addParameters(to: &store, rng: &rng, kernelScale: kernelScale) }
        store.add("log_eps_x", shape: [spec.dynamics.nLF], values: [Double](repeating: log(eps), count: spec.dynamics.nLF))
        store.add("log_eps_v", shape: [spec.dynamics.nLF], values: [Double](repeating: log(eps), count: spec.dynamics.nLF))
        params = store
    }

    /// Why the trainer refuses a network with a convolution stack (format 1.3): it has no forward
    /// pass or gradients for it; the runtime runs such (converted) models.
    static let convStackRefusal = "the trainer does not implement the convolution stack (network.conv_stack, format 1.3); l2hmc-run runs such models, the trainer cannot train, resume or recompute them"

    /// The masks of a local network's rule at the spec's U(1) lattice, one row per stored step
    /// (``LocalNetworkRules/updateMask(_:step:lt:lx:layout:)``); `train.unsupported` for a local
    /// network on any other target.
    static func ruleMasks(_ spec: SamplerSpec) throws -> [[Double]] {
        guard let local = spec.network.kind.local else { throw Failure.unsupported("masks by rule need a local network") }
        guard case let .u1(l) = spec.target else { throw Failure.unsupported("local networks act on the sites of a U(1) lattice") }
        return (0..<spec.dynamics.nLF).map { k in
            LocalNetworkRules.updateMask(local.maskRule, step: k, lt: l.lt, lx: l.lx, layout: l.linkLayout).map { Double($0) }
        }
    }

    /// The same local model on an lt x lx lattice (same link layout and beta): no parameter
    /// depends on the lattice, only the masks (the rule re-evaluated) and the state size.
    /// `train.unsupported` for a dense model, whose shapes are tied to its lattice.
    public func resized(lt: Int, lx: Int) throws -> TrainerModel {
        guard spec.network.kind.local != nil, case let .u1(l) = spec.target else {
            throw Failure.unsupported("only a local model runs at another lattice size")
        }
        guard lt >= 1, lx >= 1 else { throw Failure.unsupported("lattice \(lt)x\(lx): both sides must be >= 1") }
        var s = spec
        s.target = .u1(U1Lattice(lt: lt, lx: lx, beta: l.beta, linkLayout: l.linkLayout))
        return TrainerModel(spec: s, masks: try Self.ruleMasks(s), params: params)
    }

    /// Restores a model from its parts (checkpoints).
    public init(spec: SamplerSpec, masks: [[Double]], params: ParameterStore) {
        self.spec = spec; self.masks = masks; self.params = params
    }

    func dynamics() -> TrainerDynamics {
        TrainerDynamics(spec: spec, target: makeTrainingTarget(spec.target), masks: masks)
    }
}

func makeTrainingTarget(_ t: Target) -> TrainingTarget {
    switch t {
    case let .u1(l): return U1TrainingTarget(lattice: l)
    case let .gaussianMixture(g): return MixtureTrainingTarget(mixture: g)
    }
}
