import ArgumentParser
import CLISupport
import Foundation
import ModelFormat

@main
struct L2HMCConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "l2hmc-convert",
        abstract: "Create, inspect and convert L2HMC sampler models in the .l2z format.",
        discussion: """
            `l2hmc-convert SRC DST [options]` converts a checkpoint (l2hmc-train's ckpt.h5, a Keras \
            file, an upstream PyTorch .pt/.pth/.tar read without executing anything, or a \
            safetensors file) into DST.l2z (see `l2hmc-convert convert --help` and docs/CONVERT.md); \
            `l2hmc-convert export MODEL.l2z OUT.safetensors` writes a model under the upstream \
            PyTorch names.
            Exit codes: 0 success, 1 invalid or unreadable input (the message starts with the \
            error code, e.g. [container.crc_mismatch]), 64 usage error.
            The .l2z format is specified in docs/FORMAT.md.
            """,
        version: ToolVersion.current,
        subcommands: [Convert.self, Inspect.self, Export.self, InitRandom.self, Worker.self],
        defaultSubcommand: Convert.self)

    static func main() { runTool() }
}

/// Reports `error` (one line, `error: [code] message`) and exits 1 for bad data, 64 for usage.
func fail(_ error: Error) -> Never {
    ToolFailure.exit(error, in: L2HMCConvert.self)
}
