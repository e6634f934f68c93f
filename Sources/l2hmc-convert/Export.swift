import ArgumentParser
import Converter
import Foundation
import ModelFormat

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a .l2z model's arrays as safetensors under the upstream PyTorch names.",
        discussion: """
            Writes OUT.safetensors holding the model's arrays under the state-dict keys of the \
            upstream PyTorch L2HMC code (--naming torch-2023: `xnet.{k}.first.input_layer.xlayer.weight`, \
            ..., each also under `networks.`, as its Dynamics module registers both), Linear \
            weights (out, in), links in upstream's (mu, t, x) order, step sizes as the parameters \
            p that upstream turns into p / (1 + p). Every fact (lattice, beta, activation, masks \
            in upstream's meaning, ...) goes to the file's metadata, so the file also converts \
            back with `l2hmc-convert OUT.safetensors MODEL.l2z` and no option. In PyTorch: \
            `dynamics.load_state_dict(safetensors.torch.load_file(path), strict=True)`.
            Models upstream's networks cannot compute (a time input, a Gaussian-mixture target, \
            a linear x update, ...) are refused with [convert.export_unsupported], naming the \
            field. The output is written atomically; an existing file is replaced only with --force.
            Exit codes: 0 success, 1 unreadable or unexportable model, 64 usage.
            """)

    @Argument(help: "The .l2z model.")
    var model: String
    @Argument(help: "Output .safetensors path.")
    var output: String
    @Option(help: "Target naming (\(TorchExport.namings.joined(separator: ", "))).")
    var naming: String = TorchExport.namings[0]
    @Flag(help: "Replace an existing output file.")
    var force = false

    func validate() throws {
        guard TorchExport.namings.contains(naming) else {
            throw ValidationError("--naming must be one of \(TorchExport.namings.joined(separator: ", ")) (got \(naming.debugDescription))")
        }
        guard output.lowercased().hasSuffix(".safetensors") else {
            throw ValidationError("the output must be a .safetensors path (got \(output.debugDescription))")
        }
    }

    func run() throws {
        do {
            try TorchExport.export(modelPath: model, to: output, naming: naming, force: force)
        } catch {
            fail(error)
        }
        print(UntrustedText.escaped("wrote \(output) from \(model) (\(naming) naming)"))
    }
}
