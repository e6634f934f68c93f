import ArgumentParser
import ModelFormat

/// `--lattice LTxLX` on every tool.
extension LatticeSize: ExpressibleByArgument {
    /// A lattice within ``LatticeSize/maxSide``.
    public init?(argument: String) {
        guard let size = LatticeSize(parsing: argument), size.isWithinLimits else { return nil }
        self = size
    }

    /// The value of `flag`: `LTxLX` with positive sides, each at most ``LatticeSize/maxSide``
    /// when `limited` (otherwise a later, more specific check names the limit); a
    /// ``UsageError`` (exit 64) `--lattice must look like 8x8 (got ...)` otherwise.
    public static func option(_ text: String, flag: String = "--lattice", limited: Bool = true) throws -> LatticeSize {
        guard let size = LatticeSize(parsing: text), size.lt >= 1, size.lx >= 1, !limited || size.isWithinLimits else {
            throw UsageError("\(flag) must look like 8x8 (got \(text))")
        }
        return size
    }
}
