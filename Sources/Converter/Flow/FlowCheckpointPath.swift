import Foundation

/// fthmc keeps the trained lattice and beta only in its directory tree:
/// `logs/models/lat{L}x{L}/beta{b}/{run}/training[/{stamp}]/checkpoints/ckpt-era{E}-epoch{M}.tar`.
/// ``statements(path:)`` reads them from the nearest pair of consecutive directories
/// `lat{L0}x{L1}` / `beta{b}` above the file (the absolute path's components); a path without
/// such a pair states nothing.
enum FlowCheckpointPath {
    struct Statement: Equatable {
        let lattice: String
        let beta: String
        let origin: String
    }

    static func statements(path: String) -> Statement? {
        let parts = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().pathComponents
        guard parts.count >= 2 else { return nil }
        for k in stride(from: parts.count - 2, through: 0, by: -1) {
            guard let l = lattice(parts[k]), let b = beta(parts[k + 1]) else { continue }
            return Statement(lattice: "\(l.0)x\(l.1)", beta: b, origin: "the file's directory (\(parts[k])/\(parts[k + 1]))")
        }
        return nil
    }

    /// `lat8x8` -> (8, 8); plain decimal extents only.
    private static func lattice(_ s: String) -> (Int, Int)? {
        guard s.hasPrefix("lat") else { return nil }
        let sides = s.dropFirst(3).split(separator: "x", omittingEmptySubsequences: false)
        guard sides.count == 2, let a = decimal(sides[0]), let b = decimal(sides[1]) else { return nil }
        return (a, b)
    }

    /// `beta6.0` -> "6.0" (a finite number > 0; parsed again, strictly, as the fact).
    private static func beta(_ s: String) -> String? {
        guard s.hasPrefix("beta") else { return nil }
        let t = String(s.dropFirst(4))
        guard !t.isEmpty, t.count <= 24, t.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let v = Double(t), v > 0, v.isFinite else { return nil }
        return t
    }

    private static func decimal(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.count <= 6, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(s)
    }
}
