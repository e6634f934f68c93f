import Foundation
import Inference
import ModelFormat

/// The model path a run stores in `params.json`, and how `--resume` finds it again.
///
/// New runs store the absolute path (as the working directory made it when the run started), so
/// `--resume` works from any directory; the SHA-256 stored beside it stays the model's identity
/// (checked by the caller). Directories written before this stored the path as typed: a relative
/// one resolves against the directory `--resume` runs in, and when it is not found there the
/// error says so and names the path (`run.model_missing`, exit 1).
enum ModelPath {
    /// `path` made absolute against the current directory, with `.` and `..` components removed
    /// (symbolic links are kept: the path stays the one the user named).
    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Reads the model a saved run names; a missing file is `run.model_missing` naming the path,
    /// the run directory and, for a relative path, the directory it was looked up from.
    static func readSaved(_ path: String, runDirectory: String) throws -> [UInt8] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            if path.hasPrefix("/") {
                throw InferenceError.modelMissing(path: path, reason: "named by \(runDirectory)/params.json, is not there any more; put the model back at that path to resume (its SHA-256, stored beside the path, is checked)")
            }
            throw InferenceError.modelMissing(path: path, reason: "named by \(runDirectory)/params.json relative to the directory the run was started in (written before l2hmc-run stored absolute model paths), is not found from \(fm.currentDirectoryPath); run --resume from the directory the run was started in")
        }
        return try AtomicFile.read(path, limit: ReadLimits().maxFileBytes)
    }
}
