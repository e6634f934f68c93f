import ArgumentParser
import Foundation
import Inference
import ModelFormat

@main
struct L2HMCRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "l2hmc-run",
        abstract: "Run trained L2HMC samplers and plain HMC, and measure the physics against exact results.",
        discussion: """
            With no subcommand, `run` is used. Exit codes: 0 success, 1 invalid or unreadable \
            input or a failed write (the message starts with an error code), 64 invalid options \
            or a request over --max-memory, 130 interrupted by SIGINT, 143 by SIGTERM (the --out \
            directory then holds everything up to the last trajectory; continue with --resume).
            """,
        subcommands: [RunCommand.self, SVDCommand.self, BenchCommand.self, CrossvalCommand.self],
        defaultSubcommand: RunCommand.self)

    /// Every failure is one line on stderr: `error: [code] message`.
    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)  // progress lines reach pipes and files as they happen
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let text: String
            switch error {
            case let e as InferenceError: text = e.description
            case let e as L2ZError: text = e.description
            case let e as UsageError: text = e.message
            default: text = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            }
            Console.error("error: \(text)\n")
            let status: Int32
            switch error {
            case let e as InferenceError: status = e.isUsageError ? 64 : 1
            case is L2ZError: status = 1
            default: status = 64
            }
            Foundation.exit(status)
        }
    }
}

/// An invalid combination of options (exit status 64).
struct UsageError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
