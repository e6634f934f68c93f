import Foundation
import HDF5Kit
import ModelFormat

/// A PyTorch zip checkpoint (``TorchCheckpoint``, read without executing anything) or a
/// safetensors file (``SafetensorsFile``), seen as named tensors for the converter.
///
/// Contract:
/// - A checkpoint **dict** (a `model_state_dict` entry holding tensors, as upstream's
///   `ckpt-*.tar`) has its network tensors under `model_state_dict.`; the prefix is removed from
///   ``TensorEntry/key``. `optimizer_state_dict.*` is training state (``ignored``); the other
///   entries are listed as ignored too (counters, the `xeps`/`veps` lists, numpy values), never
///   interpreted. A bare state dict (a `.pth`, a safetensors file) is used as it is.
/// - ``array(_:)`` returns a tensor in the canonical orientation: a dataset marked transposed
///   (an `nn.Linear.weight`, stored (out, in)) is transposed exactly. F32 stays float32, F64
///   float64; F16 and BF16 are widened exactly to float32. Integer tensors are refused
///   (`convert.wrong_dtype`), non-finite values too (`convert.non_finite`).
final class TensorFileSource: WeightReader {
    /// One tensor of the file.
    struct TensorEntry {
        /// State-dict key (checkpoint-dict prefix removed).
        let key: String
        /// Where it is, as printed (`model_state_dict.xnet.0...` or the safetensors name).
        let location: String
        let dtype: String
        let shape: [Int]
        let isFloatingPoint: Bool
        /// Elements in row-major order, exactly as doubles (nil for integer dtypes).
        let values: [Double]?
    }

    let path: String
    let kind: SourceKind
    let sha256: String
    let entries: [TensorEntry]
    let ignored: [IgnoredDataset]
    /// safetensors `__metadata__` (empty for PyTorch files).
    let metadata: [String: String]
    /// The top-level numbers and strings of a checkpoint dict (`era`, `epoch`, `gstep`), recorded
    /// in the model's provenance; never interpreted.
    private(set) var training: [String: JSONValue] = [:]
    /// The checkpoint dict's own `xeps` / `veps` lists (upstream saves the raw parameters there
    /// too), by step: cross-checked against the state dict's `xeps.{k}` / `veps.{k}`.
    private(set) var listedStepSizes: [String: [Int: Double]] = [:]
    let maxDatasetElements: Int
    /// Keys of the datasets to transpose in ``array(_:)`` (set by the mapping).
    var transposed: Set<String> = []
    private var byKey: [String: TensorEntry] = [:]

    /// The checkpoint-dict entry that holds the model's state dict.
    static let modelStateKey = "model_state_dict"

    /// True when `path` is a safetensors file or a `torch.save` file (content first, then the extension).
    static func handles(path: String) -> Bool {
        isSafetensors(path) || TorchCheckpoint.looksLikeTorch(path: path)
    }

    static func isSafetensors(_ path: String) -> Bool {
        if path.lowercased().hasSuffix(".safetensors") { return true }
        guard let head = try? SourcePath.head(path, count: 9) else { return false }
        return SafetensorsFile.looksLikeSafetensors(head)
    }

