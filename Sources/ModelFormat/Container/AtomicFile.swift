import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Atomic, durable file replacement: the bytes go to a temporary file in the target's
/// directory, which is fsync'ed and then renamed over the target (or linked, when replacing is
/// not allowed, so an existing file is never clobbered), and the directory is fsync'ed.
/// On any failure the temporary file is removed and the old target is untouched.
public enum AtomicFile {
    /// Test hook: called after each chunk written to the temporary file with the number of
    /// bytes written so far; throwing simulates a failure midway (a full disk, a crash).
    public typealias FaultInjection = @Sendable (_ bytesWritten: Int) throws -> Void

    public static func write(_ bytes: [UInt8], to path: String, replaceExisting: Bool = true,
                             faultInjection: FaultInjection? = nil) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        if !replaceExisting && FileManager.default.fileExists(atPath: path) { throw L2ZError.outputExists(path: path) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw L2ZError.ioFailure(path: path, operation: "write", reason: "directory \(directory) does not exist")
        }
        let temp = "\(directory)/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw L2ZError.ioFailure(path: path, operation: "create temporary file", reason: SystemError.text) }
        var committed = false
        defer { if !committed { unlink(temp) } }
        do {
            defer { close(fd) }
            var written = 0
            let chunk = 1 << 20
            try bytes.withUnsafeBytes { raw in
                while written < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + written, min(chunk, raw.count - written))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw L2ZError.ioFailure(path: path, operation: "write", reason: SystemError.text)
                    }
                    written += n
                    try faultInjection?(written)
                }
            }
            if bytes.isEmpty { try faultInjection?(0) }
            guard fsync(fd) == 0 else { throw L2ZError.ioFailure(path: path, operation: "fsync", reason: SystemError.text) }
        }
        if replaceExisting {
            guard rename(temp, path) == 0 else { throw L2ZError.ioFailure(path: path, operation: "rename", reason: SystemError.text) }
        } else {
            guard link(temp, path) == 0 else {
                if errno == EEXIST { throw L2ZError.outputExists(path: path) }
                throw L2ZError.ioFailure(path: path, operation: "link", reason: SystemError.text)
            }
            unlink(temp)
        }
        committed = true
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
    }

    /// Reads a whole file, refusing files larger than `limit` before reading them.
    public static func read(_ path: String, limit: Int) throws -> [UInt8] {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT { throw L2ZError.fileNotFound(path: path) }
            throw L2ZError.ioFailure(path: path, operation: "stat", reason: SystemError.text)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw L2ZError.ioFailure(path: path, operation: "open", reason: "not a regular file")
        }
        guard Int(st.st_size) <= limit else { throw L2ZError.fileTooLarge(size: Int(st.st_size), limit: limit) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw L2ZError.ioFailure(path: path, operation: "open", reason: SystemError.text) }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: Int(st.st_size))
        var done = 0
        try out.withUnsafeMutableBytes { raw in
            while done < raw.count {
                let n = Glibc.read(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; throw L2ZError.ioFailure(path: path, operation: "read", reason: SystemError.text) }
                if n == 0 { break }
                done += n
            }
        }
        guard done == out.count else { throw L2ZError.ioFailure(path: path, operation: "read", reason: "file changed size while reading") }
        return out
    }

    /// The first `count` bytes of a regular file (fewer if it is shorter).
    public static func readPrefix(_ path: String, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { throw L2ZError.ioFailure(path: path, operation: "open", reason: SystemError.text) }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        let n = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, count) }
        guard n >= 0 else { throw L2ZError.ioFailure(path: path, operation: "read", reason: SystemError.text) }
        return Array(out.prefix(n))
    }

}
