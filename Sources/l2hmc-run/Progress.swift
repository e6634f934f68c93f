import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on stderr, drawn only when stderr is a terminal, at most 10 times a second.
final class ProgressBar {
    private let enabled: Bool
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let label: String

    init(label: String, quiet: Bool) {
        enabled = !quiet && isatty(STDERR_FILENO) != 0
        self.label = label
    }

    func update(done: Int, total: Int, note: String = "") {
        guard enabled else { return }
        let now = Date()
        guard done == total || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = String(format: "\r%@ [%@] %d/%d  %.1f/s  ETA %.0fs  %@", label, bar, done, total, rate, eta, note)
        Console.error(line)
        if done == total { Console.error("\n") }
    }

    func finish() {
        guard enabled else { return }
        Console.error("\n")
    }
}

/// SIGINT and SIGTERM (batch schedulers send SIGTERM at wall time and on preemption): the first
/// signal asks the run to stop after the current trajectory, write a checkpoint and its
/// summary, and exit 130 (SIGINT) or 143 (SIGTERM). A second signal exits at once with the same
/// status, except inside a ``critical(_:)`` section (a checkpoint being committed, an output
/// being created): the exit then waits for the section's end, so no temporary file is left and
/// the output stays at its last checkpoint.
enum Interrupt {
    nonisolated(unsafe) static var signalNumber: sig_atomic_t = 0
    nonisolated(unsafe) static var inCritical: sig_atomic_t = 0
    nonisolated(unsafe) static var abortPending: sig_atomic_t = 0

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { sig in
            if Interrupt.signalNumber != 0 {
                if Interrupt.inCritical != 0 { Interrupt.abortPending = 1; return }
                _exit(128 + Interrupt.signalNumber)
            }
            Interrupt.signalNumber = sig
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }

    static var isRequested: Bool { signalNumber != 0 }

    /// 130 after SIGINT, 143 after SIGTERM.
    static var exitStatus: Int32 { 128 + signalNumber }

    static var signalName: String { signalNumber == SIGTERM ? "SIGTERM" : "SIGINT" }

    /// Runs `body` with an immediate exit on a second signal deferred to its end.
    static func critical<T>(_ body: () throws -> T) rethrows -> T {
        inCritical = 1
        defer {
            inCritical = 0
            if abortPending != 0 { _exit(exitStatus) }
        }
        return try body()
    }
}
