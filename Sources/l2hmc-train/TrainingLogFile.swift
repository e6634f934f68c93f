import Foundation
import Trainer
#if canImport(Glibc)
import Glibc
#endif

/// The CSV training log on disk, committed together with the checkpoint.
///
/// Rows are appended as steps finish; before every checkpoint the log is fsync'ed, so whenever
/// a checkpoint at step S is on disk the log holds at least the header and rows 1...S. Rows past
/// S (steps done after the last checkpoint, possibly a partial last row after a kill) are cut
/// off on resume, so the resumed log is byte for byte that of an uninterrupted run.
final class TrainingLogFile {
    let path: String
    /// The columns of this file (a resumed legacy log keeps its own).
    let columns: TrainingLog.Columns
    private var fd: Int32

    private init(path: String, fd: Int32, columns: TrainingLog.Columns) { self.path = path; self.fd = fd; self.columns = columns }

    deinit { close(fd) }

    /// Writes a log holding only the header (durably; exclusively unless `replaceExisting`).
    static func create(_ path: String, columns: TrainingLog.Columns, replaceExisting: Bool, hooks: DurableFile.Hooks) throws -> TrainingLogFile {
        try DurableFile.write(Array(columns.header.utf8), to: path, replaceExisting: replaceExisting, hooks: hooks)
        return try open(path, columns: columns)
    }

    /// Opens an existing log for a run resumed at `step`: checks the header (the columns of
    /// `expected`, or the legacy ones of a log written before them) and rows 1...step (each
    /// present, complete and numbered in order) and truncates what follows.
    static func resume(_ path: String, step: Int, expected: TrainingLog.Columns) throws -> TrainingLogFile {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw OutputError("train.log_mismatch", path: path, reason: "is missing or not a regular file; the checkpoint (step \(step)) continues it")
        }
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw OutputError("train.log_mismatch", path: path, reason: "cannot read the training log the checkpoint (step \(step)) continues")
        }
        guard let columns = TrainingLog.Columns.detect(bytes), columns == expected || columns == .legacy else {
            throw OutputError("train.log_mismatch", path: path, reason: "does not start with the training-log header of this run (\(expected.header.dropLast()))")
        }
        let header = Array(columns.header.utf8)
        var end = header.count
        for row in stride(from: 1, through: step, by: 1) {
            let prefix = Array("\(row),".utf8)
            guard bytes.count >= end + prefix.count, Array(bytes[end..<(end + prefix.count)]) == prefix,
                  let newline = bytes[end...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw OutputError("train.log_mismatch", path: path,
                                  reason: "holds \(row - 1) complete rows; the checkpoint is at step \(step) (was the log replaced?)")
            }
            end = newline + 1
        }
        let log = try open(path, columns: columns)
        if bytes.count > end {
            guard ftruncate(log.fd, off_t(end)) == 0 else { throw OutputError("io.write_failed", path: path, reason: "truncate: \(String(cString: strerror(errno)))") }
            try log.sync()
        }
        return log
    }

    private static func open(_ path: String, columns: TrainingLog.Columns) throws -> TrainingLogFile {
        let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw OutputError("io.write_failed", path: path, reason: "open: \(String(cString: strerror(errno)))") }
        return TrainingLogFile(path: path, fd: fd, columns: columns)
    }

    func append(_ m: L2HMCTrainer.Metrics) throws {
        try DurableFile.writeAll(fd, Array(TrainingLog.row(m, columns).utf8), path: path)
    }

    /// Makes every appended row durable (called before each checkpoint).
    func sync() throws {
        guard fsync(fd) == 0 else { throw OutputError("io.write_failed", path: path, reason: "fsync: \(String(cString: strerror(errno)))") }
    }
}
