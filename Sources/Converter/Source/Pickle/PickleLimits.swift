import Foundation

/// Bounds a ``PickleReader`` checks before it allocates; exceeding one is `convert.pickle_limit`.
///
/// The defaults are far above what a PyTorch state dict or checkpoint dict needs (its `data.pkl`
/// holds a few values per tensor, nested a handful of levels) and far below what could exhaust
/// memory or the thread's stack.
public struct PickleLimits: Sendable, Equatable {
    /// Size of the pickle byte string. Default 256 MiB (tensor data is not in the pickle).
    public var maxInputBytes = 256 << 20
    /// Values on the unpickling stack at once, marks included. Default 1,000,000.
    public var maxStackDepth = 1_000_000
    /// Memo entries (distinct indices). Default 1,000,000.
    public var maxMemoEntries = 1_000_000
    /// Nesting depth of containers and call nodes (recursion bombs). Default 200 (Python's own
    /// unpickler would hit its recursion limit near 1000).
    public var maxDepth = 200
    /// Values created while reading, and values in the resulting tree (shared memo entries count
    /// once per appearance, so a memo bomb stops here). Default 10,000,000.
    public var maxValues = 10_000_000

    public init() {}
}
