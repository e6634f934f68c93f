import Foundation
import HDF5Kit
#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file replacement for the trainer's outputs, with temporary paths the caller can
/// register (so a signal handler can remove them) before anything is created.
///
/// A file is written to `<dir>/.<name>.tmp-<pid>-<random>`, fsync'ed, then renamed over the
/// target (`replaceExisting: true`) or hard-linked to it (`false`: an existing target, even one
/// that appears meanwhile, is `io.output_exists` and is left alone), and the directory is
/// fsync'ed. A reader (or a kill -9 at any moment) sees the old file or the complete new one;
/// the temporary file is removed on every failure. (HDF5Kit's `HDF5Atomic` does the same for
/// HDF5 but picks its temporary name itself; this copy exists for the registration hook.)
public enum DurableFile {
    /// Called with a temporary path just before it is created and just after it is gone.
    public struct Hooks {
        public var willCreate: (String) -> Void
        public var didRemove: (String) -> Void
        public init(willCreate: @escaping (String) -> Void, didRemove: @escaping (String) -> Void) {
            self.willCreate = willCreate; self.didRemove = didRemove
        }
        public static var none: Hooks { Hooks(willCreate: { _ in }, didRemove: { _ in }) }
    }

    /// The temporary path used for `path` by this process.
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))").path
    }

    /// Writes `bytes` durably to `path`.
    public static func write(_ bytes: [UInt8], to path: String, replaceExisting: Bool, hooks: Hooks = .none) throws {
        try commit(to: path, replaceExisting: replaceExisting, hooks: hooks) { temp in
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw OutputError.writeFailed(path, "create \(temp)") }
            defer { close(fd) }
            try writeAll(fd, bytes, path: path)
        }
    }

    /// Creates an HDF5 file durably at `path`, filled by `body`.
    public static func writeHDF5(to path: String, replaceExisting: Bool, hooks: Hooks = .none, _ body: (HDF5File) throws -> Void) throws {
        try commit(to: path, replaceExisting: replaceExisting, hooks: hooks) { temp in
            let file = try HDF5File.create(temp)
            do { try body(file) } catch { try? file.close(); throw error }
            try file.close()
        }
    }

    /// Writes every byte of `bytes` to `fd` (retrying short writes and EINTR).
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var done = 0
        try bytes.withUnsafeBytes { raw in
            guard let start = raw.baseAddress else { return }
            while done < raw.count {
                let n = Glibc.write(fd, start + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw OutputError.writeFailed(path, "write")
                }
                done += n
            }
        }
    }

    /// fsyncs a directory (file systems that cannot, EINVAL, are accepted).
    public static func syncDirectory(of path: String) {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    /// Removes temporary files of `path` (`.<name>.tmp-<pid>-*`) left by processes that no longer
    /// exist (a kill -9 cannot clean up); call only while holding the output's lock. Returns how
    /// many were removed.
    @discardableResult
    public static func removeStaleTemporaries(of path: String) -> Int {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let prefix = ".\(url.lastPathComponent).tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return 0 }
        var removed = 0
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
            if pid == getpid() { continue }
            if kill(pid, 0) == 0 || errno == EPERM { continue }  // that process is alive
            if unlink(dir + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    private static func commit(to path: String, replaceExisting: Bool, hooks: Hooks, _ fill: (String) throws -> Void) throws {
        if !replaceExisting && FileManager.default.fileExists(atPath: path) {
            throw OutputError("io.output_exists", path: path, reason: "exists; pass --force to replace a file l2hmc-train wrote")
        }
        let temp = temporaryPath(for: path)
        hooks.willCreate(temp)
        defer { hooks.didRemove(temp) }
        do {
            try fill(temp)
            let fd = open(temp, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw OutputError.writeFailed(path, "open for fsync") }
            let synced = fsync(fd) == 0
            close(fd)
            guard synced else { throw OutputError.writeFailed(path, "fsync") }
            if replaceExisting {
                guard rename(temp, path) == 0 else { throw OutputError.writeFailed(path, "rename") }
            } else {
                guard link(temp, path) == 0 else {
                    if errno == EEXIST {
                        throw OutputError("io.output_exists", path: path, reason: "appeared while writing; another writer owns it")
                    }
                    throw OutputError.writeFailed(path, "link")
                }
                unlink(temp)
            }
        } catch {
            unlink(temp)
            throw error
        }
        syncDirectory(of: path)
    }
}
