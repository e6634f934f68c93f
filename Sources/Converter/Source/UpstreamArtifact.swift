import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Upstream artifacts that are not weight files the converter reads, recognized by name and a few
/// head or tail bytes before any reader runs, and refused with what to export instead
/// (`convert.not_weight_file`, exit 1, nothing read or written; docs/CONVERT.md "Upstream
/// artifacts refused").
///
/// Contract: ``check(_:)`` only stats paths, lists a directory's names and reads at most the first
/// 4 KiB and the last 8 bytes of a regular file (opened without blocking; FIFOs and devices are
/// left to ``SourcePath``, which refuses them unopened). It throws for
/// - a TensorFlow SavedModel: a directory holding `saved_model.pb` or `saved_model.pbtxt`, or that
///   file itself;
/// - a `tf.train.Checkpoint`: a directory holding a `checkpoint` state file or a `*.index` or
///   `*.data-NNNNN-of-NNNNN` file; such a file itself; the state file (starting
///   `model_checkpoint_path:`); a file ending in TensorFlow's table magic; a missing path `P`
///   for which `P.index` exists (the prefix given without extension);
/// - a Python pickle: a file starting with PROTO 2-5 (`0x80 0x02`...`0x80 0x05`) that is not
///   PyTorch's legacy format (left to ``TorchCheckpoint``, which refuses it with its own message;
///   zip and HDF5 content is never an artifact, whatever the name),
///   or any file named `.pkl`, `.pickle`, `.p`; a joblib file: such a pickle naming
///   `joblib.numpy_pickle` in its first 4 KiB, a `.joblib`/`.jbl` file, or a compressed file
///   (zlib, gzip, bz2, xz, lzma, lz4, joblib's old `ZF`) named like a pickle or joblib file;
/// - a YAML file (`.yaml`, `.yml`: a Hydra `config.yaml`).
/// Anything else returns normally and the ordinary readers decide.
public enum UpstreamArtifact: String, Sendable, CaseIterable {
    case savedModel = "saved_model"
    case tfCheckpoint = "tf_checkpoint"
    case pickle
    case joblib
    case yamlConfig = "yaml_config"

    /// What the file is, for the message.
    var what: String {
        switch self {
        case .savedModel: return "a TensorFlow SavedModel (saved_model.pb, variables/)"
        case .tfCheckpoint: return "a TensorFlow checkpoint (tf.train.Checkpoint: checkpoint, *.index, *.data-*)"
        case .pickle: return "a Python pickle"
        case .joblib: return "a joblib file (a Python pickle, possibly compressed)"
        case .yamlConfig: return "a YAML file (a Hydra config.yaml)"
        }
    }

    /// What to do instead.
    var instead: String {
        switch self {
        case .savedModel:
            return "export the networks with Keras save_weights('w.h5') or model.save('m.h5') (or a Keras 3 .keras / .weights.h5) and convert that"
        case .tfCheckpoint:
            return "restore it in TensorFlow (model.load_weights(prefix) or tf.train.Checkpoint(model=model).restore(prefix)) and save_weights('w.h5'), then convert the .h5"
        case .pickle, .joblib:
            return "loading a pickle runs code, so it is never loaded; give step sizes and other values as facts (--eps-x/--eps-v, --config facts.json) and export the weights as safetensors or a torch.save state dict, or Keras .h5"
        case .yamlConfig:
            return "a config holds facts, not weights: pass it with --config config.yaml and give the weight file (the .pt/.pth/.tar checkpoint, safetensors or .h5) as the source"
        }
    }

    /// Throws `convert.not_weight_file` when `path` is one of the artifacts above.
    public static func check(_ path: String) throws {
        if let kind = identify(path) {
            throw ConvertError.notWeightFile(path: path, what: kind.what, instead: kind.instead)
        }
    }

