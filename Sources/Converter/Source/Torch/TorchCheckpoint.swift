import Foundation

/// A PyTorch checkpoint written by `torch.save` (zip format, PyTorch >= 1.6), read **without
/// executing anything**: the zip container through ``ZipArchive``, `<name>/data.pkl` through the
/// restricted ``PickleReader`` with ``PickleAllowlist/checkpoint``, and every tensor rebuilt from
/// its `<name>/data/<key>` storage record.
///
/// Contract: the archive holds exactly one top-level directory with a `data.pkl`; `byteorder`,
/// when present, is `little`; TorchScript archives and the legacy non-zip format are refused
/// (`convert.torch_torchscript`, `convert.torch_legacy_format`). The value tree is walked from
/// the root: a dict (plain or `OrderedDict`) with string keys is descended with dotted paths;
/// a `_rebuild_tensor_v2` / `_rebuild_parameter` / `_rebuild_parameter_with_state` call is a
/// tensor; a Python int, float, bool or str and a numpy scalar that ``NumpyPickle`` decodes is
/// one of ``scalars``; anything else (numpy arrays included) is listed in ``skipped`` with its
/// kind, never interpreted. For every tensor: the storage record's length
/// equals numel x element size, sizes and strides are non-negative, and the largest element
/// addressed (`offset + sum((size_k - 1) * stride_k)`, computed with overflow checks before any
/// allocation) lies inside the storage. Floating-point values are converted exactly to Double.
public struct TorchCheckpoint: Sendable {
    public let path: String
    /// The top-level directory name (the file's stem when torch.save was given a path, `archive`
    /// when it was given a buffer or an open file).
    public let prefix: String
    /// Contents of `<prefix>/version` (trimmed), nil when absent.
    public let version: String?
    public let tensors: [TorchTensor]
    public let skipped: [TorchSkipped]
    /// Plain Python `int`/`float`/`bool`/`str` entries and the numpy scalars ``NumpyPickle``
    /// decodes (counters, losses, hyperparameters), in the pickle's order.
    public let scalars: [TorchScalar]

    /// Largest element count of one tensor (2^28): larger ones are `convert.too_large`.
    public static let maxTensorElements = 1 << 28
    /// PyTorch's legacy magic number, pickled as LONG1 of 10 bytes after PROTO 2.
    static let legacyHead: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// True for content `torch.save` writes: the legacy magic, or a zip holding a `*/data.pkl`
    /// or a TorchScript `constants.pkl` (so that it is refused with its own message), or any zip
    /// named `.pt`, `.pth` or `.tar`.
    public static func looksLikeTorch(path: String) -> Bool {
        guard let head = try? SourcePath.head(path, count: 14) else { return false }
        if head.starts(with: legacyHead) { return true }
        guard head.starts(with: [0x50, 0x4B, 0x03, 0x04]) else { return false }
        // A damaged zip named like a checkpoint is reported by this reader (convert.archive_failure).
        if [".pt", ".pth", ".tar"].contains(where: { path.lowercased().hasSuffix($0) }) { return true }
        guard let zip = try? ZipArchive(path: path) else { return false }
        return zip.names.contains { $0.hasSuffix("/data.pkl") || $0.hasSuffix("constants.pkl") }
    }

    public init(path: String) throws {
        self.path = path
        func fail(_ p: TorchProblem, _ detail: String) -> ConvertError { .torch(path: path, problem: p, detail: detail) }
        if let head = try? SourcePath.head(path, count: 14), head.starts(with: Self.legacyHead) {
            throw fail(.legacyFormat, "the legacy (non-zip) torch.save format is not read; load it in PyTorch and re-save it with torch.save(obj, path) (the zip format, default since PyTorch 1.6), or export a safetensors file")
        }
        let zip = try ZipArchive(path: path)
        let roots = zip.names.compactMap { name -> String? in
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl" ? String(parts[0]) : nil
        }
        let scripted = zip.names.contains { $0.hasSuffix("constants.pkl") || $0.contains("/code/") || $0.hasPrefix("code/") }
        if scripted {
            throw fail(.torchscript, "a TorchScript archive (torch.jit.save: constants.pkl, code/) is not a checkpoint; save the module's state_dict() with torch.save instead")
        }
        guard roots.count == 1, let prefix = roots.first else {
            throw fail(.layout, roots.isEmpty ? "no <name>/data.pkl record: not a torch.save zip checkpoint" : "\(roots.count) top-level directories hold a data.pkl; torch.save writes one")
        }
        self.prefix = prefix
        if zip.names.contains(prefix + "/byteorder") {
            let order = String(decoding: try zip.read(prefix + "/byteorder", limit: 64), as: UTF8.self)
            guard order == "little" else {
                throw fail(.byteorder, "byteorder is \(order.debugDescription); only little-endian checkpoints are read (re-save on a little-endian machine)")
            }
        }
        if zip.names.contains(prefix + "/version") {
            let v = String(decoding: try zip.read(prefix + "/version", limit: 64), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !v.isEmpty, v.count <= 9, v.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw fail(.layout, "version record \(v.debugDescription) is not a small integer")
            }
            version = v
        } else {
            version = nil
        }
        let limits = PickleLimits()
        let root = try PickleReader(allowlist: PickleAllowlist.checkpoint).read(try zip.read(prefix + "/data.pkl", limit: limits.maxInputBytes))
        var walker = TorchTreeWalker(zip: zip, prefix: prefix, fail: fail)
        try walker.walk(root, path: [])
        tensors = walker.tensors
        skipped = walker.skipped
        scalars = walker.scalars
    }
}
