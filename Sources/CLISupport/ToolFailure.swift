import ArgumentParser
import Foundation
import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// An error that knows its one-line report (starting with its `[code]`) and its exit status.
/// Each tool makes its library's error types conform (see `ToolErrors.swift` in each tool).
public protocol ReportableError: Error {
    /// The message after `error: `, normally `[code] text`.
    var report: String { get }
    /// ``ToolFailure/badData`` or ``ToolFailure/usage``.
    var exitStatus: Int32 { get }
}

/// An invalid combination of options (exit status 64).
public struct UsageError: ReportableError, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var report: String { message }
    public var exitStatus: Int32 { ToolFailure.usage }
    public var description: String { message }
}

extension L2ZError: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { ToolFailure.badData }
}

/// A report that could not be encoded (a non-finite number; reports replace those, see
/// `JSONValue.replacingNonFiniteNumbers`): bad data, with its code, never an uncoded line.
extension CanonicalJSONError: ReportableError {
    public var report: String { "[\(code)] \(description)" }
    public var exitStatus: Int32 { ToolFailure.badData }
}

/// The one error-to-exit policy of the three tools: every failure is one line on stderr,
/// `error: [code] message` (`[usage]` for invalid options without a more specific code), escaped with ``UntrustedText/escaped(_:limit:)`` (no control
/// character can start a new line), and an exit status: 0 success, 1 bad data (invalid or
/// unreadable input, a failed write), 64 usage (invalid options), 130 SIGINT, 143 SIGTERM (see
/// ``Interrupt``). Writing the line never traps (see ``Console``); the process ends with
/// `_exit` after flushing stdout, since every output is already complete or removed and some
/// libraries' exit-time handlers (libhdf5 after a failed write) crash.
public enum ToolFailure {
    public static let badData: Int32 = 1
    public static let usage: Int32 = 64

    /// The status and line for `error`: a ``ReportableError`` gives both; ArgumentParser's own
    /// errors (unknown option, ``ValidationError``) are usage errors with its message's first line;
    /// any other error is bad data described by its `description`.
    public static func classify(_ error: Error, in command: ParsableCommand.Type) -> (status: Int32, line: String) {
        let text: String
        let status: Int32
        switch error {
        case let e as ReportableError:
            text = e.report; status = e.exitStatus
        case let e as CustomStringConvertible where !isArgumentParserError(error, command):
            text = e.description; status = badData
        default:
            text = command.message(for: error)
            status = isArgumentParserError(error, command) ? usage : badData
        }
        var first = text.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? "\(error)"
        // Usage errors without a code of their own (UsageError, ArgumentParser's) get `[usage]`.
        if status == usage && !first.hasPrefix("[") { first = "[usage] " + first }
        return (status, "error: " + UntrustedText.escaped(first) + "\n")
    }

    /// Called with the exit status after the error line is written, instead of `_exit`, when
    /// set: a tool running as one rank of an MPI job sets it to MPI_Abort, which ends every
    /// rank (the others may be waiting in a collective for this one).
    nonisolated(unsafe) public static var terminate: ((Int32) -> Never)?

    /// Reports `error` and ends the process (see the type's contract).
    public static func exit(_ error: Error, in command: ParsableCommand.Type) -> Never {
        if command.exitCode(for: error) == .success { command.exit(withError: error) }  // --help, --version
        let (status, line) = classify(error, in: command)
        Console.error(line)
        fflush(stdout)
        if let terminate { terminate(status) }
        _exit(status)
    }

    /// ArgumentParser's parse errors are not public types: they are told apart by the exit code
    /// ArgumentParser gives them (64) while an error of ours gets 1.
    private static func isArgumentParserError(_ error: Error, _ command: ParsableCommand.Type) -> Bool {
        command.exitCode(for: error) == .validationFailure
    }
}

extension ParsableCommand {
    /// The `main` of every tool: parses, runs, and sends every failure through ``ToolFailure``
    /// (`--help` and `--version` print and exit 0).
    public static func runTool() {
        setvbuf(stdout, nil, _IOLBF, 0)  // progress lines reach pipes and files as they happen
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            ToolFailure.exit(error, in: self)
        }
    }
}
