import CHDF5
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-level HDF5 concerns: silencing the error printer, draining the error stack into
/// messages, and recognising HDF5 files before the library sees them.
enum HDF5Runtime {
    /// Turns off HDF5's automatic error printing for the calling thread.
    ///
    /// Debian's libhdf5 is a thread-safe build, whose error stacks (and therefore the automatic
    /// printer setting) are per thread, so every public entry point calls this first. It is cheap.
    static func prepare() {
        H5Eset_auto2(l2h_e_default(), nil, nil)
    }

    /// The calling thread's HDF5 error stack as one line, most specific message first (at most
    /// three messages), then clears the stack. `fallback` is used when the stack is empty.
    static func takeErrorReason(fallback: String) -> String {
        let box = ErrorMessages()
        H5Ewalk2(l2h_e_default(), H5E_WALK_UPWARD, { _, entry, context in
            guard let entry, let context else { return 0 }
            let box = Unmanaged<ErrorMessages>.fromOpaque(context).takeUnretainedValue()
            var text = entry.pointee.desc.map { String(cString: $0) } ?? ""
            if text.isEmpty {
                var buffer = [CChar](repeating: 0, count: 256)
                if H5Eget_msg(entry.pointee.min_num, nil, &buffer, buffer.count) > 0 {
                    text = String(cString: buffer)
                }
            }
            if !text.isEmpty, !box.messages.contains(text) { box.messages.append(text) }
            return 0
        }, Unmanaged.passUnretained(box).toOpaque())
        H5Eclear2(l2h_e_default())
        return box.messages.isEmpty ? fallback : box.messages.prefix(3).joined(separator: "; ")
    }

    /// The HDF5 format signature, found at offset 0 or, after a user block, at 512, 1024, 2048, ...
    static let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]

    enum Probe: Equatable {
        case hdf5
        case notHDF5
        case unreadable(String)
    }

    /// Looks for the HDF5 signature where the library would, without handing the file to HDF5.
    static func probe(_ path: String) -> Probe {
        var info = stat()
        guard stat(path, &info) == 0 else { return .unreadable(errnoText()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .unreadable("not a regular file") }
        // Non-blocking, and checked again on the descriptor: a path swapped for a FIFO after the
        // stat above is refused instead of blocking the reader.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { return .unreadable(errnoText()) }
        defer { close(fd) }
        guard fstat(fd, &info) == 0 else { return .unreadable(errnoText()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .unreadable("not a regular file") }
        let size = Int(info.st_size)
        var offset = 0
        var buffer = [UInt8](repeating: 0, count: signature.count)
        while offset + signature.count <= size {
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, signature.count, off_t(offset)) }
            if got < 0 { return .unreadable(errnoText()) }
            if got == signature.count, buffer == signature { return .hdf5 }
            offset = offset == 0 ? 512 : offset * 2
        }
        return .notHDF5
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

private final class ErrorMessages {
    var messages: [String] = []
}
