import CFileSystem
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An output directory that is created whole, never clobbered, and replaced only when it is the
/// tool's own.
///
/// Life cycle of a new output:
/// 1. ``create(at:)`` makes `DIR.tmp-<pid>-<random>` next to `DIR` and takes an exclusive
///    `flock` on it;
/// 2. the caller fills it (a first consistent state);
/// 3. ``publish(replacing:)`` moves it into place with a no-replace rename, so a second writer
///    gets `io.output_exists`; with `--force` it swaps atomically (`RENAME_EXCHANGE`) with an
///    existing output that ``Ownership`` recognises, whose lock it must get first (a writer still
///    working on it gives `io.locked`), then deletes the old output's own files. There is no
///    moment at which `DIR` is absent.
///
/// The lock lives on the directory's inode, so it moves with the rename and is held until
/// ``close()`` or the process exits (also by a signal or `kill -9`: the kernel drops it). An
/// existing output is reopened for more work (`--resume`) with ``open(existing:ownership:)``,
/// which takes the same lock.
public final class OutputDirectory {
    /// Where the directory is now (the temporary name before ``publish(replacing:)``).
    public private(set) var path: String
    /// Where it goes.
    public let finalPath: String
    public private(set) var isPublished: Bool
    private var lockFD: Int32

    private init(path: String, finalPath: String, lockFD: Int32, isPublished: Bool) {
        self.path = path; self.finalPath = finalPath; self.lockFD = lockFD; self.isPublished = isPublished
    }

    deinit { close() }

    /// What a tool's own output looks like: a marker it wrote, and only entries it writes.
    public struct Ownership: Sendable {
        public let tool: String
        /// Whether the directory holds the tool's marker (for example a state file of its format).
        public let hasMarker: @Sendable (_ directory: String) -> Bool
        /// Whether an entry name is one the tool writes.
        public let isOwnEntry: @Sendable (_ name: String) -> Bool

        public init(tool: String, hasMarker: @escaping @Sendable (String) -> Bool, isOwnEntry: @escaping @Sendable (String) -> Bool) {
            self.tool = tool; self.hasMarker = hasMarker; self.isOwnEntry = isOwnEntry
        }

