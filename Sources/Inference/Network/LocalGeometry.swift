import ModelFormat

/// The site and link tables of a local network on one run lattice (lt x lx, any size >= 1):
/// site s = t lx + x; link (mu, s) has the flat index `linkLayout.index(t:x:mu:lt:lx)`.
public struct LocalGeometry: Sendable {
    public let lt: Int, lx: Int
    public let layout: LinkLayout
    /// Number of sites V = lt lx.
    public let volume: Int
    /// Kernel side k of the convolutions; r = (k - 1) / 2.
    public let kernelSize: Int
    /// links[2 s + mu] = flat index of link (mu, s).
    let links: [Int32]
    /// neighbors[s k^2 + p k + q] = site ((t + p - r) mod lt, (x + q - r) mod lx): the input site
    /// of kernel tap (p, q) at output site s (cross-correlation with periodic padding).
    let neighbors: [Int32]
    /// plaquette[4 s + i]: the links x_0(t, x), x_1(t + 1, x), x_0(t, x + 1), x_1(t, x) of the
    /// plaquette P(t, x) (signs + + - -).
    let plaquette: [Int32]

    public init(lt: Int, lx: Int, layout: LinkLayout, kernelSize: Int) {
        self.lt = lt; self.lx = lx; self.layout = layout; self.kernelSize = kernelSize
        volume = lt * lx
        let r = (kernelSize - 1) / 2
        func mod(_ a: Int, _ m: Int) -> Int { ((a % m) + m) % m }
        var links = [Int32](), neighbors = [Int32](), plaquette = [Int32]()
        links.reserveCapacity(2 * lt * lx)
        neighbors.reserveCapacity(lt * lx * kernelSize * kernelSize)
        plaquette.reserveCapacity(4 * lt * lx)
        for t in 0..<lt {
            for x in 0..<lx {
                links += [Int32(layout.index(t: t, x: x, mu: 0, lt: lt, lx: lx)), Int32(layout.index(t: t, x: x, mu: 1, lt: lt, lx: lx))]
                for p in 0..<kernelSize {
                    for q in 0..<kernelSize { neighbors.append(Int32(mod(t + p - r, lt) * lx + mod(x + q - r, lx))) }
                }
                plaquette += [Int32(layout.index(t: t, x: x, mu: 0, lt: lt, lx: lx)), Int32(layout.index(t: mod(t + 1, lt), x: x, mu: 1, lt: lt, lx: lx)),
                              Int32(layout.index(t: t, x: mod(x + 1, lx), mu: 0, lt: lt, lx: lx)), Int32(layout.index(t: t, x: x, mu: 1, lt: lt, lx: lx))]
            }
        }
        self.links = links; self.neighbors = neighbors; self.plaquette = plaquette
    }

    /// Number of links 2 V.
    public var linkCount: Int { 2 * volume }
}
