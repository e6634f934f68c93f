import Foundation
import Trainer
#if canImport(Glibc)
import Glibc
#endif

/// Exclusive ownership of the output files for the whole run: an `flock` on `<output>.lock`
/// next to each output (model, checkpoint, log). A second process naming any of them gets
/// `io.locked` before it touches anything. The lock files are removed when the run ends (and by
/// a second signal); one left by a kill -9 holds no lock and is simply reused. Before every
/// commit ``verify()`` checks that each lock file is still the one locked.
final class OutputLocks {
    private var held: [(path: String, fd: Int32, device: UInt, inode: UInt)] = []

    static func lockPath(_ output: String) -> String { output + ".lock" }

    static func acquire(_ outputs: [String]) throws -> OutputLocks {
        let locks = OutputLocks()
        do {
            for output in outputs { try locks.lock(lockPath(output), for: output) }
        } catch {
            locks.release()
            throw error
        }
        return locks
    }

    private func lock(_ path: String, for output: String) throws {
        for _ in 0..<8 {
            Interrupt.register(path)
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
            guard fd >= 0 else {
                Interrupt.unregister(path)
                throw OutputError("io.write_failed", path: output, reason: "cannot create the lock file \(path): \(String(cString: strerror(errno)))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let busy = errno == EWOULDBLOCK
                close(fd)
                Interrupt.unregister(path)
                throw OutputError(busy ? "io.locked" : "io.write_failed", path: output,
                                  reason: busy ? "another l2hmc-train is writing it (lock \(path) is held)" : "flock \(path): \(String(cString: strerror(errno)))")
            }
            // The file may have been removed (by its previous holder) between open and flock.
            var a = stat(), b = stat()
            if fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino {
                held.append((path, fd, UInt(a.st_dev), UInt(a.st_ino)))
                return
            }
            close(fd)
        }
        Interrupt.unregister(path)
        throw OutputError("io.locked", path: output, reason: "the lock file \(path) keeps changing")
    }

    /// Throws `io.locked` unless every lock file is still the one this process locked.
    func verify() throws {
        for h in held {
            var b = stat()
            guard stat(h.path, &b) == 0, UInt(b.st_dev) == h.device, UInt(b.st_ino) == h.inode else {
                throw OutputError("io.locked", path: h.path, reason: "the lock file was removed or replaced while this run held it")
            }
        }
    }

    /// Removes the lock files and releases the locks (in that order, so a waiting process never
    /// locks a file that is about to vanish: it re-checks the inode).
    func release() {
        for h in held.reversed() {
            unlink(h.path)
            close(h.fd)
            Interrupt.unregister(h.path)
        }
        held = []
    }
}
