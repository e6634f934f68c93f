/// The mask of one coupling layer (rule `plaquette_stripes_4`): with c the coordinate
/// perpendicular to mu (x when mu = 0, t when mu = 1) and r = c mod 4, the plaquette at a site
/// is active when r == off, frozen when r == off + 1 or off + 2 (mod 4), passive when
/// r == off + 3; the only links that change are the direction-mu links of the active sites,
/// z0 += delta (mu = 0) or z1 -= delta (mu = 1), so the active plaquette becomes P' and the
/// passive one behind it absorbs -delta.
struct FlowLayerMask: Equatable {
    let mu: Int
    let off: Int
    /// Per site: the frozen plaquettes (the inner network's only non-constant input).
    let frozen: [Bool]
    /// The active sites in increasing order, and the link each moves.
    let activeSites: [Int]
    let activeLinks: [Int]
    /// +1 (mu = 0) or -1 (mu = 1): the sign with which delta enters the active link.
    var sign: Double { mu == 0 ? 1 : -1 }

    init(mu: Int, off: Int, lt: Int, lx: Int) {
        self.mu = mu; self.off = off
        var frozen: [Bool] = [], activeSites: [Int] = [], activeLinks: [Int] = []
        for t in 0..<lt {
            for x in 0..<lx {
                let r = (mu == 0 ? x : t) % 4
                frozen.append(r == (off + 1) % 4 || r == (off + 2) % 4)
                if r == off {
                    activeSites.append(t * lx + x)
                    activeLinks.append((mu * lt + t) * lx + x)
                }
            }
        }
        self.frozen = frozen; self.activeSites = activeSites; self.activeLinks = activeLinks
    }
}
