import ModelFormat

/// The default number of chains per tile of a new run (``RunSettings/tile``), from the chain
/// count and the model alone, so the numbers of a run never depend on the thread or process
/// count or on the machine's core count.
///
/// Why the networks' size: every tile's GEMM calls stream the networks' weights through the
/// caches (OpenBLAS also packs them on every call), so a small tile pays that traffic for few
/// chains. Measured single-threaded on the benchmark workloads (docs/RUNTIME.md, "Threads and
/// tiles"): with about 1 MB of weights per network (W1) tiles of 32 chains run as fast as one
/// tile of all chains; with 7 MB (W2) tiles of 32 run at 55 % of that, tiles of 128 at 87 %.
/// With tiny networks (W4, 40 kB) the per-call overhead dominates instead: tiles of 128 ran 8 %
/// faster than tiles of 32. So: 128 chains when a network holds more than
/// ``largeNetworkBytes`` or less than ``tinyNetworkBytes`` of weights, else 32; at most the
/// chain count.
public enum TilePolicy {
    public static let smallTile = 32
    public static let largeTile = 128
    public static let largeNetworkBytes = 2 << 20
    public static let tinyNetworkBytes = 256 << 10

    public static func defaultTile(chains: Int, sampler: SamplerSpec?) -> Int {
        guard let sampler else { return min(chains, smallTile) }
        let bytes = networkBytes(sampler)
        return min(chains, bytes > largeNetworkBytes || bytes < tinyNetworkBytes ? largeTile : smallTile)
    }

    /// Bytes of the dense kernels of one network of `spec` (float64; x and v inputs, hidden
    /// layers, the three heads); for a local network its conv kernels and heads (no lattice size
    /// enters, so the tile is the same at every run lattice).
    public static func networkBytes(_ spec: SamplerSpec) -> Int {
        let n = spec.stateSize, units = spec.network.hiddenUnits
        guard let first = units.first, let last = units.last else { return 0 }
        if let local = spec.network.kind.local {
            let channels = [LocalNetworkRules.inputChannels] + units
            let k2 = local.kernelSize * local.kernelSize
            return 8 * (zip(channels, channels.dropFirst()).reduce(0) { $0 + k2 * $1.0 * $1.1 } + last * 3 * LocalNetworkRules.headChannels)
        }
        let inputs = max(spec.network.xNetInput.width(stateSize: n), spec.network.vNetInput.width(stateSize: n)) + n
        var count = inputs * first + last * 3 * n
        for (a, b) in zip(units, units.dropFirst()) { count += a * b }
        return 8 * count
    }
}
