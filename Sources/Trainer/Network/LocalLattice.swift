import ModelFormat

/// The sites and links of a periodic lt x lx lattice as the trainer's local networks see them:
/// site s = t lx + x; link (mu, t, x) at the flat index of the target's link layout.
struct LocalLattice: Equatable {
    let lt: Int
    let lx: Int
    let layout: LinkLayout
    /// link[2 s + mu]: the flat index of link (mu, t, x) of site s.
    let link: [Int]
    /// Per site the four links of P(t, x) = x_0(t,x) + x_1(t+1,x) - x_0(t,x+1) - x_1(t,x), in
    /// that order (signs + + - -).
    let plaquette: [(Int, Int, Int, Int)]

    var sites: Int { lt * lx }
    /// Links (coordinates) of the lattice.
    var links: Int { 2 * lt * lx }

    init(lt: Int, lx: Int, layout: LinkLayout) {
        self.lt = lt; self.lx = lx; self.layout = layout
        func index(_ t: Int, _ x: Int, _ mu: Int) -> Int { layout.index(t: t % lt, x: x % lx, mu: mu, lt: lt, lx: lx) }
        var link: [Int] = [], plaquette: [(Int, Int, Int, Int)] = []
        for t in 0..<lt {
            for x in 0..<lx {
                link += [index(t, x, 0), index(t, x, 1)]
                plaquette.append((index(t, x, 0), index(t + 1, x, 1), index(t, x + 1, 0), index(t, x, 1)))
            }
        }
        self.link = link; self.plaquette = plaquette
    }

    init(_ l: U1Lattice) { self.init(lt: l.lt, lx: l.lx, layout: l.linkLayout) }

    /// The site read by tap (p, q) of a k x k cross-correlation centred on each site:
    /// taps[s k^2 + p k + q] = ((t + p - r) mod lt) lx + (x + q - r) mod lx, r = (k - 1) / 2.
    func taps(kernel k: Int) -> [Int] {
        let r = (k - 1) / 2
        func wrap(_ a: Int, _ m: Int) -> Int { ((a % m) + m) % m }
        var out: [Int] = []
        out.reserveCapacity(sites * k * k)
        for t in 0..<lt {
            for x in 0..<lx {
                for p in 0..<k { for q in 0..<k { out.append(wrap(t + p - r, lt) * lx + wrap(x + q - r, lx)) } }
            }
        }
        return out
    }

    static func == (a: LocalLattice, b: LocalLattice) -> Bool { a.lt == b.lt && a.lx == b.lx && a.layout == b.layout }
}
