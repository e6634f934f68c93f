import Foundation
import HDF5Kit
import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// The file layouts the converter reads (docs/CONVERT.md, "Source files").
public enum SourceKind: String, Sendable, CaseIterable {
    /// `l2hmc-train`'s `ckpt.h5` (docs/CHECKPOINT.md): every fact in its attributes.
    case l2hmcCheckpoint = "l2hmc-train checkpoint"
    /// tf-keras 2.x `save_weights("w.h5")`: root `layer_names`, per-layer `weight_names` with `:0`.
    case kerasWeightsH5 = "Keras HDF5 weights (save_weights .h5)"
    /// `model.save("m.h5")` (tf-keras, or Keras 3's legacy HDF5): the same tree under `model_weights`.
    case kerasModelH5 = "Keras HDF5 model (model.save .h5, model_weights group)"
    /// Keras 3 `save_weights("w.weights.h5")`: `layers/<auto name>/vars/<i>`.
    case keras3Weights = "Keras 3 weights (.weights.h5)"
    /// Keras 3 `.keras` zip: its inner `model.weights.h5` is read (same layout as `keras3Weights`).
    case keras3Archive = "Keras 3 archive (.keras, inner model.weights.h5)"
    /// `torch.save` zip checkpoint (`.pt`, `.pth`, `.tar`), read by ``TorchCheckpoint``.
    case torchZip = "PyTorch zip checkpoint (torch.save)"
    /// safetensors file, read by ``SafetensorsFile``.
    case safetensors = "safetensors"
}

/// One weight dataset of a source file.
public struct SourceDataset: Equatable, Sendable {
    /// Where the data is: the HDF5 path (prefixed `model.weights.h5:` inside a `.keras`).
    public let location: String
    /// HDF5 path inside the file that holds the data.
    public let hdf5Path: String
    /// Logical weight name used for mapping: `/`-separated, no `:0`, e.g.
    /// `vnet0/vnet0_x_layer/kernel` (Keras: layer, then the weight name), `params/vnet.0.x_layer.kernel`.
    public let name: String
    public let shape: [Int]
    /// nil when HDF5Kit cannot read the element type.
    public let dtype: HDF5DType?
    public let typeDescription: String
}

/// A dataset the converter knows it does not need, with the reason (optimizer and training state).
public struct IgnoredDataset: Equatable, Sendable {
    public let location: String
    public let shape: [Int]?
    public let reason: String
}

/// An opened source: its kind, weight datasets and ignorable datasets. Reading values checks the
/// element type (float32/float64 only) and finiteness, naming the dataset on failure.
public final class SourceFile {
    public let path: String
    public let kind: SourceKind
    /// Lower-case hex SHA-256 of the file as given (recorded in the model's provenance).
    public let sha256: String
    public private(set) var datasets: [SourceDataset] = []
    public private(set) var ignored: [IgnoredDataset] = []
    /// `keras_version` and `backend` attributes when present.
    public private(set) var kerasVersion: String?
    /// True for Keras 3 weights whose `vars` groups carry no `name` attribute (order matching only).
    public private(set) var lacksLayerNames = false
    /// What the file's model configuration states (nil for weights-only saves): ``StatedFacts``.
    private(set) var stated: StatedFacts?
    let hdf5: HDF5File
    private let temporaryPath: String?
    /// Largest dataset read, in elements: checked against the declared shape before anything is allocated.
    public let maxDatasetElements: Int

    /// Default of ``maxDatasetElements``: 2^26 elements (256 MiB of float32), far above any L2HMC
    /// network (an 8x8 model's largest kernel has 32,768 elements, a 64x64 one's about 8.4 million
    /// at 1024 units) and far below what would exhaust a machine.
    public static let defaultMaxDatasetElements = 1 << 26

