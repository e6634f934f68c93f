/// FT-HMC in z: S~(z) = S(f(z)) - log|det J_f(z)| and its force dS~/dz, reverse mode through
/// every layer (plaquettes, mixture, networks, the cos/sin input). The parameters' gradients
/// of S~ are computed on the way and discarded.
extension TrainableFlow {
    func actionTilde(_ z: Matrix, action: FlowGaugeAction) -> [Double] {
        let f = forward(z, lattice: action.lattice)
        return zip(action.action(f.x), f.logDet).map { $0 - $1 }
    }

    /// dS~/dz per chain, [chains, n].
    func force(_ z: Matrix, action: FlowGaugeAction) -> Matrix {
        let f = forward(z, lattice: action.lattice)
        let gx = action.gradient(f.x, weights: [Double](repeating: 1, count: z.rows))
        var scratch = [Double](repeating: 0, count: params.values.count)
        return backward(f.tape, gx: gx, gLogDet: [Double](repeating: -1, count: z.rows), lattice: action.lattice, grads: &scratch)
    }
}
