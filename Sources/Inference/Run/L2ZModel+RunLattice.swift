import ModelFormat

extension L2ZModel {
    /// The U(1) lattice a run of this model uses at `size`: the trained lattice with `lt x lx`
    /// replaced, keeping beta and the link layout. A local model runs at any size; a dense one
    /// (its networks have a fixed input width) only at its own, else `run.model_target_mismatch`,
    /// as is a model whose target is not a U(1) lattice.
    public func runLattice(_ size: LatticeSize) throws -> U1Lattice {
        guard case var .u1(lattice) = sampler.target else {
            throw InferenceError.modelTargetMismatch("--lattice applies to U(1) models")
        }
        if lattice.lt == size.lt && lattice.lx == size.lx { return lattice }
        guard sampler.network.kind.local != nil else {
            throw InferenceError.modelTargetMismatch("--lattice \(size) does not match the model's \(lattice.lt)x\(lattice.lx) lattice (its networks have a fixed input size; only local models run at any size)")
        }
        lattice.lt = size.lt; lattice.lx = size.lx
        return lattice
    }
}
