import ModelFormat

/// The local networks of one sampler on its run lattice, and what the update kernels need from
/// them: raw head values [rows, 3n] in the column order the kernels expect (link order for v
/// updates, the mask's permuted order for x updates, as ``L2HMCDynamics`` uses for dense
/// networks), with the matching per-column biases and coefficient factors.
///
/// Chains are evaluated in chunks of at most ``chunkChains`` so the im2col buffer stays near
/// ``patchBudget`` doubles at any volume.
final class LocalNetworkSet {
    let geometry: LocalGeometry
    let vNets: [LocalNetwork], xNetsFirst: [LocalNetwork], xNetsSecond: [LocalNetwork]
    let chunkChains: Int
    /// The biases and factors of one network in one column order: bias [3n], sf [n], tf [n].
    final class Columns {
        let bias: Buffer, scaleFactor: Buffer, transformationFactor: Buffer
        init(_ net: LocalNetwork, order: [Int32], geometry g: LocalGeometry) {
            let n = g.linkCount
            var mu = [Int](repeating: 0, count: n)
            for s in 0..<g.volume { mu[Int(g.links[2 * s + 1])] = 1 }
            bias = Buffer(3 * n); scaleFactor = Buffer(n); transformationFactor = Buffer(n)
            for (j, l) in order.enumerated() {
                let m = mu[Int(l)]
                for h in 0..<3 { bias[h * n + j] = net.headBias[2 * h + m] }
                scaleFactor[j] = net.scaleFactor[m]
                transformationFactor[j] = net.transformationFactor[m]
            }
        }
    }
    private struct Key: Hashable { let net: ObjectIdentifier; let mask: Int }
    /// Keyed by network and mask (-1: link order).
    private let columns: [Key: Columns]
    /// Per mask (and -1: identity): the column of each link.
    private let positions: [Int: [Int32]]
    private let workspace: LocalWorkspace

    /// Largest im2col buffer (doubles) a chunk of chains may fill: 8 MB.
    static let patchBudget = 1 << 20

    init(model: L2ZModel, local: LocalNetworkSpec, geometry: LocalGeometry, maskOrders: [[Int32]], capacity: Int) throws {
        let spec = try model.sampler
        self.geometry = geometry
        let steps = spec.network.layout == .shared ? 1 : spec.dynamics.nLF
        func load(_ prefix: String) throws -> [LocalNetwork] { try (0..<steps).map { try LocalNetwork(model: model, name: "\(prefix).\($0)", local: local) } }
        vNets = try load("vnet")
        if spec.network.xNetworksPerStep == 2 {
            xNetsFirst = try load("xnet_first")
            xNetsSecond = try load("xnet_second")
        } else {
            xNetsFirst = try load("xnet")
            xNetsSecond = xNetsFirst
        }
        let n = geometry.linkCount
        let identity = (0..<n).map { Int32($0) }
        var cols: [Key: Columns] = [:]
        for net in vNets { cols[Key(net: ObjectIdentifier(net), mask: -1)] = Columns(net, order: identity, geometry: geometry) }
        for (i, pair) in zip(xNetsFirst, xNetsSecond).enumerated() {
            for mask in (spec.network.layout == .shared ? Array(maskOrders.indices) : [i]) {
                for net in [pair.0, pair.1] { cols[Key(net: ObjectIdentifier(net), mask: mask)] = Columns(net, order: maskOrders[mask], geometry: geometry) }
            }
        }
        columns = cols
        var pos: [Int: [Int32]] = [-1: identity]
        for (m, order) in maskOrders.enumerated() {
            var p = [Int32](repeating: 0, count: n)
            for (j, l) in order.enumerated() { p[Int(l)] = Int32(j) }
            pos[m] = p
        }
        positions = pos
        let all = vNets + xNetsFirst + xNetsSecond
        let patch = all.map(\.maxPatch).max() ?? 1
        chunkChains = max(1, min(capacity, LocalNetworkSet.patchBudget / max(1, geometry.volume * patch)))
        workspace = LocalWorkspace(rows: chunkChains * geometry.volume, networks: all)
    }

