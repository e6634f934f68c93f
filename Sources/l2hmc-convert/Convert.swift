import ArgumentParser
import Converter
import Foundation
import ModelFormat

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint (ours, Keras's, PyTorch's, safetensors) into a .l2z model (the default subcommand).",
        discussion: """
            Sources: l2hmc-train's ckpt.h5 (every fact is in the file: give no fact options); \
            Keras HDF5 weights (tf-keras save_weights .h5, model.save .h5, Keras 3 .weights.h5, \
            .keras) in the L2HMC namings of 2021 (vnet0_x_layer, ...) or Sep 2020 (xnet/x_layer, ...); \
            PyTorch checkpoints of the upstream PyTorch code (torch.save zip: a state dict .pt/.pth, \
            a checkpoint dict ckpt-*.tar with model_state_dict; read without executing anything) \
            and safetensors files in its naming (torch-2023: xnet.{k}.first.input_layer.xlayer.weight, ...). \
            For these give --preset torch-2022-08, torch-2022-12 or torch-2023-06 (the era fixes \
            the head coefficient and the step-size parametrization), --config RUN/.hydra/config.yaml \
            (the run's own config: lattice, beta, activation, units, ...) and --masks masks.npy \
            (upstream never saves them; kept_first meaning under those presets).
            U(1) normalizing flows (the 2021 tutorial's state dict, nftqcd/fthmc's ckpt-*.tar; tensors \
            {i}.plaq_coupling.net.{2j}.weight) convert to the flow family: give --preset tutorial-2021 \
            (LeakyReLU, [0, 2pi), 8x8, beta 2) or fthmc (SiLU, [-pi, pi); --lattice and --beta unless \
            the file sits in fthmc's logs/models/lat{L}x{L}/beta{b}/ tree), optionally --eps and --nlf \
            (the FT-HMC defaults written into the model).
            A Keras file does not carry the conventions: give them with --preset NAME \
            (\(Preset.all.map(\.name).joined(separator: ", "))), --config sidecar.json and the \
            fact flags below (flags win over the sidecar, which wins over the preset). A missing \
            fact is refused with its name; nothing is guessed. docs/CONVERT.md lists the presets \
            and every fact.
            Exit codes: 0 success, 1 unreadable or unsupported input, 64 usage (including a \
            missing or conflicting fact).
            """)

    @Argument(help: "Source: ckpt.h5, a Keras .h5 / .weights.h5, a .keras archive, a PyTorch .pt/.pth/.tar, or a .safetensors file.")
    var source: String
    @Argument(help: "Output .l2z path.")
    var destination: String?

    @Option(help: "Preset of an upstream era's conventions (\((Preset.all.map(\.name) + FlowPreset.all.map(\.name)).joined(separator: ", "))).")
    var preset: String?
    @Option(help: "JSON sidecar of facts (keys as the flags with _ for -, plus \"preset\"), or a PyTorch run's hydra config.yaml (its facts are the file's own).")
    var config: String?

    @Option(help: "Fact: U(1) lattice LTxLX.") var lattice: String?
    @Option(help: "Fact: coupling beta (> 0).") var beta: String?
    @Option(help: "Fact: the source's link flattening, t_x_mu or mu_t_x.") var linkLayout: String?
    @Option(name: .customLong("nlf"), help: "Fact: number of leapfrog steps (read from per-step network names when present).") var nlf: String?
    @Option(name: .customLong("n-lf"), help: .hidden) var nLfAlias: String?   // the older spelling
    @Option(help: "Fact: step size(s) of x and v updates: one, or one per step (comma separated).") var eps: String?
    @Option(help: "Fact: x step size(s).") var epsX: String?
    @Option(help: "Fact: v step size(s).") var epsV: String?
    @Option(help: "Fact: raw or eps_over_one_plus_eps for the x step sizes.") var epsXParametrization: String?
    @Option(help: "Fact: raw or eps_over_one_plus_eps for the v step sizes.") var epsVParametrization: String?
    @Option(help: "Fact: masks: a rule (\(MaskRule.allCases.map(\.rawValue).joined(separator: ", "))) or an .npy [n_lf, n] 0/1 array.") var masks: String?
    @Option(help: "Fact: sign of T in the v update: plus or minus (also +1, and -1 as --translation-sign=-1).") var translationSign: String?
    @Option(help: "Fact: x update, ncp or linear.") var xUpdate: String?
    @Option(help: "Fact: x-network x input: raw, cos_sin_blocks or cos_sin_interleaved.") var xNetInput: String?
    @Option(help: "Fact: v-network x input: raw, cos_sin_blocks or cos_sin_interleaved.") var vNetInput: String?
    @Option(help: "Fact: before_trig or after_trig (cos/sin x input).") var maskPlacement: String?
    @Option(help: "Fact: whether tau_k enters through t_layer, true or false.") var timeInput: String?
    @Option(help: "Fact: hidden activation: relu, tanh, swish, linear or leaky_relu (PyTorch nn.LeakyReLU, slope 0.01).") var activation: String?
    @Option(help: "Fact: batch-norm epsilon (when the file has batch norm).") var batchNormEpsilon: String?
    @Option(help: "Fact: six net weights x_scale,x_translation,x_transformation,v_scale,v_translation,v_transformation.") var netWeights: String?
    @Option(help: "Fact: shared or per_step (checked against the names).") var layout: String?
    @Option(help: "Fact: x-networks per step, 1 or 2 (checked against the names).") var xNetworksPerStep: String?
    @Option(help: "Fact: hidden widths (checked against the kernels).") var hiddenUnits: String?
    @Option(name: .customLong("units"), help: .hidden) var unitsAlias: String?   // init-random's older spelling
    @Option(help: "Fact: what a 1 in --masks means: changed_first (changed by the first x update; the .l2z meaning) or kept_first (upstream PyTorch's dynamics.masks).") var maskMeaning: String?
    @Option(help: "Fact: stored head coefficient c multiplies tanh as exp (exp(c)) or linear (c; upstream PyTorch 2022-08-14..2022-12-12).") var headCoefficient: String?
    @Option(help: "Fact: max-pool sizes of a Keras convolution stack, upstream's conv.pool (one per convolution, e.g. 2,2).") var convPool: String?
    @Option(help: "Fact: the angle interval of a U(1) flow source, zero_to_two_pi (the 2021 tutorial) or minus_pi_to_pi (fthmc).") var angleConvention: String?
    @Option(help: "Fact: mixture components of a U(1) flow (checked against its last convolution).") var nMix: String?
    @Option(help: "Fact: kernel size of a U(1) flow's convolutions (checked against the kernels).") var kernelSize: String?

    @Option(help: "Link layout of the written model (default t_x_mu); arrays are permuted when the source's differs.")
    var outputLinkLayout: String?
    @Option(help: "Force the naming: tf2021 or sep2020 (default: detected from the weight names).")
    var naming: String?
    @Flag(help: "Keras 3 weights without layer names: pair sub-models and layers by the documented order (shapes still checked).")
    var matchByOrder = false
    @Flag(help: "Convert although some datasets map to no canonical array (they are listed).")
    var allowUnused = false
    @Flag(help: "Make an exactly-all-zero trained kernel or bias an error.")
    var strict = false
    @Flag(help: "Print the full mapping table and the facts; write nothing.")
    var dryRun = false
    @Flag(help: "Replace an existing output file.")
    var force = false
    @Option(help: "Seconds the source may take to be read and converted (default 60); the reader runs in a child process, stopped past the limit (convert.source_timeout).")
    var sourceTimeout: String?

    func validate() throws {
        if destination == nil && !dryRun { throw ValidationError("give the output path (l2hmc-convert SRC DST), or --dry-run") }
        _ = try SourceSupervisor.timeout(sourceTimeout)
    }

    func run() throws {
        var options = ConversionOptions()
        options.preset = preset
        options.configPath = config
        options.matchByOrder = matchByOrder
        options.allowUnused = allowUnused
        options.strict = strict
        do {
            if let outputLinkLayout {
                guard let l = LinkLayout(rawValue: outputLinkLayout) else { throw ValidationError("--output-link-layout must be t_x_mu or mu_t_x") }
                options.outputLinkLayout = l
            }
            if let naming {
                guard let n = KerasNaming(rawValue: naming), n != .keras3Order else { throw ValidationError("--naming must be tf2021 or sep2020 (order matching: --match-by-order)") }
                options.naming = n
            }
            let flags: [(FactKey, String?)] = [
                (.lattice, lattice), (.beta, beta), (.linkLayout, linkLayout), (.nLF, nlf ?? nLfAlias), (.eps, eps), (.epsX, epsX), (.epsV, epsV),
                (.epsXParametrization, epsXParametrization), (.epsVParametrization, epsVParametrization), (.masks, masks),
                (.translationSign, translationSign), (.xUpdate, xUpdate), (.xNetInput, xNetInput), (.vNetInput, vNetInput),
                (.maskPlacement, maskPlacement), (.timeInput, timeInput), (.activation, activation), (.batchNormEpsilon, batchNormEpsilon),
                (.netWeights, netWeights), (.layout, layout), (.xNetworksPerStep, xNetworksPerStep), (.hiddenUnits, hiddenUnits ?? unitsAlias),
                (.maskMeaning, maskMeaning), (.headCoefficient, headCoefficient), (.convPool, convPool), (.angleConvention, angleConvention),
                (.nMix, nMix), (.kernelSize, kernelSize),
            ]
            for (key, value) in flags {
                if let value { try options.flagFacts.set(key, text: value, origin: key.flag) }
            }
            if let destination, !dryRun, !force, FileManager.default.fileExists(atPath: destination) {
                throw L2ZError.outputExists(path: destination)
            }
            if WorkerContext.outputDirectory == nil {
                try convertInChild()
                return
            }
            let result = try Converter.convert(path: source, options: options)
            if dryRun {
                _ = try L2ZWriter.encode(result.model)   // every writer check, nothing written
                print(printable(result.report.lines()))
                for w in result.report.warnings { Console.error("warning: \(UntrustedText.escaped(w))\n") }
                print("dry run: nothing written")
                return
            }
            // In the child (always, from the CLI): into the parent's private directory.
            if let directory = WorkerContext.outputDirectory {
                try L2ZWriter.write(result.model, to: directory + "/" + WorkerContext.modelName, replaceExisting: false)
            } else {
                try Converter.write(result, to: destination ?? "", force: force)
            }
            for w in result.report.warnings { Console.error("warning: \(UntrustedText.escaped(w))\n") }
            let probe = result.model.probe.map { p in
                if case .flow = result.model.spec { return "probe of \(p.batch) rows of z, x, log-det and force" }
                return "probe of \(p.networks.count) network(s) and \(p.batch) trajectories"
            } ?? "no probe"
            print(UntrustedText.escaped("wrote \(destination ?? "") from \(source) (\(result.report.sourceKind.rawValue)\(result.report.naming.map { ", \($0) naming" } ?? ""); \(result.model.arrays.count) arrays, \(probe))"))
        } catch let e as ValidationError {
            throw e
        } catch {
            failConvert(error)
        }
    }
}

