import ArgumentParser
import Foundation
import ModelFormat

@main
struct L2HMCConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "l2hmc-convert",
        abstract: "Create, inspect and convert L2HMC sampler models in the .l2z format.",
        discussion: """
            `l2hmc-convert SRC DST [options]` converts an HDF5 checkpoint (l2hmc-train's ckpt.h5 \
            or a Keras file) into DST.l2z (see `l2hmc-convert convert --help` and docs/CONVERT.md).
            Exit codes: 0 success, 1 invalid or unreadable input (the message starts with the \
            error code, e.g. [container.crc_mismatch]), 64 usage error.
            The .l2z format is specified in docs/FORMAT.md.
            """,
        subcommands: [Convert.self, Inspect.self, InitRandom.self, Worker.self],
        defaultSubcommand: Convert.self)
}

/// Prints `error: [code] message` on stderr (control characters escaped) and exits 1: the one-line failure of every command.
func fail(_ error: Error) -> Never {
    let text = (error as? L2ZError)?.description ?? "\(error)"
    FileHandle.standardError.write(Data("error: \(UntrustedText.escaped(text))\n".utf8))
    Foundation.exit(1)
}
