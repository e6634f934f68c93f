import Foundation
import HDF5Kit
import ModelFormat

/// Every way writing or reading a saved ensemble (`ensemble.h5`) fails, each with a stable code.
public enum EnsembleError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file is not an ensemble: not HDF5, or no `format = "l2hmc-ensemble"` root attribute.
    case notEnsemble(path: String, reason: String)
    /// An ensemble of a `format_version` this build does not read.
    case formatVersion(path: String, found: String)
    /// Datasets or attributes that contradict each other (shapes, counts, trajectory indices,
    /// values outside their domain), or an ensemble that disagrees with its run directory.
    case inconsistent(path: String, reason: String)
    /// Reading or writing failed (HDF5's reason, a full disk, fsync).
    case io(path: String, reason: String)
    /// An option that cannot apply (`--wilson-max` beyond the lattice, a mixture target).
    case invalidOption(name: String, reason: String)

    public var code: String {
        switch self {
        case .notEnsemble: return "ensemble.not_ensemble"
        case .formatVersion: return "ensemble.format_version"
        case .inconsistent: return "ensemble.inconsistent"
        case .io: return "io.failure"
        case .invalidOption: return "run.invalid_option"
        }
    }

    /// Options errors exit 64, the rest 1.
    public var isUsageError: Bool { if case .invalidOption = self { return true } else { return false } }

    public var description: String {
        let e = { UntrustedText.escaped($0) }
        switch self {
        case let .notEnsemble(path, reason): return "[\(code)] \(e(path)) is not a saved ensemble of l2hmc-run: \(reason)"
        case let .formatVersion(path, found):
            return "[\(code)] \(e(path)) has format_version \(e(found)); this build reads \(EnsembleHeader.formatVersion)"
        case let .inconsistent(path, reason): return "[\(code)] \(e(path)): \(reason)"
        case let .io(path, reason): return "[\(code)] \(e(path)): \(reason)"
        case let .invalidOption(name, reason): return "[\(code)] \(name): \(reason)"
        }
    }

    /// An HDF5Kit failure while working on `path`, as ``io(path:reason:)``.
    static func wrap(_ error: Error, path: String) -> EnsembleError {
        if let e = error as? EnsembleError { return e }
        return .io(path: path, reason: (error as? HDF5Error)?.description ?? "\(error)")
    }
}
