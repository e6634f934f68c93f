import Converter
import Foundation
import ModelFormat

/// `l2hmc-convert inspect FILE.safetensors`: the file's tensors and metadata, as text or JSON.
/// Names and metadata are the file's (untrusted): the text is escaped line by line by the caller.
enum SafetensorsReport {
    static func lines(_ f: SafetensorsFile) -> [String] {
        var out = ["file        \(f.path)",
                   "format      safetensors (header \(f.headerBytes) bytes, data \(f.dataBytes) bytes); every rule checked (docs/CONVERT.md)"]
        if f.metadata.isEmpty {
            out.append("metadata    (none)")
        } else {
            for (k, v) in f.metadata.sorted(by: { $0.key < $1.key }) {
                out.append("metadata    \(k) = \(v.debugDescription)")
            }
        }
        out.append("")
        // The L2HMC column only when some tensor is in the upstream PyTorch L2HMC naming.
        let naming = f.tensors.contains { TorchNaming.describe($0.name) != nil }
        let header = ["name", "dtype", "shape", "bytes", "convertible"] + (naming ? ["L2HMC (\(TorchNaming.name))"] : [])
        let rows = f.tensors.map { t in
            [t.name, t.dtype.rawValue, "[" + t.shape.map(String.init).joined(separator: ", ") + "]",
             "[\(t.begin), \(t.end))", t.dtype.isConvertible ? "yes" : "no (not a floating-point weight type)"]
                + (naming ? [TorchNaming.describe(t.name) ?? "-"] : [])
        }
        out += TextColumns.lines(header: header, rows: rows)
        out.append("")
        out.append("\(f.tensors.count) tensors, \(f.dataBytes) data bytes")
        return out
    }

    static func json(_ f: SafetensorsFile) -> JSONValue {
        .object([
            "file": .string(f.path),
            "format": .string("safetensors"),
            "header_bytes": .int(Int64(f.headerBytes)),
            "data_bytes": .int(Int64(f.dataBytes)),
            "metadata": .object(f.metadata.mapValues { .string($0) }),
            "tensors": .array(f.tensors.map { t in
                .object(["name": .string(t.name), "dtype": .string(t.dtype.rawValue),
                         "shape": .array(t.shape.map { .int(Int64($0)) }),
                         "data_offsets": .array([.int(Int64(t.begin)), .int(Int64(t.end))]),
                         "convertible": .bool(t.dtype.isConvertible)])
            }),
        ])
    }
}
