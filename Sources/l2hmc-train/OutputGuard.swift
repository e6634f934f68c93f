import Foundation
import ModelFormat
import Trainer
#if canImport(Glibc)
import Glibc
#endif

/// What may be replaced: `--force` replaces only files l2hmc-train itself wrote, recognised by
/// their markers (a checkpoint by its `format` attribute, a model by its producer
/// `l2hmc-train`, a log by its header line); a directory, a link, a device or another tool's
/// file is `io.foreign_output` whatever the flags.
enum OutputGuard {
    enum Kind { case model, checkpoint, log }

    /// Whether `path` exists (as anything, a dangling link included).
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// nil when `path` is absent; otherwise checks it may be replaced and returns true.
    /// `allowed` is false when replacing was not asked for (`io.output_exists`).
    @discardableResult
    static func checkReplaceable(_ path: String, as kind: Kind, allowed: Bool) throws -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0 else { return false }
        guard allowed else {
            throw OutputError("io.output_exists", path: path, reason: "exists; pass --force to replace a file l2hmc-train wrote")
        }
        let what: String
        switch st.st_mode & S_IFMT {
        case S_IFREG: what = ""
        case S_IFDIR: what = "a directory"
        case S_IFLNK: what = "a symbolic link"
        default: what = "not a regular file"
        }
        guard what.isEmpty else {
            throw OutputError("io.foreign_output", path: path, reason: "is \(what); --force replaces only files l2hmc-train wrote")
        }
        guard isOwn(path, as: kind) else {
            throw OutputError("io.foreign_output", path: path, reason: "was not written by l2hmc-train (\(marker(kind))); refusing to replace it")
        }
        return true
    }

    private static func marker(_ kind: Kind) -> String {
        switch kind {
        case .model: return "no .l2z model with producer l2hmc-train"
        case .checkpoint: return "no \(Checkpoint.format) or \(FlowCheckpoint.format) format attribute"
        case .log: return "no training-log header"
        }
    }

    /// Regular files only (a FIFO or device is never opened).
    static func isOwn(_ path: String, as kind: Kind) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
        switch kind {
        case .checkpoint: return Checkpoint.isCheckpoint(path) || FlowCheckpoint.isCheckpoint(path)
        case .model: return (try? L2ZReader.read(path: path))?.model.provenance.producer == "l2hmc-train"
        case .log:
            // Any of the headers l2hmc-train has written (TrainingLog.Columns).
            let longest = TrainingLog.Columns.allCases.map(\.header.utf8.count).max() ?? 0
            return (try? AtomicFile.readPrefix(path, count: longest)).flatMap(TrainingLog.Columns.detect) != nil
        }
    }
}
