import Converter
import Foundation
import ModelFormat

/// `l2hmc-convert inspect FILE.pt|.pth|.tar`: every tensor of a PyTorch zip checkpoint (dotted
/// path, dtype, shape, stride, storage), every scalar with its value (Python int/float/bool/str,
/// decoded numpy scalars) and every skipped entry, as text or JSON. Paths are the
/// file's (untrusted): the text is escaped line by line by the caller.
enum TorchReport {
    static func shape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

    static func lines(_ c: TorchCheckpoint) -> [String] {
        var out = ["file        \(c.path)",
                   "format      PyTorch zip checkpoint (record directory \(c.prefix)/, version \(c.version ?? "absent")); read without executing anything (docs/CONVERT.md)",
                   ""]
        // The L2HMC column only when some tensor is in the upstream PyTorch L2HMC naming.
        let naming = c.tensors.contains { TorchNaming.describe($0.path) != nil }
        let header = ["path", "dtype", "shape", "stride", "storage", "converted"] + (naming ? ["L2HMC (\(TorchNaming.name))"] : [])
        let rows = c.tensors.map { t in
            [t.path, t.dtype.rawValue, shape(t.shape), shape(t.stride), "data/\(t.storageKey) +\(t.storageOffset)",
             t.values == nil ? "no (not a floating-point type)" : (t.isParameter ? "yes (nn.Parameter)" : "yes")]
                + (naming ? [TorchNaming.describe(t.path) ?? (t.path.hasPrefix("optimizer_state_dict.") ? "ignored (optimizer)" : "-")] : [])
        }
        out += TextColumns.lines(header: header, rows: rows)
        if !c.scalars.isEmpty {
            out.append("")
            out += c.scalars.map { "scalar      \($0.path.isEmpty ? "(root)" : $0.path) = \($0.text) (\($0.kind))" }
        }
        if !c.skipped.isEmpty {
            out.append("")
            out += c.skipped.map { "skipped     \($0.path.isEmpty ? "(root)" : $0.path): \($0.kind)" }
        }
        out.append("")
        out.append("\(c.tensors.count) tensors, \(c.scalars.count) scalars, \(c.skipped.count) skipped entries")
        return out
    }

    /// A scalar's JSON value: a number, bool or string; a non-finite float (JSON has none) as
    /// the string `nan`, `inf` or `-inf`.
    static func value(_ s: TorchScalar) -> JSONValue {
        switch s.value {
        case let .int(n): return .int(n)
        case let .bool(b): return .bool(b)
        case let .string(t): return .string(t)
        case let .float(d): return d.isFinite ? .double(d) : .string(s.text)
        }
    }

    static func json(_ c: TorchCheckpoint) -> JSONValue {
        .object([
            "file": .string(c.path),
            "format": .string("pytorch-zip"),
            "record_directory": .string(c.prefix),
            "version": c.version.map { .string($0) } ?? .null,
            "tensors": .array(c.tensors.map { t in
                .object(["path": .string(t.path), "dtype": .string(t.dtype.rawValue),
                         "shape": .array(t.shape.map { .int(Int64($0)) }), "stride": .array(t.stride.map { .int(Int64($0)) }),
                         "storage": .string(t.storageKey), "storage_offset": .int(Int64(t.storageOffset)),
                         "parameter": .bool(t.isParameter), "converted": .bool(t.values != nil)])
            }),
            "scalars": .array(c.scalars.map { .object(["path": .string($0.path), "kind": .string($0.kind), "value": value($0)]) }),
            "skipped": .array(c.skipped.map { .object(["path": .string($0.path), "kind": .string($0.kind)]) }),
        ])
    }
}
