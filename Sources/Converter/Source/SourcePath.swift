import Foundation
import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// Checks a path before anything reads it: sources are read only from regular files.
///
/// Contract: ``requireRegularFile(_:)`` never opens the path (a FIFO would block, a device could
/// have side effects); it stats it (following symbolic links, so a link to a regular file is
/// fine) and throws `io.not_found` for a missing path and `convert.not_regular_file` for a
/// directory (naming what is supported instead: TensorFlow SavedModel directories are not), a
/// FIFO, a socket or a device. ``head(_:count:)`` then opens without blocking and checks the
/// opened descriptor again, so a path swapped for a FIFO in between is refused, not waited on.
public enum SourcePath {
    /// Throws unless `path` names (through any symbolic links) an existing regular file.
    public static func requireRegularFile(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw L2ZError.fileNotFound(path: path) }
            throw L2ZError.ioFailure(path: path, operation: "stat", reason: String(cString: strerror(errno)))
        }
        try check(mode: st.st_mode, path: path)
    }

    /// The first `count` bytes of the regular file `path` (fewer when it is shorter).
    public static func head(_ path: String, count: Int) throws -> [UInt8] {
        try requireRegularFile(path)
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw L2ZError.ioFailure(path: path, operation: "open", reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw L2ZError.ioFailure(path: path, operation: "stat", reason: String(cString: strerror(errno))) }
        try check(mode: st.st_mode, path: path)
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw L2ZError.ioFailure(path: path, operation: "read", reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            done += n
        }
        return Array(buffer[0..<done])
    }

    private static func check(mode: mode_t, path: String) throws {
        switch mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: throw ConvertError.notRegularFile(path: path, kind: "directory")
        case S_IFIFO: throw ConvertError.notRegularFile(path: path, kind: "FIFO (named pipe)")
        case S_IFSOCK: throw ConvertError.notRegularFile(path: path, kind: "socket")
        case S_IFCHR: throw ConvertError.notRegularFile(path: path, kind: "character device")
        case S_IFBLK: throw ConvertError.notRegularFile(path: path, kind: "block device")
        default: throw ConvertError.notRegularFile(path: path, kind: "special file")
        }
    }
}
