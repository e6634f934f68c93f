/// Bounds checked before any allocation when reading a `.l2z` file. Every check happens on
/// sizes read from the file, before memory in proportion to them is reserved.
public struct ReadLimits: Sendable, Equatable {
    /// Largest file accepted, in bytes (default 4 GiB).
    public var maxFileBytes: Int = 4 << 30
    /// Most zip entries accepted (default 4096).
    public var maxEntries: Int = 4096
    /// Largest manifest.json, in bytes (default 1 MiB).
    public var maxManifestBytes: Int = 1 << 20
    /// Deepest JSON nesting in the manifest (default 32).
    public var maxManifestDepth: Int = 32
    /// Largest `.npy` header, in bytes (default 4096; our writer needs under 128).
    public var maxNpyHeaderBytes: Int = 4096
    /// Most array dimensions (default 8).
    public var maxDimensions: Int = 8
    /// Most elements in one array (default 2^36).
    public var maxElements: Int = 1 << 36

    public init() {}
}
