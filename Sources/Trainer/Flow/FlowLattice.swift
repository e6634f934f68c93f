/// The periodic lt x lx lattice as the trainer's flow sees it (link layout `mu_t_x`: link
/// (mu, t, x) at (mu lt + t) lx + x; site s = t lx + x), with the masks of the rule
/// `plaquette_stripes_4` and the taps of the inner networks' convolutions. Built once per
/// lattice size; the flow's weights do not depend on it.
struct FlowLattice: Equatable {
    enum Problem: Error, Equatable { case notDivisibleByFour(lt: Int, lx: Int) }

    let lt: Int
    let lx: Int
    let kernelSize: Int
    /// plaquette[4 s ..< 4 s + 4]: the links of P(t, x) = z0(t,x) + z1(t+1,x) - z0(t,x+1) - z1(t,x),
    /// in that order (signs + + - -).
    let plaquette: [Int]
    /// taps[s k^2 + a k + b]: the site (t + a - r, x + b - r) (mod lt, lx), r = k / 2: the input
    /// read by kernel entry (a, b) of the output at site s (a cross-correlation).
    let taps: [Int]
    /// The 8 distinct masks: masks[(off) * 2 + mu].
    private let masks: [FlowLayerMask]

    var sites: Int { lt * lx }
    var links: Int { 2 * lt * lx }

    init(lt: Int, lx: Int, kernelSize: Int) throws {
        guard lt > 0, lx > 0, lt % 4 == 0, lx % 4 == 0 else { throw Problem.notDivisibleByFour(lt: lt, lx: lx) }
        self.lt = lt; self.lx = lx; self.kernelSize = kernelSize
        func mod(_ a: Int, _ m: Int) -> Int { ((a % m) + m) % m }
        func link(_ mu: Int, _ t: Int, _ x: Int) -> Int { (mu * lt + mod(t, lt)) * lx + mod(x, lx) }
        var plaquette: [Int] = [], taps: [Int] = []
        let r = kernelSize / 2
        for t in 0..<lt {
            for x in 0..<lx {
                plaquette += [link(0, t, x), link(1, t + 1, x), link(0, t, x + 1), link(1, t, x)]
                for a in 0..<kernelSize { for b in 0..<kernelSize { taps.append(mod(t + a - r, lt) * lx + mod(x + b - r, lx)) } }
            }
        }
        self.plaquette = plaquette; self.taps = taps
        var masks: [FlowLayerMask] = []
        for off in 0..<4 { for mu in 0..<2 { masks.append(FlowLayerMask(mu: mu, off: off, lt: lt, lx: lx)) } }
        self.masks = masks
    }

    /// The mask of coupling layer i: mu = i mod 2, off = floor(i / 2) mod 4.
    func mask(layer i: Int) -> FlowLayerMask { masks[((i / 2) % 4) * 2 + i % 2] }

    /// Flat index of link (mu, t, x).
    func link(mu: Int, t: Int, x: Int) -> Int { (mu * lt + t) * lx + x }

    /// P(t, x) of every chain and site, [chains * sites] (raw sums, not wrapped).
    func plaquettes(_ z: Matrix) -> [Double] {
        let sites = self.sites, n = z.cols
        var p = [Double](repeating: 0, count: z.rows * sites)
        for r in 0..<z.rows {
            for s in 0..<sites {
                let l = plaquette, b = r * n, q = 4 * s
                p[r * sites + s] = z.data[b + l[q]] + z.data[b + l[q + 1]] - z.data[b + l[q + 2]] - z.data[b + l[q + 3]]
            }
        }
        return p
    }

    /// g += dL/dz from dL/dP per chain and site (the plaquette's signs + + - -).
    func addPlaquetteGradient(_ gPlaq: [Double], to g: inout Matrix) {
        let sites = self.sites, n = g.cols, l = plaquette
        for r in 0..<g.rows {
            for s in 0..<sites {
                let v = gPlaq[r * sites + s], b = r * n, q = 4 * s
                g.data[b + l[q]] += v; g.data[b + l[q + 1]] += v; g.data[b + l[q + 2]] -= v; g.data[b + l[q + 3]] -= v
            }
        }
    }

    static func == (a: FlowLattice, b: FlowLattice) -> Bool { a.lt == b.lt && a.lx == b.lx && a.kernelSize == b.kernelSize }
}
