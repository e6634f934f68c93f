import ArgumentParser
import CLISupport
import Foundation
import ModelFormat
import Trainer

@main
struct L2HMCTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "l2hmc-train",
        abstract: "Train an L2HMC sampler (U(1) lattice or Gaussian mixture) and export it as .l2z.",
        discussion: """
            Settings: defaults < --config FILE < flags (every config key is also a flag, e.g. \
            --nlf 5 --hidden-units 64,64; `l2hmc-train train --help` lists them). Writes a CSV log of every step, an HDF5 checkpoint at \
            the start, every checkpoint_every steps and every checkpoint_seconds (default 120 s) \
            of wall time, and at the end, and the .l2z model at the end. Checkpoint and log are \
            committed together, so a kill at any moment loses at most the work since the last \
            checkpoint. --resume CKPT continues a run (--steps may extend it, --threads may differ) \
            and gives exactly the numbers of an uninterrupted one. The chains are computed in \
            tiles of --tile chains on --threads worker threads (default: the available cores); \
            the results are bit-identical for every thread count. Outputs are locked for the whole run; --force \
            replaces only files l2hmc-train wrote. \
            Exit codes: 0 success, 1 bad data or an output that exists or is locked, 64 bad \
            configuration, 130 SIGINT, 143 SIGTERM (both after writing the checkpoint; a second \
            signal stops at once).
            """,
        version: ToolVersion.current,
        subcommands: [TrainCommand.self, FlowCommand.self, ReportCommand.self, ExportCommand.self, BenchCommand.self],
        defaultSubcommand: TrainCommand.self)

    /// Every failure is one line on stderr, `error: [code] message` (CLISupport's ToolFailure).
    static func main() { runTool() }
}
