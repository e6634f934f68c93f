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
}
