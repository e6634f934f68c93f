import Foundation
import ModelFormat

/// The 8 per-site input channels of a local network (docs: /work/local-design.md, "Per-site
/// input features"), forward and backward, as a [rows * sites, 8] matrix (row r * sites + s).
///
/// x-networks (reading r = 1 - u where u is the sub-update's update mask; `other` = momenta v):
///   r_0 cos x_0, r_0 sin x_0, r_1 cos x_1, r_1 sin x_1, r_0, r_1, v_0, v_1
/// v-networks (`other` = the force F):
///   cos x_0, sin x_0, cos x_1, sin x_1, cos P, sin P, F_0, F_1
/// with x_mu, v_mu, F_mu, r_mu the values of link (mu, t, x) and P = P(t, x).
struct LocalSiteFeatures {
    enum Role: Sendable { case x, v }
    let role: Role
    let lattice: LocalLattice

    static let channels = LocalNetworkRules.inputChannels

    /// Features of every row; `read` (x-networks only) is 0/1 per link.
    func forward(x: Matrix, read: [Double]?, other: Matrix) -> Matrix {
        let v = lattice.sites, n = lattice.links, c = Self.channels
        var f = Matrix(zeros: x.rows * v, c)
        for r in 0..<x.rows {
            for s in 0..<v {
                let l0 = lattice.link[2 * s], l1 = lattice.link[2 * s + 1]
                let x0 = x.data[r * n + l0], x1 = x.data[r * n + l1]
                let o = (r * v + s) * c
                switch role {
                case .x:
                    let r0 = read?[l0] ?? 1, r1 = read?[l1] ?? 1
                    f.data[o] = r0 * cos(x0); f.data[o + 1] = r0 * sin(x0)
                    f.data[o + 2] = r1 * cos(x1); f.data[o + 3] = r1 * sin(x1)
                    f.data[o + 4] = r0; f.data[o + 5] = r1
                case .v:
                    let pl = lattice.plaquette[s]
                    let p = x.data[r * n + pl.0] + x.data[r * n + pl.1] - x.data[r * n + pl.2] - x.data[r * n + pl.3]
                    f.data[o] = cos(x0); f.data[o + 1] = sin(x0)
                    f.data[o + 2] = cos(x1); f.data[o + 3] = sin(x1)
                    f.data[o + 4] = cos(p); f.data[o + 5] = sin(p)
                }
                f.data[o + 6] = other.data[r * n + l0]; f.data[o + 7] = other.data[r * n + l1]
            }
        }
        return f
    }

    /// Given g = dL/d(features), dL/dx and dL/d(other) ([rows, n] each).
    func backward(_ g: Matrix, x: Matrix, read: [Double]?) -> (gx: Matrix, gOther: Matrix) {
        let v = lattice.sites, n = lattice.links, c = Self.channels
        var gx = Matrix(zeros: x.rows, n), go = Matrix(zeros: x.rows, n)
        for r in 0..<x.rows {
            for s in 0..<v {
                let l0 = lattice.link[2 * s], l1 = lattice.link[2 * s + 1]
                let x0 = x.data[r * n + l0], x1 = x.data[r * n + l1]
                let o = (r * v + s) * c
                // d(a cos x)/dx = -a sin x, d(a sin x)/dx = a cos x; a = r_mu (x-networks) or 1.
                let r0 = role == .x ? (read?[l0] ?? 1) : 1, r1 = role == .x ? (read?[l1] ?? 1) : 1
                gx.data[r * n + l0] += r0 * (-sin(x0) * g.data[o] + cos(x0) * g.data[o + 1])
                gx.data[r * n + l1] += r1 * (-sin(x1) * g.data[o + 2] + cos(x1) * g.data[o + 3])
                if role == .v {
                    let pl = lattice.plaquette[s]
                    let p = x.data[r * n + pl.0] + x.data[r * n + pl.1] - x.data[r * n + pl.2] - x.data[r * n + pl.3]
                    let gp = -sin(p) * g.data[o + 4] + cos(p) * g.data[o + 5]
                    gx.data[r * n + pl.0] += gp; gx.data[r * n + pl.1] += gp
                    gx.data[r * n + pl.2] -= gp; gx.data[r * n + pl.3] -= gp
                }
                go.data[r * n + l0] += g.data[o + 6]; go.data[r * n + l1] += g.data[o + 7]
            }
        }
        return (gx, go)
    }
}
