import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing to stdout and stderr without trapping: `FileHandle.write` traps when the write fails
/// (a full disk under a redirected log, a closed pipe), which would turn an error report into a
/// crash. These drop what cannot be written instead.
public enum Console {
    public static func error(_ text: String) {
        _ = text.withCString { fputs($0, stderr) }
        fflush(stderr)
    }

    public static func error(_ bytes: Data) {
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, stderr) }
        fflush(stderr)
    }

    public static func out(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, stdout) }
        fflush(stdout)
    }

    public static func out(_ bytes: Data) {
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, stdout) }
        fflush(stdout)
    }
}
