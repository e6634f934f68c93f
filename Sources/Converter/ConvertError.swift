import Foundation
import ModelFormat

/// Every way a conversion can fail that is the converter's own concern (HDF5 and `.l2z` failures
/// keep their own ``HDF5Kit/HDF5Error`` and ``ModelFormat/L2ZError`` codes).
///
/// Each case has a stable ``code`` (`convert.*`) and a one-line ``message`` that names the
/// culprit (the fact, the source dataset, the canonical array). ``isUsageError`` marks failures
/// the user fixes with options (a missing or conflicting fact): the CLI exits 64 for them and 1
/// for everything about the file's content.
public enum ConvertError: Error, Equatable, Sendable {
    // MARK: Facts (usage)
    /// A convention the file does not carry and no preset, config or flag gave.
    case missingFact(fact: String, needed: String, how: String)
    /// A fact given with a value that cannot be parsed or is out of range.
    case invalidFact(fact: String, value: String, expected: String)
    /// Two facts, or a fact and the file, contradict each other.
    case conflictingFact(fact: String, reason: String)
    case unknownPreset(name: String, known: [String])
    /// An option that makes no sense for this source (e.g. a convention flag for our own ckpt.h5).
    case optionNotAccepted(option: String, reason: String)

    // MARK: The source file
    /// The source is a directory, FIFO, socket or device: only regular files are read.
    case notRegularFile(path: String, kind: String)
    case unsupportedSource(path: String, reason: String)
    /// An upstream artifact that holds no readable weights (a SavedModel, a tf.train.Checkpoint,
    /// a pickle or joblib file, a Hydra YAML config): ``UpstreamArtifact``; nothing was read.
    case notWeightFile(path: String, what: String, instead: String)
    /// No supported network naming matches the weight names.
    case unrecognizedNaming(reason: String)
    /// Datasets that are neither mapped to a canonical array nor known to be ignorable.
    case unmappedDatasets(names: [String])
    /// Two source datasets map to the same canonical array.
    case duplicateMapping(canonical: String, sources: [String])
    /// The same canonical weight is stored under two aliases (upstream PyTorch's `networks.xnet...`
    /// and `xnet...`) with different values.
    case aliasMismatch(canonical: String, sources: [String], detail: String)
    /// An array the architecture needs was not found in the file.
    case missingArray(canonical: String, expectedSource: String)
    /// A dataset's shape disagrees with the facts (or with the other networks).
    case shapeMismatch(source: String, canonical: String, expected: [Int], actual: [Int], reason: String)
    case wrongDType(source: String, found: String, expected: String)
    case nonFinite(source: String, count: Int, firstIndex: Int)
    /// A trained kernel or bias that is exactly all zero, under `--strict`.
    case zeroParameters(names: [String])
    case invalidCheckpoint(path: String, reason: String)
    /// What the file declares would need more memory than the limit (checked before allocating).
    case tooLarge(what: String, elements: Int, limit: Int)
    /// Reading the source killed the process that read it (libhdf5 corrupts memory on some
    /// damaged files): the tool reads sources in a child process and reports this instead of dying.
    case sourceCrashed(path: String, signal: Int32)
    /// Reading the source took longer than the time limit (libhdf5 loops on some damaged files).
    case sourceTimeout(path: String, seconds: Double)
    /// A `.keras` archive with a member name that could escape a directory, or too large a member.
    case unsafeArchive(path: String, reason: String)
    case archiveFailure(path: String, reason: String)
    /// `l2hmc-convert export`: the model uses something the target naming's code cannot compute.
    case exportUnsupported(field: String, value: String, reason: String)
    /// The converted model did not reproduce its own probe (an internal consistency check).
    case probeFailed(reason: String)
    /// A safetensors file breaking one of the reader's rules (``SafetensorsFile``): code
    /// `convert.safetensors_<problem>`.
    case safetensors(path: String, problem: SafetensorsProblem, detail: String)

    // MARK: Restricted pickle reader (PickleReader; docs/CONVERT.md "Restricted pickle reader")
    /// An opcode outside the reader's subset (named, with its byte offset).
    case pickleOpcode(name: String, byte: UInt8, offset: Int)
    /// A GLOBAL/STACK_GLOBAL naming a callable or class that is not on the caller's allowlist.
    case pickleGlobal(module: String, name: String, offset: Int)
    /// The pickle ends inside an opcode's argument or before STOP.
    case pickleTruncated(offset: Int, needed: String)
    /// A bound on size, memo, stack, nesting depth or value count would be exceeded.
    case pickleLimit(what: String, limit: Int, offset: Int)
    /// Anything else that is not a well-formed pickle of protocol 2-5 (stack underflow, memo
    /// index never set, non-tuple arguments, invalid UTF-8, bytes after STOP, a cycle).
    case pickleMalformed(offset: Int, reason: String)

