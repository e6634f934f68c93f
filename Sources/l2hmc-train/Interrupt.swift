import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM, handled alike: the first asks the training loop to stop after the
/// current step (it then writes the checkpoint and the log and exits 128 + the signal number:
/// 130 for SIGINT, 143 for SIGTERM); a second one aborts at once with that status after removing
/// the registered temporary files and lock files. The handler only makes async-signal-safe
/// calls (`unlink`, `write`, `_exit`) on memory prepared by ``install()``.
enum Interrupt {
    nonisolated(unsafe) static var received: sig_atomic_t = 0
    private static let slots = 16
    private static let width = 4096
    nonisolated(unsafe) private static var paths: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) private static var used: UnsafeMutablePointer<sig_atomic_t>?
    nonisolated(unsafe) private static var abortMessage: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) private static var abortMessageLength = 0

    static func install() {
        if paths == nil {
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: slots * width)
            p.initialize(repeating: 0, count: slots * width)
            let u = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: slots)
            u.initialize(repeating: 0, count: slots)
            let text = Array("error: [interrupted] second signal: stopped at once, temporary files removed; resume from the last checkpoint\n".utf8CString)
            let m = UnsafeMutablePointer<CChar>.allocate(capacity: text.count)
            m.initialize(from: text, count: text.count)
            paths = p; used = u; abortMessage = m
            abortMessageLength = text.count - 1
        }
        for s in [SIGINT, SIGTERM] {
            signal(s) { signo in
                if Interrupt.received != 0 { Interrupt.abortNow(signo) }
                Interrupt.received = signo
            }
        }
    }

    static var isRequested: Bool { received != 0 }

    /// The exit status for the signal received (128 + its number).
    static var exitStatus: Int32 { 128 + Int32(received) }

    static var signalName: String { received == SIGTERM ? "SIGTERM" : received == SIGINT ? "SIGINT" : "signal \(received)" }

    /// Remembers `path` for removal by a second signal.
    static func register(_ path: String) {
        guard let paths, let used else { return }
        let bytes = Array(path.utf8)
        guard bytes.count < width else { return }
        for i in 0..<slots where used[i] == 0 {
            let slot = paths + i * width
            for (k, b) in bytes.enumerated() { slot[k] = CChar(bitPattern: b) }
            slot[bytes.count] = 0
            used[i] = 1
            return
        }
    }

    static func unregister(_ path: String) {
        guard let paths, let used else { return }
        for i in 0..<slots where used[i] != 0 && String(cString: paths + i * width) == path { used[i] = 0 }
    }

    /// Temporary-file hooks that register and unregister with this handler.
    static var hooks: (willCreate: (String) -> Void, didRemove: (String) -> Void) { (register, unregister) }

    private static func abortNow(_ signo: Int32) -> Never {
        if let paths, let used {
            for i in 0..<slots where used[i] != 0 { unlink(paths + i * width) }
        }
        if let abortMessage { _ = write(2, abortMessage, abortMessageLength) }
        _exit(128 + signo)
    }
}
