import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes an HDF5 file so that readers see either the old file or the complete new one.
public enum HDF5Atomic {
    /// Creates `<dir>/.<name>.tmp-<pid>-<random>` next to `path`, hands it to `body`, closes it
    /// (flushing HDF5's buffers), fsyncs it, moves it into place and fsyncs the directory.
    ///
    /// - `replaceExisting: true` renames over `path` (atomic replacement).
    /// - `replaceExisting: false` hard-links the temporary file to `path`, which fails with
    ///   `writeFailed` if `path` exists, even if it appears between the check and the link.
    ///
    /// On any failure (including an error thrown by `body`, which is rethrown unchanged) the
    /// temporary file is removed and an existing file at `path` is left byte-for-byte as it was.
    /// The new file gets default permissions (0666 minus the umask), not those of the old file.
    /// `body` must not keep the `HDF5File` beyond its return; it is closed afterwards.
    public static func write(to path: String, replaceExisting: Bool, _ body: (HDF5File) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let base = url.lastPathComponent
        guard !base.isEmpty, base != "/" else {
            throw HDF5Error.writeFailed(path: path, reason: "not a file path")
        }
        if !replaceExisting, FileManager.default.fileExists(atPath: path) {
            throw HDF5Error.writeFailed(path: path, reason: "the file exists and replacing it was not asked for")
        }
        let suffix = String(UInt32.random(in: .min ... .max), radix: 16)
        let temporary = URL(fileURLWithPath: directory)
            .appendingPathComponent(".\(base).tmp-\(getpid())-\(suffix)").path

        do {
            let file = try HDF5File.create(temporary)
            do {
                try body(file)
            } catch {
                try? file.close()
                throw error
            }
            try file.close()
            try fsyncFile(temporary, reportAs: path)
            if replaceExisting {
                guard rename(temporary, path) == 0 else {
                    throw HDF5Error.writeFailed(path: path, reason: "rename from \(temporary): \(HDF5Runtime.errnoText())")
                }
            } else {
                guard link(temporary, path) == 0 else {
                    let reason = errno == EEXIST ? "the file exists and replacing it was not asked for"
                                                 : "link from \(temporary): \(HDF5Runtime.errnoText())"
                    throw HDF5Error.writeFailed(path: path, reason: reason)
                }
                unlink(temporary)
            }
        } catch {
            unlink(temporary)
            throw error
        }
        try fsyncDirectory(directory, reportAs: path)
    }

    private static func fsyncFile(_ file: String, reportAs path: String) throws {
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { throw HDF5Error.writeFailed(path: path, reason: "open for fsync: \(HDF5Runtime.errnoText())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw HDF5Error.writeFailed(path: path, reason: "fsync: \(HDF5Runtime.errnoText())") }
    }

    /// Makes the rename durable. File systems that cannot fsync a directory (EINVAL) are accepted.
    private static func fsyncDirectory(_ directory: String, reportAs path: String) throws {
        let fd = open(directory, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else {
            throw HDF5Error.writeFailed(path: path, reason: "open directory for fsync: \(HDF5Runtime.errnoText())")
        }
        defer { close(fd) }
        guard fsync(fd) == 0 || errno == EINVAL else {
            throw HDF5Error.writeFailed(path: path, reason: "fsync of the directory: \(HDF5Runtime.errnoText())")
        }
    }
}