    // MARK: PyTorch zip checkpoints (TorchCheckpoint; docs/CONVERT.md "PyTorch zip checkpoints")
    /// A `torch.save` file breaking one of the reader's rules: code `convert.torch_<problem>`.
    case torch(path: String, problem: TorchProblem, detail: String)

    public var code: String {
        switch self {
        case .missingFact: return "convert.missing_fact"
        case .invalidFact: return "convert.invalid_fact"
        case .conflictingFact: return "convert.conflicting_fact"
        case .unknownPreset: return "convert.unknown_preset"
        case .optionNotAccepted: return "convert.option_not_accepted"
        case .notRegularFile: return "convert.not_regular_file"
        case .unsupportedSource: return "convert.unsupported_source"
        case .notWeightFile: return "convert.not_weight_file"
        case .unrecognizedNaming: return "convert.unrecognized_naming"
        case .unmappedDatasets: return "convert.unmapped_datasets"
        case .duplicateMapping: return "convert.duplicate_mapping"
        case .aliasMismatch: return "convert.alias_mismatch"
        case .missingArray: return "convert.missing_array"
        case .shapeMismatch: return "convert.shape_mismatch"
        case .wrongDType: return "convert.wrong_dtype"
        case .nonFinite: return "convert.non_finite"
        case .zeroParameters: return "convert.zero_parameter"
        case .invalidCheckpoint: return "convert.invalid_checkpoint"
        case .tooLarge: return "convert.too_large"
        case .sourceCrashed: return "convert.source_crashed"
        case .sourceTimeout: return "convert.source_timeout"
        case .unsafeArchive: return "convert.unsafe_archive"
        case .archiveFailure: return "convert.archive_failure"
        case .probeFailed: return "convert.probe_failed"
        case .exportUnsupported: return "convert.export_unsupported"
        case .pickleOpcode: return "convert.pickle_opcode"
        case .pickleGlobal: return "convert.pickle_global"
        case .pickleTruncated: return "convert.pickle_truncated"
        case .pickleLimit: return "convert.pickle_limit"
        case .pickleMalformed: return "convert.pickle_malformed"
        case let .safetensors(_, problem, _): return "convert.safetensors_\(problem.rawValue)"
        case let .torch(_, problem, _): return "convert.torch_\(problem.rawValue)"
        }
    }

    /// True for failures fixed by giving options (CLI exit status 64).
    public var isUsageError: Bool {
        switch self {
        case .missingFact, .invalidFact, .conflictingFact, .unknownPreset, .optionNotAccepted: return true
        default: return false
        }
    }

    /// One line; text quoted from the file or the command line is escaped (``ModelFormat/UntrustedText``).
    public var message: String { UntrustedText.escaped(unescapedMessage) }