    /// Opens `path`: an HDF5 file (our checkpoint or a Keras layout) or a Keras 3 `.keras` zip.
    /// The file must be a regular file (``SourcePath``); HDF5Kit refuses external storage, external
    /// links, virtual datasets and unknown filters before anything is read.
    public init(path: String, maxDatasetElements: Int = SourceFile.defaultMaxDatasetElements) throws {
        self.path = path
        self.maxDatasetElements = maxDatasetElements
        let config: [UInt8]?
        let bytes = try Self.readHead(path)
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) || bytes.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            let zip = try ZipArchive(path: path)
            if zip.names.first == "l2z.magic" {
                throw ConvertError.unsupportedSource(path: path, reason: "it is an .l2z model already (use `l2hmc-convert inspect`)")
            }
            guard zip.names.contains("model.weights.h5") else {
                throw ConvertError.unsupportedSource(path: path, reason: "a zip archive without model.weights.h5 (not a Keras 3 .keras file); members: \(zip.names.prefix(6).joined(separator: ", "))")
            }
            config = zip.names.contains("config.json") ? try zip.read("config.json", limit: StatedFacts.maxConfigBytes) : nil
            let temp = try Self.extractToTemporary(zip, member: "model.weights.h5")
            temporaryPath = temp
            do { hdf5 = try HDF5File.open(temp) } catch {
                unlink(temp)
                throw Self.relabel(error, from: temp, to: "\(path):model.weights.h5")
            }
            kind = .keras3Archive
        } else {
            config = nil
            temporaryPath = nil
            hdf5 = try HDF5File.open(path)
            kind = try Self.classify(hdf5, path: path)
        }
        sha256 = try Self.fileDigest(path)
        do {
            try scan()
            if let config {
                stated = try StatedFacts.parse(config, origin: "config.json", path: path)
            } else if kind == .kerasModelH5, try hdf5.attributeNames("/").contains("model_config") {
                stated = try StatedFacts.parse(Array(try stringAttribute("/", "model_config").utf8), origin: "model_config", path: path)
            }
        } catch {
            try? hdf5.close()
            if let temporaryPath { unlink(temporaryPath) }
            throw error
        }
    }

    deinit {
        try? hdf5.close()
        if let temporaryPath { unlink(temporaryPath) }
    }

    // MARK: Values

    /// The dataset's values as doubles (exact for float32 and float64), checked: floating-point
    /// element type and every value finite.
    public func values(_ d: SourceDataset) throws -> (values: [Double], dtype: DType) {
        let a = try array(d)
        return (a.doubles(), a.dtype)
    }

    /// The dataset as an array of its own element type (float32 stays float32: no widening),
    /// checked: floating-point element type, at most ``maxDatasetElements`` elements (before
    /// anything is allocated), every value finite.
    public func array(_ d: SourceDataset) throws -> NDArray {
        guard let dtype = d.dtype else {
            throw ConvertError.wrongDType(source: d.location, found: d.typeDescription, expected: "float32 or float64")
        }
        guard dtype == .float32 || dtype == .float64 else {
            throw ConvertError.wrongDType(source: d.location, found: dtype.rawValue, expected: "float32 or float64")
        }
        let raw = try readRelabelled(d.hdf5Path)
        guard raw.dtype == dtype else {
            throw ConvertError.wrongDType(source: d.location, found: raw.dtype.rawValue, expected: dtype.rawValue)
        }
        // Finiteness on the stored values, without a widened copy.
        var bad = 0, first = -1
        raw.raw.withUnsafeBytes { bytes in
            func scan<T: BinaryFloatingPoint>(_: T.Type) {
                for (i, v) in bytes.bindMemory(to: T.self).enumerated() where !v.isFinite {
                    if first < 0 { first = i }
                    bad += 1
                }
            }
            if dtype == .float32 { scan(Float.self) } else { scan(Double.self) }
        }
        if bad > 0 { throw ConvertError.nonFinite(source: d.location, count: bad, firstIndex: first) }
        return try NDArray(dtype: dtype == .float32 ? .float32 : .float64, shape: raw.shape, bytes: raw.raw)
    }

    /// Reads a dataset (at most ``maxDatasetElements`` elements), naming the source file (not a
    /// temporary copy) on failure.
    func readRelabelled(_ hdf5Path: String) throws -> HDF5Array {
        do { return try hdf5.readDataset(hdf5Path, maxElements: maxDatasetElements) } catch {
            throw temporaryPath.map { Self.relabel(error, from: $0, to: "\(path):model.weights.h5") } ?? error
        }
    }

    // MARK: Classification and scanning

    static func classify(_ f: HDF5File, path: String) throws -> SourceKind {
        let rootAttributes = try f.attributeNames("/")
        if rootAttributes.contains("format"), case let .string(format)? = try? f.readAttribute("/", "format"), format == "l2hmc-train-checkpoint" {
            return .l2hmcCheckpoint
        }
        func listsLayers(_ names: [String]) -> Bool { names.contains("layer_names") || names.contains("layer_names0") }
        if listsLayers(rootAttributes) { return .kerasWeightsH5 }
        if f.exists("/model_weights"), listsLayers(try f.attributeNames("/model_weights")) { return .kerasModelH5 }
        if f.exists("/layers") { return .keras3Weights }
        if rootAttributes.contains("format") {
            throw ConvertError.unsupportedSource(path: path, reason: "an HDF5 file with a 'format' attribute that is not l2hmc-train-checkpoint")
        }
        throw ConvertError.unsupportedSource(path: path, reason: "an HDF5 file in none of the supported layouts (no l2hmc-train 'format' attribute, no Keras 'layer_names', no model_weights group, no Keras 3 'layers' group)")
    }

    private func scan() throws {
        let objects = try hdf5.listObjects()
        let datasetObjects = objects.filter { $0.kind == .dataset }
        var used = Set<String>()
        switch kind {
        case .l2hmcCheckpoint:
            for o in datasetObjects {
                let name = String(o.path.dropFirst())
                if name.hasPrefix("adam/") {
                    ignored.append(IgnoredDataset(location: o.path, shape: o.shape, reason: "optimizer state (Adam moments), not part of the model"))
                } else if name == "chains" {
                    ignored.append(IgnoredDataset(location: o.path, shape: o.shape, reason: "training state (chain positions), not part of the model"))
                } else {
                    datasets.append(dataset(o, name: name))
                }
                used.insert(o.path)
            }
        case .kerasWeightsH5, .kerasModelH5:
            let root = kind == .kerasModelH5 ? "/model_weights" : "/"
            kerasVersion = try? stringAttribute(root, "keras_version")
            let layers = try nameList(root, "layer_names")
            for layer in layers {
                let group = (root == "/" ? "" : root) + "/" + layer
                guard hdf5.exists(group) else {
                    throw ConvertError.unsupportedSource(path: path, reason: "layer \(layer) is listed in layer_names but has no group \(group)")
                }
                let weights = try nameList(group, "weight_names")
                for w in weights {
                    let location = group + "/" + w
                    guard let o = objects.first(where: { $0.path == HDF5Path.normalize(location) }), o.kind == .dataset else {
                        throw ConvertError.unsupportedSource(path: path, reason: "weight \(w) of layer \(layer) has no dataset at \(location)")
                    }
                    let bare = w.hasSuffix(":0") ? String(w.dropLast(2)) : w
                    datasets.append(dataset(o, name: layer + "/" + bare))
                    used.insert(o.path)
                }
            }
            for o in datasetObjects where !used.contains(o.path) && o.path.hasPrefix("/optimizer_weights/") {
                ignored.append(IgnoredDataset(location: o.path, shape: o.shape, reason: "optimizer state (model.save), not part of the model"))
                used.insert(o.path)
            }
        case .keras3Weights, .keras3Archive:
            kerasVersion = nil
            var anyNamed = false, anyUnnamed = false
            func walk(_ group: String, prefix: [String]) throws {
                let vars = group + "/vars"
                var label = group.split(separator: "/").last.map(String.init) ?? ""
                if hdf5.exists(vars) {
                    if let name = try? stringAttribute(vars, "name") {
                        label = name
                        anyNamed = true
                    } else {
                        anyUnnamed = true
                    }
                    let className = Keras3Layers.className(ofAutoName: group.split(separator: "/").last.map(String.init) ?? "")
                    let children = datasetObjects.filter { $0.path.hasPrefix(vars + "/") && !$0.path.dropFirst(vars.count + 1).contains("/") }
                        .sorted { (Int($0.path.split(separator: "/").last ?? "") ?? 0) < (Int($1.path.split(separator: "/").last ?? "") ?? 0) }
                    for (i, o) in children.enumerated() {
                        let leaf = o.path.split(separator: "/").last.map(String.init) ?? ""
                        guard leaf == String(i) else {
                            throw ConvertError.unsupportedSource(path: path, reason: "\(vars) holds \(leaf), expected variables numbered 0, 1, ...")
                        }
                        let role = Keras3Layers.variableRole(className: className, index: i, count: children.count)
                        datasets.append(dataset(o, name: (prefix + [label, role]).joined(separator: "/")))
                        used.insert(o.path)
                    }
                }
                let layersGroup = group + "/layers"
                if hdf5.exists(layersGroup) {
                    let children = objects.filter { $0.kind == .group && $0.path.hasPrefix(layersGroup + "/") && !$0.path.dropFirst(layersGroup.count + 1).contains("/") }
                    for child in Keras3Layers.creationOrder(children.map(\.path)) {
                        try walk(child, prefix: group == "" ? [] : prefix + [label])
                    }
                }
            }
            try walk("", prefix: [])
            lacksLayerNames = anyUnnamed && !anyNamed
            for o in datasetObjects where !used.contains(o.path) && o.path.hasPrefix("/optimizer/") {
                ignored.append(IgnoredDataset(location: o.path, shape: o.shape, reason: "optimizer state, not part of the model"))
                used.insert(o.path)
            }
        case .torchZip, .safetensors:
            break   // never an HDF5 file (TensorFileSource reads these)
        }
        // Datasets nothing refers to are weights of no known layer: listed, mapped to nothing.
        for o in datasetObjects where !used.contains(o.path) {
            datasets.append(dataset(o, name: String(o.path.dropFirst()), unreferenced: true))
        }
    }

    private func dataset(_ o: HDF5Object, name: String, unreferenced: Bool = false) -> SourceDataset {
        let location = kind == .keras3Archive ? "model.weights.h5:\(o.path)" : o.path
        return SourceDataset(location: location, hdf5Path: o.path, name: unreferenced ? "(unreferenced) " + name : name,
                             shape: o.shape ?? [], dtype: o.dtype, typeDescription: o.typeDescription ?? "unknown")
    }

    /// A Keras name list: attribute `name`, or, when Keras split a long list over several
    /// attributes to stay under HDF5's 64 KiB header limit, `name0`, `name1`, ... concatenated.
    func nameList(_ object: String, _ name: String) throws -> [String] {
        let present = try hdf5.attributeNames(object)
        var parts: [String] = present.contains(name) ? [name] : []
        if parts.isEmpty {
            var i = 0
            while present.contains("\(name)\(i)") { parts.append("\(name)\(i)"); i += 1 }
        }
        guard !parts.isEmpty else {
            throw ConvertError.unsupportedSource(path: path, reason: "\(object) has no \(name) attribute (a Keras HDF5 layer group must list its \(name))")
        }
        return try parts.flatMap { attribute -> [String] in
            guard let list = try hdf5.readAttribute(object, attribute).stringList else {
                throw ConvertError.unsupportedSource(path: path, reason: "\(object)@\(attribute) is not a list of names")
            }
            return list
        }
    }

    func stringAttribute(_ object: String, _ name: String) throws -> String {
        switch try hdf5.readAttribute(object, name) {
        case let .string(s): return s
        case let .strings(a) where a.count == 1: return a[0]
        default: throw ConvertError.unsupportedSource(path: path, reason: "\(object)@\(name) is not a string")
        }
    }

    // MARK: Files

    /// The first bytes of a regular file (``SourcePath``: directories, FIFOs and devices are refused unopened).
    private static func readHead(_ path: String) throws -> [UInt8] {
        try SourcePath.head(path, count: 8)
    }

    private static func extractToTemporary(_ zip: ZipArchive, member: String) throws -> String {
        var template = Array((NSTemporaryDirectory() + "/l2hmc-convert-XXXXXX.h5").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 3) }
        guard fd >= 0 else {
            throw L2ZError.ioFailure(path: NSTemporaryDirectory(), operation: "create temporary file", reason: String(cString: strerror(errno)))
        }
        let temp = String(cString: template)
        do {
            defer { close(fd) }
            try zip.extract(member, toDescriptor: fd)
        } catch {
            unlink(temp)
            throw error
        }
        return temp
    }

    private static func fileDigest(_ path: String) throws -> String {
        SHA256Digest.hex(try AtomicFile.read(path, limit: Int.max))
    }

    /// An HDF5 error about a temporary copy, re-worded to name the archive member.
    static func relabel(_ error: Error, from temp: String, to shown: String) -> Error {
        guard let e = error as? HDF5Error else { return error }
        switch e {
        case let .corrupt(_, reason): return HDF5Error.corrupt(path: shown, reason: reason.replacingOccurrences(of: temp, with: shown))
        case .notHDF5: return HDF5Error.notHDF5(path: shown)
        case let .openFailed(_, reason): return HDF5Error.openFailed(path: shown, reason: reason)
        case let .notFound(_, object): return HDF5Error.notFound(path: shown, object: object)
        case let .externalStorage(_, object, count): return HDF5Error.externalStorage(path: shown, object: object, fileCount: count)
        case let .virtualDataset(_, object): return HDF5Error.virtualDataset(path: shown, object: object)
        case let .unsupportedFilter(_, object, filter): return HDF5Error.unsupportedFilter(path: shown, object: object, filter: filter)
        case let .unsafeLink(_, link, kind): return HDF5Error.unsafeLink(path: shown, link: link, kind: kind)
        default: return e
        }
    }
}