    /// The artifact `path` is, or nil.
    public static func identify(_ path: String) -> UpstreamArtifact? {
        let name = (path as NSString).lastPathComponent
        let lower = name.lowercased()
        var st = stat()
        guard stat(path, &st) == 0 else {
            // A checkpoint prefix given without extension (`ckpt-5` for ckpt-5.index).
            return isRegularFile(path + ".index") ? .tfCheckpoint : nil
        }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return directory(path)
        case S_IFREG: break
        default: return nil   // FIFOs, sockets, devices: SourcePath refuses them without opening
        }
        if lower == "saved_model.pb" || lower == "saved_model.pbtxt" { return .savedModel }
        if lower.hasSuffix(".index") || isDataShard(lower) { return .tfCheckpoint }
        if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") { return .yamlConfig }
        let head = (try? SourcePath.head(path, count: 4096)) ?? []
        // PyTorch's legacy pickle keeps its own refusal; a zip or HDF5 file is left to its reader
        // whatever its name (a torch.save zip named `.pkl` is still a checkpoint).
        if head.starts(with: TorchCheckpoint.legacyHead) || head.starts(with: [0x50, 0x4B, 0x03, 0x04])
            || head.starts(with: [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) { return nil }
        let joblibName = [".joblib", ".jbl"].contains { lower.hasSuffix($0) } || lower.contains(".joblib.")
        let pickleName = [".pkl", ".pickle", ".p"].contains { lower.hasSuffix($0) } || lower.contains(".pkl.") || lower.contains(".pickle.")
        if head.count >= 2, head[0] == 0x80, (2...5).contains(head[1]) {
            return joblibName || contains(head, Array("joblib.numpy_pickle".utf8)) || contains(head, Array("joblib\nNumpyArrayWrapper".utf8)) ? .joblib : .pickle
        }
        if (joblibName || pickleName) && isCompressed(head) { return .joblib }
        if joblibName { return .joblib }
        if pickleName { return .pickle }
        if head.starts(with: Array("model_checkpoint_path:".utf8)) || tailIsTableMagic(path, size: Int(st.st_size)) { return .tfCheckpoint }
        return nil
    }

    static func directory(_ path: String) -> UpstreamArtifact? {
        if isRegularFile(path + "/saved_model.pb") || isRegularFile(path + "/saved_model.pbtxt") { return .savedModel }
        if isRegularFile(path + "/checkpoint") { return .tfCheckpoint }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return nil }
        return names.prefix(10_000).contains { $0.hasSuffix(".index") || isDataShard($0) } ? .tfCheckpoint : nil
    }

    /// `*.data-NNNNN-of-NNNNN`.
    static func isDataShard(_ name: String) -> Bool {
        guard let r = name.range(of: ".data-", options: .backwards) else { return false }
        let parts = name[r.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[1] == "of" && [parts[0], parts[2]].allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { i in haystack[i..<(i + needle.count)].elementsEqual(needle) }
    }

    /// zlib (CMF 0x78 with a valid header check), gzip, bz2, xz, lzma, lz4 frame, joblib's old `ZF`.
    static func isCompressed(_ h: [UInt8]) -> Bool {
        if h.count >= 2, h[0] == 0x78, (UInt16(h[0]) << 8 | UInt16(h[1])) % 31 == 0 { return true }
        let magics: [[UInt8]] = [[0x1F, 0x8B], Array("BZh".utf8), [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00], [0x5D, 0x00, 0x00],
                                 [0x04, 0x22, 0x4D, 0x18], Array("ZF".utf8)]
        return magics.contains { h.starts(with: $0) }
    }

    /// TensorFlow's table footer ends with the magic 0xdb4775248b80fb57 (little-endian), as a
    /// checkpoint's `.index` file does.
    static func tailIsTableMagic(_ path: String, size: Int) -> Bool {
        guard size >= 48 else { return false }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return false }
        var tail = [UInt8](repeating: 0, count: 8)
        let n = tail.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 8, off_t(size - 8)) }
        return n == 8 && tail == [0x57, 0xFB, 0x80, 0x8B, 0x24, 0x75, 0x47, 0xDB]
    }
}
