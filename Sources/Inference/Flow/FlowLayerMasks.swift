import ModelFormat

/// The masks of one coupling layer on one lattice (rule `plaquette_stripes_4`, docs/FORMAT.md
/// 13.2): layer i has mu = i mod 2 and offset o = floor(i / 2) mod 4; with r the coordinate
/// perpendicular to mu taken mod 4, plaquettes at r = o are active, at o+1 and o+2 frozen, at
/// o+3 passive; the direction-mu link at each active site changes (by +delta for mu = 0,
/// -delta for mu = 1). Sites are numbered s = t * lx + x; links in layout `mu_t_x`.
struct FlowLayerMasks {
    /// The direction of the links this layer changes.
    let mu: Int
    /// Sites of the active plaquettes, in increasing order.
    let activeSites: [Int]
    /// The link each active site changes (index into one chain's links).
    let activeLinks: [Int]
    /// +1 (mu = 0) or -1 (mu = 1): the sign of delta on the active link.
    let sign: Double
    /// 1 at frozen plaquettes, 0 elsewhere, per site.
    let frozen: [Double]

    init(layer: Int, lt: Int, lx: Int) {
        mu = layer % 2
        let offset = (layer / 2) % 4
        var active: [Int] = [], links: [Int] = []
        var frozen = [Double](repeating: 0, count: lt * lx)
        for t in 0..<lt {
            for x in 0..<lx {
                let r = (mu == 0 ? x : t) % 4
                let s = t * lx + x
                if r == offset {
                    active.append(s)
                    links.append((mu * lt + t) * lx + x)
                } else if r == (offset + 1) % 4 || r == (offset + 2) % 4 {
                    frozen[s] = 1
                }
            }
        }
        activeSites = active; activeLinks = links; self.frozen = frozen
        sign = mu == 0 ? 1 : -1
    }
}
