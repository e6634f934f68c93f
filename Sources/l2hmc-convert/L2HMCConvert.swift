import ArgumentParser
import Foundation
import ModelFormat

@main
struct L2HMCConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "l2hmc-convert",
        abstract: "Create, inspect and convert L2HMC sampler models in the .l2z format.",
        discussion: """
            Exit codes: 0 success, 1 invalid or unreadable input (the message starts with the \
            error code, e.g. [container.crc_mismatch]), 64 usage error.
            The .l2z format is specified in docs/FORMAT.md.
            """,
        subcommands: [Inspect.self, InitRandom.self])
}

/// Prints `error: [code] message` on stderr and exits 1: the one-line failure of every command.
func fail(_ error: Error) -> Never {
    let text = (error as? L2ZError)?.description ?? "\(error)"
    FileHandle.standardError.write(Data("error: \(text)\n".utf8))
    Foundation.exit(1)
}
