import Foundation

/// The U(1) Wilson action of the product, S(x) = beta sum_P (1 - cos P) per chain (upstream's
/// -beta sum cos P plus the constant beta V), and its gradient dS/dx = beta sum_P sin P dP/dx,
/// on a ``FlowLattice``.
struct FlowGaugeAction {
    let beta: Double
    let lattice: FlowLattice

    func action(_ x: Matrix) -> [Double] {
        let p = lattice.plaquettes(x), sites = lattice.sites
        return (0..<x.rows).map { r in beta * (0..<sites).reduce(0) { $0 + (1 - cos(p[r * sites + $1])) } }
    }

    /// weight[r] dS_r/dx_r for every chain r.
    func gradient(_ x: Matrix, weights: [Double]) -> Matrix {
        let p = lattice.plaquettes(x), sites = lattice.sites
        var gPlaq = p
        for r in 0..<x.rows { for s in 0..<sites { gPlaq[r * sites + s] = weights[r] * beta * sin(p[r * sites + s]) } }
        var g = Matrix(zeros: x.rows, x.cols)
        lattice.addPlaquetteGradient(gPlaq, to: &g)
        return g
    }
}
