import Foundation

/// A 2D lattice size as every tool spells it: `LTxLX`, e.g. `8x8` (`X` also accepted, spaces
/// around the numbers ignored). The one parser of that text (l2hmc-run, l2hmc-convert's facts
/// and init-random, l2hmc-train's `lattice` key); each caller applies its own range.
public struct LatticeSize: Equatable, Sendable, CustomStringConvertible {
    public let lt: Int
    public let lx: Int

    /// The largest side a command-line lattice may have (the manifest's limit).
    public static let maxSide = 4096

    public init(lt: Int, lx: Int) { self.lt = lt; self.lx = lx }

    /// Two integers separated by one `x`; nil for anything else (no range check).
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let lt = parts[0], let lx = parts[1] else { return nil }
        self.init(lt: lt, lx: lx)
    }

    /// Both sides in 1...``maxSide``.
    public var isWithinLimits: Bool { (1...Self.maxSide).contains(lt) && (1...Self.maxSide).contains(lx) }

    /// `LTxLX`.
    public var description: String { "\(lt)x\(lx)" }
}
