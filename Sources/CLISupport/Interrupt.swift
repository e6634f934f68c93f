import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM for every tool (batch schedulers send SIGTERM at wall time and on
/// preemption), handled alike; the exit status is 128 + the first signal's number: 130 for
/// SIGINT, 143 for SIGTERM.
///
/// Two ways to install it:
/// - ``install(abortMessage:)`` (graceful, `l2hmc-run` and `l2hmc-train`): the first signal only
///   sets ``isRequested``; the tool stops after its current unit of work (a trajectory, a
///   training step), writes its checkpoint and exits with ``exitStatus``. A second signal exits
///   at once with that status after removing every registered temporary file (``register(_:)``)
///   and writing `abortMessage` to stderr, except inside a ``critical(_:)`` section (a
///   checkpoint being committed, an output being created): the exit then waits for the
///   section's end. The handler only makes async-signal-safe calls (`unlink`, `write`, `_exit`)
///   on memory prepared by `install`.
/// - ``stopAtOnce(cleanUp:)`` (`l2hmc-convert`'s supervisor of its reader child): the first
///   signal runs `cleanUp` (on a dispatch queue, not in the handler, so it may kill the child
///   and remove a directory), writes ``stoppedMessage`` and exits with the signal's status.
public enum Interrupt {
    nonisolated(unsafe) public private(set) static var signalNumber: sig_atomic_t = 0
    nonisolated(unsafe) private static var inCritical: sig_atomic_t = 0
    nonisolated(unsafe) private static var abortPending: sig_atomic_t = 0

    private static let slots = 16
    private static let width = 4096
    nonisolated(unsafe) private static var paths: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) private static var used: UnsafeMutablePointer<sig_atomic_t>?
    nonisolated(unsafe) private static var abortMessage: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) private static var abortMessageLength = 0

    /// The line written when a tool stops at once, having written nothing.
    public static let stoppedMessage = "error: [interrupted] stopped by a signal; nothing was written\n"

    /// Installs the graceful handler (see the type's contract). `abortMessage` (one line, with
    /// its newline) is written by a second signal; nil writes nothing.
    public static func install(abortMessage message: String? = nil) {
        if paths == nil {
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: slots * width)
            p.initialize(repeating: 0, count: slots * width)
            let u = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: slots)
            u.initialize(repeating: 0, count: slots)
            paths = p; used = u
        }
        if let message, abortMessage == nil {
            let text = Array(message.utf8CString)
            let m = UnsafeMutablePointer<CChar>.allocate(capacity: text.count)
            m.initialize(from: text, count: text.count)
            abortMessage = m
            abortMessageLength = text.count - 1
        }
        for s in [SIGINT, SIGTERM] {
            signal(s) { signo in
                if Interrupt.signalNumber != 0 {
                    if Interrupt.inCritical != 0 { Interrupt.abortPending = 1; return }
                    Interrupt.abortNow()
                }
                Interrupt.signalNumber = signo
            }
        }
    }

    /// Whether a signal asked the tool to stop.
    public static var isRequested: Bool { signalNumber != 0 }

    /// 130 after SIGINT, 143 after SIGTERM.
    public static var exitStatus: Int32 { 128 + Int32(signalNumber) }

    public static var signalName: String {
        signalNumber == SIGTERM ? "SIGTERM" : signalNumber == SIGINT ? "SIGINT" : "signal \(signalNumber)"
    }

    /// Runs `body` with an immediate exit on a second signal deferred to its end.
    public static func critical<T>(_ body: () throws -> T) rethrows -> T {
        inCritical = 1
        defer {
            inCritical = 0
            if abortPending != 0 { abortNow() }
        }
        return try body()
    }

    /// Remembers `path` for removal by a second signal (at most 16 paths of < 4096 bytes).
    public static func register(_ path: String) {
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

    /// Forgets `path` (it was renamed into place or removed).
    public static func unregister(_ path: String) {
        guard let paths, let used else { return }
        for i in 0..<slots where used[i] != 0 && String(cString: paths + i * width) == path { used[i] = 0 }
    }

    private static func abortNow() -> Never {
        if let paths, let used {
            for i in 0..<slots where used[i] != 0 { unlink(paths + i * width) }
        }
        if let abortMessage { _ = write(2, abortMessage, abortMessageLength) }
        _exit(128 + Int32(signalNumber))
    }

    /// While the returned value lives: the first SIGINT or SIGTERM runs `cleanUp`, writes
    /// ``stoppedMessage`` and exits 128 + the signal's number. ``StopAtOnce/end()`` restores the
    /// default dispositions.
    public static func stopAtOnce(cleanUp: @escaping @Sendable () -> Void) -> StopAtOnce {
        let sources = [SIGINT, SIGTERM].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                signalNumber = number
                cleanUp()
                Console.error(stoppedMessage)
                Foundation.exit(128 + number)
            }
            source.resume()
            return source
        }
        return StopAtOnce(sources: sources)
    }

    /// The handlers installed by ``Interrupt/stopAtOnce(cleanUp:)``.
    public struct StopAtOnce {
        fileprivate let sources: [DispatchSourceSignal]
        public func end() {
            sources.forEach { $0.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
    }
}