    init(path: String, maxDatasetElements: Int = SourceFile.defaultMaxDatasetElements) throws {
        self.path = path
        self.maxDatasetElements = maxDatasetElements
        var entries: [TensorEntry] = []
        var ignored: [IgnoredDataset] = []
        var training: [String: JSONValue] = [:]
        var listed: [String: [Int: Double]] = [:]
        if Self.isSafetensors(path) {
            let file = try SafetensorsFile(path: path)
            kind = .safetensors
            metadata = file.metadata
            for t in file.tensors {
                let float = t.dtype.isConvertible
                guard t.elementCount <= maxDatasetElements else {
                    throw ConvertError.tooLarge(what: "tensor \(t.name)", elements: t.elementCount, limit: maxDatasetElements)
                }
                entries.append(TensorEntry(key: t.name, location: t.name, dtype: t.dtype.rawValue, shape: t.shape, isFloatingPoint: float,
                                           values: float ? try file.values(t).values : nil))
            }
        } else {
            let file = try TorchCheckpoint(path: path)
            kind = .torchZip
            metadata = [:]
            let isDict = file.tensors.contains { $0.path.hasPrefix(Self.modelStateKey + ".") }
            for t in file.tensors {
                var key = t.path
                if isDict {
                    guard key.hasPrefix(Self.modelStateKey + ".") else {
                        let top = key.split(separator: ".").first.map(String.init) ?? key
                        let reason = top == "optimizer_state_dict" ? "optimizer state, not part of the model" : "checkpoint entry outside model_state_dict (not interpreted)"
                        ignored.append(IgnoredDataset(location: t.path, shape: t.shape, reason: reason))
                        continue
                    }
                    key = String(key.dropFirst(Self.modelStateKey.count + 1))
                }
                guard t.shape.reduce(1, *) <= maxDatasetElements else {
                    throw ConvertError.tooLarge(what: "tensor \(t.path)", elements: t.shape.reduce(1, *), limit: maxDatasetElements)
                }
                entries.append(TensorEntry(key: key, location: t.path, dtype: t.dtype.rawValue, shape: t.shape,
                                           isFloatingPoint: t.dtype.isFloatingPoint, values: t.values))
            }
            for s in file.scalars {
                // Top-level counters of a checkpoint dict (era, epoch, gstep) go to the provenance.
                let parts = s.path.split(separator: ".").map(String.init)
                if isDict, parts.count == 2, parts[0] == "xeps" || parts[0] == "veps", let k = Int(parts[1]) {
                    switch s.value {
                    case let .float(d): listed[parts[0], default: [:]][k] = d
                    case let .int(i): listed[parts[0], default: [:]][k] = Double(i)
                    default: break
                    }
                }
                if isDict, !s.path.isEmpty, !s.path.contains(".") {
                    switch s.value {
                    case let .int(i): training[s.path] = .int(i)
                    case let .float(d) where d.isFinite: training[s.path] = .double(d)
                    case let .bool(b): training[s.path] = .bool(b)
                    case let .string(t): training[s.path] = .string(t)
                    default: break
                    }
                }
                ignored.append(IgnoredDataset(location: s.path.isEmpty ? "(root)" : s.path, shape: nil, reason: "\(s.kind) \(s.text), not a tensor"))
            }
            for s in file.skipped {
                let top = s.path.split(separator: ".").first.map(String.init) ?? s.path
                let reason = top == "optimizer_state_dict" ? "optimizer state, not part of the model" : "\(s.kind), not a tensor (not interpreted)"
                ignored.append(IgnoredDataset(location: s.path.isEmpty ? "(root)" : s.path, shape: nil, reason: reason))
            }
        }
        self.entries = entries
        self.ignored = ignored
        self.training = training
        self.listedStepSizes = listed
        sha256 = SHA256Digest.hex(try AtomicFile.read(path, limit: Int.max))
        for e in entries { byKey[e.key] = e }
    }

    /// The dataset of an entry as the mapping sees it: canonical shape (transposed when `transpose`).
    func dataset(_ e: TensorEntry, transpose: Bool) -> SourceDataset {
        let shape = transpose && e.shape.count == 2 ? [e.shape[1], e.shape[0]] : e.shape
        let dtype: HDF5DType? = e.dtype == "F64" ? .float64 : e.isFloatingPoint ? .float32 : nil
        return SourceDataset(location: e.location, hdf5Path: e.key, name: e.key, shape: shape, dtype: dtype,
                             typeDescription: e.dtype + (transpose ? " (transposed from [\(e.shape.map(String.init).joined(separator: ", "))])" : ""))
    }

    func entry(_ key: String) -> TensorEntry? { byKey[key] }

    func array(_ d: SourceDataset) throws -> NDArray {
        guard let e = byKey[d.hdf5Path] else { throw ConvertError.missingArray(canonical: d.name, expectedSource: d.location) }
        guard e.isFloatingPoint, let values = e.values else {
            throw ConvertError.wrongDType(source: e.location, found: e.dtype, expected: "F32, F64, F16 or BF16")
        }
        if let i = values.firstIndex(where: { !$0.isFinite }) {
            throw ConvertError.nonFinite(source: e.location, count: values.filter { !$0.isFinite }.count, firstIndex: i)
        }
        var v = values
        var shape = e.shape
        if transposed.contains(e.key), shape.count == 2 {
            let (rows, cols) = (shape[0], shape[1])
            v = [Double](repeating: 0, count: values.count)
            for r in 0..<rows { for c in 0..<cols { v[c * rows + r] = values[r * cols + c] } }
            shape = [cols, rows]
        }
        if e.dtype == "F64" { return try NDArray(shape: shape, doubles: v) }
        // F32, F16, BF16: every value is a float32 exactly.
        return try NDArray(shape: shape, floats: v.map { Float($0) })
    }
}