extension Convert {
    /// The parent: the source is read and converted by a child (``SourceSupervisor``); its model
    /// is read back with every check of the strict reader and written to the destination.
    func convertInChild() throws {
        let timeout = try SourceSupervisor.timeout(sourceTimeout)
        // Here, in the parent: a SavedModel or checkpoint directory never reaches the child.
        try UpstreamArtifact.check(source)
        try SourcePath.requireRegularFile(source)
        let outcome = try SourceSupervisor.run(Array(CommandLine.arguments.dropFirst()), source: source, timeout: timeout)
        SourceSupervisor.relayFailure(outcome)
        defer { outcome.cleanUp() }
        if !dryRun, let destination {
            let model = try L2ZReader.read(bytes: try AtomicFile.read(outcome.modelPath, limit: Int.max)).model
            try L2ZWriter.write(model, to: destination, replaceExisting: force)
        }
        Console.error(outcome.stderr)
        Console.out(outcome.stdout)
    }
}

/// Report lines as printed: table cells are escaped where they are made; each printed line is
/// escaped once more as a safety net (escaping is idempotent).
func printable(_ lines: [String]) -> String {
    lines.joined(separator: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        .map { UntrustedText.escaped(String($0), limit: 1 << 16) }.joined(separator: "\n")
}

/// Like `fail`: a ``ConvertError`` refused for want of (or conflicting) options exits 64.
func failConvert(_ error: Error) -> Never {
    fail(error)
}
