import ArgumentParser
import Converter
import Foundation
import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// Untrusted sources are read in a child process: libhdf5 1.10 corrupts memory or loops on some
/// damaged files, in-process, and a reader that dies by signal is a dead tool. `convert` and
/// `inspect` of an HDF5 or `.keras` source re-execute this tool (`/proc/self/exe`) with the hidden
/// subcommand `_worker`, which runs the same command (conversion into a private temporary
/// directory); the parent waits at most `--source-timeout` seconds, then relays the child's
/// output and exit status, or reports `convert.source_crashed` / `convert.source_timeout`. A
/// converted model comes back as an `.l2z` file, which the parent reads back with every check of
/// the strict reader before writing it to the destination.
struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "_worker", abstract: "Internal: read an untrusted source in a child process.",
                                                    shouldDisplay: false)

    @Option(help: "Private directory for the converted model.")
    var outputInto: String
    @Argument(parsing: .captureForPassthrough, help: "The command to run.")
    var command: [String] = []

    func run() throws {
        WorkerContext.outputDirectory = outputInto
        // Test hook: make the child die or hang as libhdf5 does on some damaged files.
        switch ProcessInfo.processInfo.environment[WorkerContext.faultVariable] {
        case "crash": abort()
        case "hang": while true { sleep(60) }
        default: break
        }
        var inner: ParsableCommand
        // The parent passes `--` before the user's command line so that none of it is read as ours.
        let arguments = command.first == "--" ? Array(command.dropFirst()) : command
        do { inner = try L2HMCConvert.parseAsRoot(arguments) } catch { fail(error) }
        do { try inner.run() } catch { fail(error) }
    }
}

/// Whether this process is the child, and where it puts its model.
enum WorkerContext {
    /// Set in the child: the private directory of the parent.
    nonisolated(unsafe) static var outputDirectory: String?
    /// The converted model inside ``outputDirectory``.
    static let modelName = "model.l2z"
    /// Test-only: `crash` or `hang` makes the child fail as a broken libhdf5 would.
    static let faultVariable = "L2HMC_CONVERT_TEST_CHILD_FAULT"
    /// Default of `--source-timeout`, in seconds.
    static let defaultTimeout = 60.0
}

/// The parent side: run the command in a child, within a time limit.
enum SourceSupervisor {
    struct Outcome {
        let status: Int32
        let stdout: Data
        let stderr: Data
        /// The private directory (holds the model on success); removed by ``cleanUp()``.
        let directory: String
        var modelPath: String { directory + "/" + WorkerContext.modelName }
        func cleanUp() { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Runs `arguments` (the user's command line) in a child reading `source`. Returns the child's
    /// outcome when it exited; throws `convert.source_crashed` when it died by a signal and
    /// `convert.source_timeout` (after killing it) when it ran longer than `timeout` seconds.
    static func run(_ arguments: [String], source: String, timeout: Double) throws -> Outcome {
        var template = Array((NSTemporaryDirectory() + "/l2hmc-convert-worker-XXXXXX").utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw L2ZError.ioFailure(path: NSTemporaryDirectory(), operation: "create a temporary directory", reason: String(cString: strerror(errno)))
        }
        let directory = String(cString: template)
        let outPath = directory + "/stdout", errPath = directory + "/stderr"
        guard FileManager.default.createFile(atPath: outPath, contents: nil), FileManager.default.createFile(atPath: errPath, contents: nil),
              let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath) else {
            try? FileManager.default.removeItem(atPath: directory)
            throw L2ZError.ioFailure(path: directory, operation: "create the child's output files", reason: "cannot create files")
        }
        let process = Process()
        let selfPath = "/proc/self/exe"
        process.executableURL = URL(fileURLWithPath: FileManager.default.fileExists(atPath: selfPath) ? selfPath : CommandLine.arguments[0])
        process.arguments = ["_worker", "--output-into", directory, "--"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = directory              // a .keras extraction lands here and goes with it
        environment["SWIFT_BACKTRACE"] = "enable=no"   // a crash is reported by the parent, quickly
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        // SIGINT or SIGTERM to the parent (Ctrl-C, a scheduler): stop the child, remove the
        // private directory (a half-extracted .keras goes with it), exit 130 / 143.
        let interrupt = Interrupt.stopAtOnce {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(atPath: directory)
        }
        defer { interrupt.end() }
        do { try process.run() } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw L2ZError.ioFailure(path: process.executableURL?.path ?? selfPath, operation: "start the reader process", reason: "\(error)")
        }
        try? out.close()
        try? err.close()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            done.wait()
            try? FileManager.default.removeItem(atPath: directory)
            throw ConvertError.sourceTimeout(path: source, seconds: timeout)
        }
        let outcome = Outcome(status: process.terminationStatus, stdout: FileManager.default.contents(atPath: outPath) ?? Data(),
                              stderr: FileManager.default.contents(atPath: errPath) ?? Data(), directory: directory)
        if process.terminationReason == .uncaughtSignal {
            outcome.cleanUp()
            let signal = process.terminationStatus
            // Interrupted with the parent (Ctrl-C, a scheduler's SIGTERM): exit as interrupted.
            if signal == SIGINT || signal == SIGTERM { Foundation.exit(128 + signal) }
            throw ConvertError.sourceCrashed(path: source, signal: signal)
        }
        return outcome
    }

    /// Relays the child's output and exits with its status when it failed.
    static func relayFailure(_ outcome: Outcome) {
        guard outcome.status != 0 else { return }
        Console.out(outcome.stdout)
        Console.error(outcome.stderr)
        outcome.cleanUp()
        Foundation.exit(outcome.status)
    }

    /// Seconds from a `--source-timeout` value.
    static func timeout(_ text: String?) throws -> Double {
        guard let text else { return WorkerContext.defaultTimeout }
        guard let t = Double(text), t > 0, t.isFinite, t <= 86_400 else { throw ValidationError("--source-timeout must be seconds in (0, 86400] (got \(text))") }
        return t
    }
}
