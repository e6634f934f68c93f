import ArgumentParser
import CLISupport
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
        version: ToolVersion.current,
        subcommands: [RunCommand.self, ReportCommand.self, MeasureCommand.self, SVDCommand.self, BenchCommand.self, CrossvalCommand.self, CompareCommand.self],
        defaultSubcommand: RunCommand.self)

    /// Every failure is one line on stderr, `error: [code] message` (CLISupport's ToolFailure).
    static func main() { runTool() }
}
