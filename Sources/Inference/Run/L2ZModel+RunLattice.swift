import ModelFormat

extension L2ZModel {
    /// The U(1) lattice a run of this model uses at `size`: the trained lattice with `lt x lx`
    /// replaced, keeping beta and the link layout. A local model runs at any size; a dense one
    /// (its networks have a fixed input width) only at its own, else `run.model_target_mismatch`,
    /// as is a model whose target is not a U(1) lattice. A flow runs at every size its mask rule
    /// allows (both sides multiples of 4).
    public func runLattice(_ size: LatticeSize) throws -> U1Lattice {
        if case let .flow(f) = spec {
            var lattice = f.target
            lattice.lt = size.lt; lattice.lx = size.lx
            do { try FlowRules.validate(lattice: lattice, rule: f.coupling.maskRule, path: "--lattice") } catch {
                throw InferenceError.modelTargetMismatch("--lattice \(size): the flow's masks (rule \(f.coupling.maskRule.rawValue)) need both sides to be multiples of 4")
            }
            return lattice
        }
        guard case var .u1(lattice) = try sampler.target else {
            throw InferenceError.modelTargetMismatch("--lattice applies to U(1) models")
        }
        if lattice.lt == size.lt && lattice.lx == size.lx { return lattice }
        guard try sampler.network.kind.local != nil else {
            throw InferenceError.modelTargetMismatch("--lattice \(size) does not match the model's \(lattice.lt)x\(lattice.lx) lattice (its networks have a fixed input size; only local models run at any size)")
        }
        lattice.lt = size.lt; lattice.lx = size.lx
        return lattice
    }
}