    var unescapedMessage: String {
        switch self {
        case let .missingFact(fact, needed, how):
            return "missing fact '\(fact)' (\(needed)); the file does not carry it: \(how)"
        case let .invalidFact(fact, value, expected):
            return "fact '\(fact)' has value \(value.debugDescription); expected \(expected)"
        case let .conflictingFact(fact, reason):
            return "fact '\(fact)': \(reason)"
        case let .unknownPreset(name, known):
            return "unknown preset \(name.debugDescription); known presets: \(known.joined(separator: ", ")) (docs/CONVERT.md)"
        case let .optionNotAccepted(option, reason):
            return "\(option) is not accepted here: \(reason)"
        case let .notRegularFile(path, kind) where kind == "directory":
            return "\(path) is a directory, not a file: TensorFlow SavedModel directories (saved_model.pb, variables/) are not supported; convert a Keras file (model.save .h5, save_weights .h5 or .weights.h5, a Keras 3 .keras archive) or l2hmc-train's ckpt.h5"
        case let .notRegularFile(path, kind):
            return "\(path) is a \(kind), not a regular file; sources are read only from regular files (nothing was read)"
        case let .unsupportedSource(path, reason):
            return "\(path) cannot be converted: \(reason)"
        case let .notWeightFile(path, what, instead):
            return "\(path) is \(what), not a weight file the converter reads (nothing was loaded): \(instead)"
        case let .unrecognizedNaming(reason):
            return "no supported network naming matches the weights: \(reason) (see docs/CONVERT.md; --naming chooses one)"
        case let .unmappedDatasets(names):
            let shown = names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", ... (\(names.count) in all)" : "")
            return "\(names.count) dataset(s) map to no canonical array: \(shown); pass --allow-unused to convert anyway (they are listed), or check the naming with --dry-run"
        case let .duplicateMapping(canonical, sources):
            return "\(canonical) is given by more than one dataset: \(sources.joined(separator: ", "))"
        case let .aliasMismatch(canonical, sources, detail):
            return "\(canonical) is stored under the aliases \(sources.joined(separator: " and ")) with different values (\(detail)); the file is inconsistent: re-save the state dict from one model"
        case let .missingArray(canonical, expectedSource):
            return "the architecture needs \(canonical), but the file has no \(expectedSource)"
        case let .shapeMismatch(source, canonical, expected, actual, reason):
            return "\(source) (-> \(canonical)) has shape \(actual), expected \(expected): \(reason)"
        case let .wrongDType(source, found, expected):
            return "\(source) has element type \(found), expected \(expected)"
        case let .nonFinite(source, count, first):
            return "\(source) holds \(count) non-finite value(s) (NaN or infinity), the first at flat index \(first)"
        case let .zeroParameters(names):
            return "trained parameter(s) exactly all zero (the upstream export bug's signature): \(names.joined(separator: ", ")); drop --strict to convert with a warning"
        case let .invalidCheckpoint(path, reason):
            return "\(path) is not a valid l2hmc-train checkpoint: \(reason)"
        case let .sourceCrashed(path, signal):
            let killed = signal == 9 ? "; SIGKILL usually means the system ran out of memory" : ""
            return "reading \(path) crashed the reader (signal \(signal)\(Self.signalName(signal).map { ", \($0)" } ?? "")): the file is damaged or hostile (libhdf5 cannot read it safely)\(killed); nothing was written"
        case let .sourceTimeout(path, seconds):
            return "reading \(path) took longer than \(ModelDescription.formatNumber(seconds)) s and was stopped: the file may be damaged (libhdf5 can loop on damaged files); --source-timeout sets the limit; nothing was written"
        case let .tooLarge(what, elements, limit):
            return "\(what) would need \(elements == Int.max ? "more than Int.max" : String(elements)) elements, more than the limit of \(limit); refused before allocating"
        case let .unsafeArchive(path, reason):
            return "\(path): refused archive: \(reason)"
        case let .archiveFailure(path, reason):
            return "\(path): cannot read the archive: \(reason)"
        case let .exportUnsupported(field, value, reason):
            return "the model cannot be exported in this naming: \(field) is \(value) (\(reason))"
        case let .probeFailed(reason):
            return "the converted model does not reproduce its own probe: \(reason)"
        case let .pickleOpcode(name, byte, offset):
            return "pickle opcode \(name) (0x\(String(byte, radix: 16))) at byte \(offset) is not in the restricted reader's subset; nothing was executed"
        case let .pickleGlobal(module, name, offset):
            return "pickle global \(module).\(name) at byte \(offset) is not on the allowlist; refused, nothing was executed"
        case let .pickleTruncated(offset, needed):
            return "pickle truncated at byte \(offset): \(needed) is missing"
        case let .pickleLimit(what, limit, offset):
            return "pickle exceeds the limit on \(what) (\(limit)) at byte \(offset); refused before allocating"
        case let .pickleMalformed(offset, reason):
            return "malformed pickle at byte \(offset): \(reason)"
        case let .safetensors(path, _, detail):
            return "\(path) is not a valid safetensors file: \(detail)"
        case let .torch(path, _, detail):
            return "\(path): PyTorch checkpoint refused: \(detail)"
        }
    }
}

extension ConvertError {
    /// SIGSEGV, SIGABRT, ... for the signals a crashing library dies of.
    static func signalName(_ signal: Int32) -> String? {
        [4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 31: "SIGSYS"][signal]
    }
}

extension ConvertError: LocalizedError, CustomStringConvertible {
    public var errorDescription: String? { "[\(code)] \(message)" }
    public var description: String { "[\(code)] \(message)" }
}
