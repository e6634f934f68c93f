/// How a training step's chains are cut into tiles: tile k holds the consecutive global chain
/// ids `k * size ..< min((k + 1) * size, chains)`, so the last tile is shorter when `chains` is
/// not a multiple of `size`. The tiles depend only on the configuration (`chains`, `tile`),
/// never on the thread or process count: every GEMM covers the rows of one tile, which is what
/// makes the numbers the same for any thread count (OpenBLAS's result for a row depends on the
/// other rows of its call).
public struct Tiling: Sendable, Equatable {
    public let chains: Int
    public let size: Int

    public init(chains: Int, size: Int) {
        self.chains = chains; self.size = max(size, 1)
    }

    public var count: Int { (chains + size - 1) / size }

    /// The global chain ids of tile `k`.
    public func rows(_ k: Int) -> Range<Int> { (k * size)..<min((k + 1) * size, chains) }
}
