import ArgumentParser
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
            --n-lf 5 --hidden-units 64,64). Writes a CSV log of every step, an HDF5 checkpoint at \
            the start, every checkpoint_every steps and every checkpoint_seconds (default 120 s) \
            of wall time, and at the end, and the .l2z model at the end. Checkpoint and log are \
            committed together, so a kill at any moment loses at most the work since the last \
            checkpoint. --resume CKPT continues a run (--steps may extend it) and gives exactly the \
            numbers of an uninterrupted one. Outputs are locked for the whole run; --force \
            replaces only files l2hmc-train wrote. \
            Exit codes: 0 success, 1 bad data or an output that exists or is locked, 64 bad \
            configuration, 130 SIGINT, 143 SIGTERM (both after writing the checkpoint; a second \
            signal stops at once).
            """,
        subcommands: [TrainCommand.self, ExportCommand.self, BenchCommand.self],
        defaultSubcommand: TrainCommand.self)

    static func main() {
        setvbuf(stdout, nil, _IOLBF, 0)  // progress lines reach pipes and files as they happen
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let text: String
            var status: Int32 = 1
            switch error {
            case let e as TrainingConfig.Invalid: text = e.description; status = 64
            case let e as TrainerModel.Failure: text = e.description; status = 64
            case let e as CustomStringConvertible where !(error is ParsableArgumentsValidationError): text = e.description
            default: text = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"; status = 64
            }
            FileHandle.standardError.write(Data("error: \(MessageText.escaped(text))\n".utf8))
            // _exit, not exit: after a failed HDF5 write (a full disk) libhdf5's exit-time
            // shutdown flushes the abandoned file and crashes. Every output is already complete
            // (fsync'ed and renamed) or removed, so skipping exit handlers loses nothing.
            fflush(stdout)
            _exit(status)
        }
    }
}

/// Marker for ArgumentParser's own validation errors (exit 64).
protocol ParsableArgumentsValidationError {}
extension ValidationError: ParsableArgumentsValidationError {}