        /// Throws `io.foreign_output` unless `directory` is empty or holds the marker and only own entries.
        public func check(_ directory: String) throws {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
                throw L2ZError.foreignOutput(path: directory, reason: "it is not a directory")
            }
            let entries = try OutputDirectory.entries(directory)
            if entries.isEmpty { return }
            guard hasMarker(directory) else {
                throw L2ZError.foreignOutput(path: directory, reason: "it is not an output of \(tool) (its marker is missing)")
            }
            let foreign = entries.filter { !isOwnEntry($0) }.sorted()
            guard foreign.isEmpty else {
                let shown = foreign.prefix(3).map { String(reflecting: $0) }.joined(separator: ", ")
                throw L2ZError.foreignOutput(path: directory, reason: "it holds \(foreign.count) file(s) \(tool) did not write (\(shown)\(foreign.count > 3 ? ", ..." : ""))")
            }
        }
    }

    /// Fails fast, before any work, when `path` could not be published: its parent is missing,
    /// it exists and `replace` is nil, it is not ours, or another process holds its lock.
    public static func checkTarget(_ path: String, replace ownership: Ownership?) throws {
        let parent = parentDirectory(path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
            throw L2ZError.ioFailure(path: path, operation: "create output", reason: "parent directory \(parent) does not exist")
        }
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard let ownership else { throw L2ZError.outputExists(path: path) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw L2ZError.foreignOutput(path: path, reason: "it is not a directory") }
        try ownership.check(path)
        let probe = try lock(path)
        Glibc.close(probe)
    }

    /// Creates the temporary directory for a new output at `finalPath`, locked. With
    /// `ownership`, temporary directories of earlier attempts at the same output that a kill left
    /// behind (their process is gone, their lock is free, and they hold only own entries) are
    /// removed first.
    public static func create(at finalPath: String, ownership: Ownership? = nil) throws -> OutputDirectory {
        if let ownership { removeStaleTemporaries(of: finalPath, ownership: ownership) }
        let temp = "\(finalPath).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(temp, 0o755) == 0 else {
            throw L2ZError.ioFailure(path: finalPath, operation: "create temporary directory", reason: SystemError.text)
        }
        do {
            let fd = try lock(temp)
            return OutputDirectory(path: temp, finalPath: finalPath, lockFD: fd, isPublished: false)
        } catch {
            rmdir(temp)
            throw error
        }
    }

    /// Opens and locks an existing output of ours (to continue it).
    public static func open(existing path: String, ownership: Ownership) throws -> OutputDirectory {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw L2ZError.fileNotFound(path: path) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { throw L2ZError.foreignOutput(path: path, reason: "it is not a directory") }
        let fd = try lock(path)
        do { try ownership.check(path) } catch { Glibc.close(fd); throw error }
        return OutputDirectory(path: path, finalPath: path, lockFD: fd, isPublished: true)
    }

    /// Moves the filled temporary directory into place (see the type's documentation).
    /// - Parameter ownership: nil refuses an existing output (`io.output_exists`); otherwise an
    ///   existing output is replaced if `ownership` accepts it.
    /// - Returns: a warning when the replaced output could not be deleted entirely.
    @discardableResult
    public func publish(replacing ownership: Ownership?) throws -> String? {
        precondition(!isPublished, "publish called twice")
        if l2hmc_rename_noreplace(path, finalPath) == 0 {
            path = finalPath; isPublished = true
            syncDirectory(OutputDirectory.parentDirectory(finalPath))
            return nil
        }
        guard errno == EEXIST || errno == ENOTEMPTY else {
            throw L2ZError.ioFailure(path: finalPath, operation: "rename into place", reason: SystemError.text)
        }
        guard let ownership else { throw L2ZError.outputExists(path: finalPath) }
        var st = stat()
        guard lstat(finalPath, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw L2ZError.foreignOutput(path: finalPath, reason: "it is not a directory")
        }
        let oldLock = try OutputDirectory.lock(finalPath)
        defer { Glibc.close(oldLock) }
        try ownership.check(finalPath)
        guard l2hmc_rename_exchange(path, finalPath) == 0 else {
            throw L2ZError.ioFailure(path: finalPath, operation: "exchange with the previous output", reason: SystemError.text)
        }
        let old = path
        path = finalPath; isPublished = true
        syncDirectory(OutputDirectory.parentDirectory(finalPath))
        return OutputDirectory.removeOwn(old, ownership: ownership)
    }

    /// Releases the lock (the directory stays).
    public func close() {
        if lockFD >= 0 { Glibc.close(lockFD); lockFD = -1 }
    }

    /// Removes an unpublished temporary directory with everything in it.
    public func discard() {
        guard !isPublished else { return }
        if let names = try? OutputDirectory.entries(path) {
            for name in names { unlink("\(path)/\(name)") }
        }
        rmdir(path)
        close()
    }

    // MARK: Helpers

    /// Removes `DIR.tmp-<pid>-<n>` siblings whose process no longer exists and that hold only
    /// entries `ownership` recognises (a kill -9 during creation leaves one).
    static func removeStaleTemporaries(of finalPath: String, ownership: Ownership) {
        let parent = parentDirectory(finalPath)
        let prefix = URL(fileURLWithPath: finalPath).lastPathComponent + ".tmp-"
        for name in (try? entries(parent)) ?? [] where name.hasPrefix(prefix) {
            let fields = name.dropFirst(prefix.count).split(separator: "-")
            guard fields.count == 2, let pid = Int32(fields[0]), fields[1].allSatisfy(\.isNumber), pid > 0 else { continue }
            guard kill(pid, 0) != 0 && errno == ESRCH else { continue }
            let path = parent == "." ? name : "\(parent)/\(name)"
            guard (try? entries(path))?.allSatisfy(ownership.isOwnEntry) == true, let fd = try? lock(path) else { continue }
            _ = removeOwn(path, ownership: ownership)
            Glibc.close(fd)
        }
    }

    /// Deletes the entries `ownership` recognises, then the directory if it is empty; returns a
    /// warning naming what was left.
    static func removeOwn(_ directory: String, ownership: Ownership) -> String? {
        let names = (try? entries(directory)) ?? []
        var left: [String] = []
        for name in names {
            if ownership.isOwnEntry(name), unlink("\(directory)/\(name)") == 0 { continue }
            left.append(name)
        }
        if left.isEmpty, rmdir(directory) == 0 { return nil }
        return "the previous output was moved to \(directory) and kept, because it holds \(left.count) file(s) \(ownership.tool) did not write"
    }

    static func lock(_ path: String) throws -> Int32 {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw L2ZError.ioFailure(path: path, operation: "open directory", reason: SystemError.text) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            Glibc.close(fd)
            if e == EWOULDBLOCK { throw L2ZError.outputLocked(path: path) }
            throw L2ZError.ioFailure(path: path, operation: "lock", reason: String(cString: strerror(e)))
        }
        return fd
    }

    static func entries(_ directory: String) throws -> [String] {
        do { return try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw L2ZError.ioFailure(path: directory, operation: "list", reason: "\(error.localizedDescription)")
        }
    }

    static func parentDirectory(_ path: String) -> String {
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return parent.isEmpty ? "." : parent
    }

    private func syncDirectory(_ directory: String) {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); Glibc.close(fd) }
    }

}
