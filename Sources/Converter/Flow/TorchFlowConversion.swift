import Foundation
import ModelFormat

/// PyTorch U(1) normalizing flows (the 2021 tutorial's state dict, nftqcd/fthmc's checkpoint
/// dict) -> `.l2z` family `flow` (docs/CONVERT.md, "PyTorch U(1) flows"; the numerical contract
/// is docs/FORMAT.md section 13).
///
/// - Tensors: `{i}.plaq_coupling.net.{2j}.weight` (c_out, c_in, k, k) becomes
///   `layer<i>.conv<j>.kernel` [k, k, c_in, c_out] (element [a, b, c, o] = weight[o, c, a, b],
///   an exact permutation), `.bias` is copied; float32 stays float32, float64 float64. The file is
///   read by the restricted pickle reader: storage locations (`cuda:0` in the tutorial's blob) are
///   not interpreted, a checkpoint dict's `optimizer_state_dict` and `history` (numpy objects)
///   are listed as ignored.
/// - Structure from the shapes (``FlowStructure``): layers, kernel size, hidden channels, n_mix.
/// - Facts the tensors lack: activation, angle convention, trained lattice, beta, from a
///   ``FlowPreset`` < a JSON sidecar < flags; fthmc's directory `lat{L}x{L}/beta{b}` states
///   lattice and beta (``FlowCheckpointPath``; a given value that differs is a conflict). The
///   FT-HMC defaults (`hmc`) come from `--eps` / `--nlf`, else ``defaultStepSize`` and
///   ``defaultNLF``. Facts that belong to L2HMC models are refused.
enum TorchFlowConversion {
    /// fthmc's example configuration (bin/configs.json: tau 0.5, nstep 5): step tau / nstep.
    static let defaultStepSize = 0.1
    static let defaultNLF = 5
    /// The facts a flow conversion uses; any other given fact is refused.
    static let usedFacts: Set<FactKey> = [.lattice, .beta, .activation, .angleConvention, .eps, .epsX, .epsV, .nLF, .hiddenUnits, .nMix, .kernelSize, .linkLayout]
    /// The facts only a flow has: refused for the other sources (``refuseFlowFacts(_:)``).
    static let flowOnlyFacts: [FactKey] = [.angleConvention, .nMix, .kernelSize]

    /// An L2HMC or Keras conversion given a flow-only fact: `convert.option_not_accepted`.
    static func refuseFlowFacts(_ facts: Facts) throws {
        let given = Set(facts.givenKeys)
        if let key = flowOnlyFacts.first(where: { given.contains($0.rawValue) }) {
            throw ConvertError.optionNotAccepted(option: key.flag, reason: "it is a fact of U(1) flow files (\(key.meaning)); this source is not one")
        }
    }

    /// Converts `path` when it is meant as a flow: a flow preset (flag or sidecar) is given, or
    /// no preset is and the file's keys are in the flow naming. Returns nil otherwise (the
    /// PyTorch L2HMC path then reads the file). A flow file under an L2HMC preset is refused.
    static func convertIfFlow(path: String, options: ConversionOptions) throws -> ConversionResult? {
        let sidecar = try sidecarFacts(options)
        let presetName = options.preset ?? sidecar.preset
        if let name = presetName, let preset = FlowPreset.named(name) {
            let source = try TensorFileSource(path: path, maxDatasetElements: options.maxDatasetElements)
            return try convert(source: source, preset: preset, sidecar: sidecar.facts, options: options)
        }
        let source = try TensorFileSource(path: path, maxDatasetElements: options.maxDatasetElements)
        guard TorchFlowNaming.looksLikeFlow(source.entries.map(\.key)) else { return nil }
        if let name = presetName {
            throw ConvertError.conflictingFact(fact: "preset", reason: "preset \(name) is for L2HMC files, but this file's tensors are a U(1) flow's (\(TorchFlowNaming.key(layer: 0, conv: 0, variable: "weight")), ...): give --preset \(FlowPreset.all.map(\.name).joined(separator: " or "))")
        }
        return try convert(source: source, preset: nil, sidecar: sidecar.facts, options: options)
    }

    private static func sidecarFacts(_ o: ConversionOptions) throws -> (facts: Facts, preset: String?) {
        guard let path = o.configPath else { return (Facts(), nil) }
        if HydraConfig.isYAML(path) { return (Facts(), nil) }   // refused in convert for flows; the L2HMC path reads it
        return try Facts.sidecar(path: path)
    }

