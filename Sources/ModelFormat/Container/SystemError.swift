#if canImport(Glibc)
import Glibc
#endif

/// The text of the current `errno` (strerror), for coded I/O errors.
public enum SystemError {
    public static var text: String { String(cString: strerror(errno)) }
}
