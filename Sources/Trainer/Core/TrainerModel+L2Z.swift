import Foundation
import ModelFormat

extension TrainerModel {
    /// Loads any `.l2z` model whose architecture the trainer implements (everything the format
    /// expresses except batch norm of dense networks and the convolution stack, both refused with
    /// `train.unsupported`), so the trainer's independent forward pass can recompute what the
    /// runtime computes. Step sizes become `log_eps = log(step size)` whatever the stored
    /// parametrization, so the trainer uses exactly the model's effective step sizes. Dense models take their `masks` array; local models (no `masks` array) the
    /// masks of their rule at the manifest's lattice (``resized(lt:lx:)`` moves them to another).
    public init(l2z model: L2ZModel) throws {
        let spec = try model.sampler
        let local = spec.network.kind.local != nil
        guard spec.network.convStack == nil else { throw Failure.unsupported(Self.convStackRefusal) }
        guard local || spec.network.batchNorm == nil else { throw Failure.unsupported("the trainer does not implement batch norm of dense networks") }
        let n = spec.stateSize
        let masks: [[Double]]
        if local {
            masks = try Self.ruleMasks(spec)
        } else {
            let maskValues = try model.doubles("masks")
            guard maskValues.count == spec.dynamics.nLF * n else { throw Failure.unsupported("array masks has \(maskValues.count) values, expected \(spec.dynamics.nLF * n)") }
            masks = (0..<spec.dynamics.nLF).map { Array(maskValues[($0 * n)..<(($0 + 1) * n)]) }
        }
        var store = ParameterStore()
        let dyn = TrainerDynamics(spec: spec, target: makeTrainingTarget(spec.target), masks: masks)
        var template = ParameterStore()
        var rng = SplitMix64(seed: 0)
        for net in dyn.networks { net.addParameters(to: &template, rng: &rng, kernelScale: 1) }
        for slice in template.slices {
            guard let a = model.arrays[slice.name] else { throw Failure.unsupported("array \(slice.name) is missing") }
            guard a.shape == slice.shape else { throw Failure.unsupported("array \(slice.name) has shape \(a.shape), expected \(slice.shape)") }
            store.add(slice.name, shape: slice.shape, values: a.doubles())
        }
        let ex = try model.doubles("eps_x").map { log(spec.dynamics.epsXParametrization.stepSize($0)) }
        let ev = try model.doubles("eps_v").map { log(spec.dynamics.epsVParametrization.stepSize($0)) }
        store.add("log_eps_x", shape: [ex.count], values: ex)
        store.add("log_eps_v", shape: [ev.count], values: ev)
        self.init(spec: spec, masks: masks, params: store)
    }
}