    static func convert(source: TensorFileSource, preset: FlowPreset?, sidecar: Facts, options: ConversionOptions) throws -> ConversionResult {
        func refuse(_ option: String, _ reason: String) -> ConvertError { .optionNotAccepted(option: option, reason: reason) }
        if let c = options.configPath, HydraConfig.isYAML(c) { throw refuse("--config \(c)", "a hydra config.yaml belongs to the L2HMC PyTorch code; a flow's facts come from --preset, a JSON sidecar or flags") }
        if options.matchByOrder { throw refuse("--match-by-order", "a flow file names every tensor") }
        if options.naming != nil { throw refuse("--naming", "a flow file has one naming ({i}.plaq_coupling.net.{2j}.weight)") }
        if let o = options.outputLinkLayout, o != .muTX { throw refuse("--output-link-layout \(o.rawValue)", "a flow's links are mu_t_x (upstream's (B, 2, L0, L1) flattened in C order)") }

        // 1. Map every tensor.
        var tensors: [TorchFlowNaming.Key: TensorFileSource.TensorEntry] = [:]
        var rows: [MappingRow] = []
        var unmapped: [String] = []
        for e in source.entries {
            if let k = TorchFlowNaming.match(e.key) {
                tensors[k] = e
            } else {
                unmapped.append(e.location)
                rows.append(MappingRow(source: e.location, shape: e.shape, dtype: e.dtype, target: "UNMAPPED", note: ""))
            }
        }
        guard !tensors.isEmpty else {
            let examples = source.entries.prefix(3).map(\.location).joined(separator: ", ")
            throw ConvertError.unrecognizedNaming(reason: "none of the \(source.entries.count) tensors (\(examples.isEmpty ? "none" : examples)\(source.entries.count > 3 ? ", ..." : "")) is a U(1) flow's ({i}.plaq_coupling.net.{2j}.weight / .bias, the tutorial's and fthmc's naming)")
        }
        var warnings: [String] = []
        if !unmapped.isEmpty {
            guard options.allowUnused else { throw ConvertError.unmappedDatasets(names: unmapped) }
            warnings += unmapped.map { "\($0) is not used (--allow-unused)" }
        }
        let structure = try FlowStructure(tensors: tensors)

        // 2. Facts: preset < sidecar < flags, then the checkpoint's directory.
        var given = (preset?.facts ?? Facts()).overlaid(with: sidecar).overlaid(with: options.flagFacts)
        for key in given.givenKeys.compactMap(FactKey.init(rawValue:)) where !usedFacts.contains(key) {
            throw refuse(key.flag, "a U(1) flow has no \(key.rawValue) (\(key.meaning)); its masks are the rule plaquette_stripes_4 and its FT-HMC takes only --eps and --nlf")
        }
        var statements = FileStatements()
        let stated = FlowCheckpointPath.statements(path: source.path)
        if let s = stated {
            try statements.state(.lattice, s.lattice, origin: s.origin)
            try statements.state(.beta, s.beta, origin: s.origin)
        }
        given = try statements.apply(to: given)
        let facts = given
        let presetHint = "or --preset \(FlowPreset.all.map(\.name).joined(separator: " / ")) (docs/CONVERT.md, \"PyTorch U(1) flows\")"
        func need<T>(_ f: Sourced<T>?, _ key: FactKey, _ example: String) throws -> Sourced<T> {
            guard let f else {
                let where_ = key == .lattice || key == .beta ? "; fthmc states it only in its directory name logs/models/lat{L}x{L}/beta{b}/..." : ""
                throw ConvertError.missingFact(fact: key.rawValue, needed: key.meaning, how: "give \(key.flag) \(example) \(presetHint)\(where_)")
            }
            return f
        }
        let lattice = try need(facts.lattice, .lattice, "8x8")
        let beta = try need(facts.beta, .beta, "2.0")
        let activation = try need(facts.activation, .activation, "leaky_relu")
        let convention = try need(facts.angleConvention, .angleConvention, "minus_pi_to_pi")
        for (name, side) in zip(["lt", "lx"], lattice.value) where side % 4 != 0 {
            throw ConvertError.invalidFact(fact: "lattice", value: "\(lattice.value[0])x\(lattice.value[1]) (\(lattice.origin); \(name) = \(side))",
                                           expected: "both extents multiples of 4: the flow's masks (plaquette_stripes_4) have period 4")
        }
        if let l = facts.linkLayout, l.value != .muTX {
            throw ConvertError.conflictingFact(fact: "link_layout", reason: "\(l.origin) gives \(l.value.rawValue), but a flow's links are mu_t_x (upstream's (B, 2, L0, L1) in C order)")
        }
        if let h = facts.hiddenUnits, h.value != structure.hiddenChannels {
            throw ConvertError.conflictingFact(fact: "hidden_units", reason: "\(h.origin) gives \(h.value.map(String.init).joined(separator: ",")), but the file's convolutions have hidden channels \(structure.hiddenChannels.map(String.init).joined(separator: ","))")
        }
        for (key, fact, found) in [(FactKey.nMix, facts.nMix, structure.nMix), (.kernelSize, facts.kernelSize, structure.kernelSize)] {
            if let f = fact, f.value != found {
                throw ConvertError.conflictingFact(fact: key.rawValue, reason: "\(f.origin) gives \(f.value), but the file's convolutions have \(key.rawValue) \(found)")
            }
        }
        let step: Sourced<Double>
        if let e = facts.epsX {
            guard e.value.count == 1 else {
                throw ConvertError.invalidFact(fact: "eps", value: e.value.map { "\($0)" }.joined(separator: ","), expected: "one FT-HMC step size > 0 (in z)")
            }
            if let v = facts.epsV, v.value != e.value {
                throw refuse("--eps-v", "a flow's FT-HMC has one step size: give --eps")
            }
            step = Sourced(e.value[0], e.origin)
        } else {
            step = Sourced(defaultStepSize, "default (fthmc's example: tau 0.5, nstep 5)")
        }
        let nLF = facts.nLF ?? Sourced(defaultNLF, "default (fthmc's example: nstep 5)")

        let spec = FlowSpec(target: U1Lattice(lt: lattice.value[0], lx: lattice.value[1], beta: beta.value, linkLayout: .muTX),
                            coupling: FlowCoupling(layers: structure.layers, nMix: structure.nMix, kernelSize: structure.kernelSize,
                                                   hiddenChannels: structure.hiddenChannels, activation: activation.value, angleConvention: convention.value),
                            hmc: FlowHMCSettings(stepSize: step.value, nLF: nLF.value))
        try ModelSpec.flow(spec).validate()

        // 3. Arrays: kernels permuted (c_out, c_in, k, k) -> [k, k, c_in, c_out], biases copied.
        var arrays: [String: NDArray] = [:]
        for (key, e) in tensors.sorted(by: { ($0.key.layer, $0.key.moduleIndex, $0.key.variable) < ($1.key.layer, $1.key.moduleIndex, $1.key.variable) }) {
            let j = key.moduleIndex / 2
            let isKernel = key.variable == "weight"
            let name = isKernel ? FlowRules.kernelName(layer: key.layer, conv: j) : FlowRules.biasName(layer: key.layer, conv: j)
            let a = try source.array(source.dataset(e, transpose: false))
            arrays[name] = isKernel ? try FlowKernelLayout.canonical(a) : a
            rows.append(MappingRow(source: e.location, shape: e.shape, dtype: e.dtype, target: name,
                                   note: isKernel ? "permuted (c_out, c_in, k, k) -> [k, k, c_in, c_out]" : ""))
        }
        warnings += try Converter.zeroWarnings(Converter.zeroParameters(arrays), strict: options.strict)
        rows += source.ignored.map { MappingRow(source: $0.location, shape: $0.shape ?? [], dtype: "", target: "ignored", note: $0.reason) }

        let origin = "the file (tensor shapes)"
        let table: [(String, String, String)] = [
            ("lattice", "\(lattice.value[0])x\(lattice.value[1])", lattice.origin), ("beta", "\(beta.value)", beta.origin),
            ("activation", activation.value.rawValue, activation.origin), ("angle_convention", convention.value.rawValue, convention.origin),
            ("layers", "\(structure.layers)", origin), ("kernel_size", "\(structure.kernelSize)", origin),
            ("hidden_channels", "[\(structure.hiddenChannels.map(String.init).joined(separator: ", "))]", origin), ("n_mix", "\(structure.nMix)", origin),
            ("mask_rule", "plaquette_stripes_4", "the format (masks are rules)"),
            ("hmc.step_size", "\(step.value)", step.origin), ("hmc.n_lf", "\(nLF.value)", nLF.origin),
        ]
        let description = "\(source.kind.rawValue), \(TorchFlowNaming.name) naming" + (preset.map { ", preset \($0.name)" } ?? "")
        var model = L2ZModel(spec: .flow(spec), arrays: arrays,
                             provenance: Provenance(producer: "l2hmc-convert", producerVersion: ModelFormatInfo.version, sourceSHA256: source.sha256,
                                                    source: "\(URL(fileURLWithPath: source.path).lastPathComponent) (\(description))",
                                                    training: source.training.isEmpty ? nil : ["checkpoint": .object(source.training)]))
        try Converter.addProbe(to: &model, batch: options.probeBatch)
        let report = ConversionReport(sourcePath: source.path, sourceKind: source.kind, naming: TorchFlowNaming.name, facts: table, rows: rows,
                                      generated: [], warnings: warnings, spec: .flow(spec))
        return ConversionResult(model: model, report: report)
    }
}
