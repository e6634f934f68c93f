#if canImport(Glibc)
import Glibc
#endif

/// This process alone: size 1, rank 0. Every collective returns its own input at once and no
/// MPI function is ever called (a run without `mpirun` never touches MPI).
public final class SingleProcess: ProcessGroup {
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }

    public func barrier() throws {}

    public func broadcast(_ bytes: [UInt8], from root: Int) throws -> [UInt8] {
        try checkRoot(root)
        return bytes
    }

    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] { [bytes] }

    public func gather(_ bytes: [UInt8], to root: Int) throws -> [[UInt8]]? {
        try checkRoot(root)
        return [bytes]
    }

    public func allReduceMax(_ value: Int) throws -> Int { value }

    public func abort(code: Int32, message: String) -> Never {
        ErrorLine.write(message)
        fflush(stdout)
        _exit(code)
    }

    public func finalize() throws {}
}

/// Writes one line to stderr without buffering.
enum ErrorLine {
    static func write(_ message: String) {
        guard !message.isEmpty else { return }
        let line = message.hasSuffix("\n") ? message : message + "\n"
        let bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            offset += n
        }
    }
}