    /// A copy sharing the networks and tables, with its own scratch space (`chunkChains` below
    /// the original's only for tests of the chunking).
    init(replicating o: LocalNetworkSet, capacity: Int, chunkChains chunk: Int? = nil) {
        geometry = o.geometry
        vNets = o.vNets; xNetsFirst = o.xNetsFirst; xNetsSecond = o.xNetsSecond
        columns = o.columns; positions = o.positions
        chunkChains = max(1, min(capacity, chunk ?? o.chunkChains, o.chunkChains))
        workspace = LocalWorkspace(rows: chunkChains * geometry.volume, networks: vNets + xNetsFirst + xNetsSecond)
    }

    /// All distinct networks.
    var networks: [LocalNetwork] {
        var seen = Set<ObjectIdentifier>()
        return (vNets + xNetsFirst + xNetsSecond).filter { seen.insert(ObjectIdentifier($0)).inserted }
    }

    /// The biases and factors of `net` in the column order of `mask` (-1: link order).
    func columns(_ net: LocalNetwork, mask: Int) -> Columns {
        guard let c = columns[Key(net: ObjectIdentifier(net), mask: mask)] else {
            preconditionFailure("no head columns for \(net.name) with mask \(mask) (built for every step a plan can use)")
        }
        return c
    }

    /// Raw v-network heads in link order: out [rows, 3n] (S | T | Q, before bias).
    func vHeads(_ net: LocalNetwork, x: UnsafePointer<Double>, trig: UnsafePointer<Double>, force: UnsafePointer<Double>, tau: (Double, Double)?,
                rows: Int, out: UnsafeMutablePointer<Double>) {
        let n = geometry.linkCount
        evaluate(net, mask: -1, tau: tau, rows: rows, out: out) { c0, count, features in
            LocalFeatures.v(x: x + c0 * n, trig: trig + c0 * 2 * n, force: force + c0 * n, chains: count, geometry: geometry, into: features)
        }
    }

    /// Raw x-network heads in the permuted order of `mask`, reading the links where `read` is 1.
    func xHeads(_ net: LocalNetwork, mask: Int, trig: UnsafePointer<Double>, v: UnsafePointer<Double>, read: UnsafePointer<Double>,
                tau: (Double, Double)?, rows: Int, out: UnsafeMutablePointer<Double>) {
        let n = geometry.linkCount
        evaluate(net, mask: mask, tau: tau, rows: rows, out: out) { c0, count, features in
            LocalFeatures.x(trig: trig + c0 * 2 * n, v: v + c0 * n, read: read, chains: count, geometry: geometry, into: features)
        }
    }

    private func evaluate(_ net: LocalNetwork, mask: Int, tau: (Double, Double)?, rows: Int, out: UnsafeMutablePointer<Double>,
                          features: (Int, Int, UnsafeMutablePointer<Double>) -> Void) {
        let g = geometry, n = g.linkCount, sites = g.volume
        guard let pos = positions[mask] else { preconditionFailure("no column order for mask \(mask)") }
        var c0 = 0
        while c0 < rows {
            let count = min(chunkChains, rows - c0)
            features(c0, count, workspace.features.pointer)
            net.evaluateRaw(rows: count * sites, geometry: g, tau: tau, workspace: workspace)
            let raw = workspace.heads.pointer
            pos.withUnsafeBufferPointer { p in g.links.withUnsafeBufferPointer { lk in
                for c in 0..<count {
                    let o = out + (c0 + c) * 3 * n
                    for s in 0..<sites {
                        let r = raw + (c * sites + s) * 6
                        let j0 = Int(p[Int(lk[2 * s])]), j1 = Int(p[Int(lk[2 * s + 1])])
                        o[j0] = r[0]; o[j1] = r[1]; o[n + j0] = r[2]; o[n + j1] = r[3]; o[2 * n + j0] = r[4]; o[2 * n + j1] = r[5]
                    }
                }
            } }
            c0 += count
        }
    }
}
