import Foundation
import ModelFormat

/// A failure around the trainer's output files (model, checkpoint, log): one line
/// `[code] path: reason`, exit status 1.
///
/// Codes: `io.output_exists` (an output exists and replacing it was not asked for),
/// `io.locked` (another process holds the output's lock), `io.foreign_output` (`--force` asked to
/// replace something l2hmc-train did not write: a directory, a link, another tool's file),
/// `io.write_failed` (the file system refused), `train.log_mismatch` (the training log does not
/// hold the rows the checkpoint's step implies).
public struct OutputError: Error, CustomStringConvertible, Equatable {
    public let code: String
    public let path: String
    public let reason: String

    public init(_ code: String, path: String, reason: String) {
        self.code = code; self.path = path; self.reason = reason
    }

    public var description: String { "[\(code)] \(UntrustedText.escaped(path)): \(UntrustedText.escaped(reason))" }

    static func writeFailed(_ path: String, _ what: String) -> OutputError {
        OutputError("io.write_failed", path: path, reason: "\(what): \(String(cString: strerror(errno)))")
    }
}