/// HDF5 path helpers.
enum HDF5Path {
    /// `/a/b` form: one leading slash, no repeated or trailing slashes.
    static func normalize(_ p: String) -> String {
        "/" + p.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }
}

/// What Keras 3 writes for each layer class: the auto names of its groups and its variables.
enum Keras3Layers {
    /// `dense_12` -> `dense`; `batch_normalization` -> `batch_normalization`.
    static func className(ofAutoName name: String) -> String {
        guard let underscore = name.lastIndex(of: "_"), Int(name[name.index(after: underscore)...]) != nil else { return name }
        return String(name[..<underscore])
    }

    /// Index within the class: `dense` 0, `dense_1` 1, ...
    static func autoIndex(_ name: String) -> Int {
        guard let underscore = name.lastIndex(of: "_"), let i = Int(name[name.index(after: underscore)...]) else { return 0 }
        return i
    }

    /// Variables of a layer class in Keras's order (Dense and Conv2D: kernel, bias;
    /// BatchNormalization: gamma, beta, moving_mean, moving_variance); `var<i>` for anything else.
    static func variableRole(className: String, index: Int, count: Int) -> String {
        switch (className, count) {
        case ("dense", 2), ("conv2d", 2): return ["kernel", "bias"][index]
        case ("dense", 1), ("conv2d", 1): return "kernel"
        case ("batch_normalization", 4): return ["gamma", "beta", "moving_mean", "moving_variance"][index]
        default: return "var\(index)"
        }
    }

    /// Child layer groups in creation order: by class name, then the auto index (so `dense_10`
    /// follows `dense_9`, which a plain string sort would not give).
    static func creationOrder(_ paths: [String]) -> [String] {
        paths.sorted { a, b in
            let na = String(a.split(separator: "/").last ?? ""), nb = String(b.split(separator: "/").last ?? "")
            let ca = className(ofAutoName: na), cb = className(ofAutoName: nb)
            return ca != cb ? ca < cb : autoIndex(na) < autoIndex(nb)
        }
    }
}
