import Foundation
import ModelFormat

/// PyTorch checkpoints (`torch.save` zip: a bare state dict `.pt`/`.pth`, or upstream's
/// checkpoint dict `ckpt-*.tar` with `model_state_dict`) and safetensors files in the upstream
/// PyTorch L2HMC naming (``TorchNaming``) -> `.l2z` (docs/CONVERT.md, "PyTorch L2HMC checkpoints").
///
/// Steps: every tensor is mapped (network weight, step size, known and ignored, or unmapped);
/// aliases of one weight (`networks.xnet...` and `xnet...`) must hold identical values and one is
/// used; `nn.Linear` weights are transposed to the canonical (in, out); a convolution stack is
/// mapped with the run's `conv` config (``TorchConvStack``; the output then keeps upstream's
/// `mu_t_x` links, which the format's stack requires). Facts: preset < sidecar < flags, then what the file states (the stored step
/// sizes, a hydra `config.yaml` given with `--config`, the metadata of our own export) is
/// applied by ``FileStatements`` (a contradiction is `convert.conflicting_fact`). Then the
/// shared path of the Keras conversion: structure from the names, every shape checked against
/// the facts, masks, link permutation (upstream's links are `mu_t_x`), probe.
enum TorchConversion {
    static func convert(path: String, options: ConversionOptions) throws -> ConversionResult {
        do {
            return try convertChecked(path: path, options: options)
        } catch let ConvertError.missingFact(fact, needed, how) where options.preset == nil || options.configPath == nil {
            // Name what gives most facts of such a file at once.
            var hint: [String] = []
            if options.preset == nil { hint.append("--preset torch-2023-06 (or torch-2022-08, torch-2022-12: the era of the run)") }
            if options.configPath == nil { hint.append("--config RUN/.hydra/config.yaml (the run's own config)") }
            throw ConvertError.missingFact(fact: fact, needed: needed, how: how + "; for an upstream PyTorch file " + hint.joined(separator: " and ") + " give most facts at once")
        }
    }

    private static func convertChecked(path: String, options: ConversionOptions) throws -> ConversionResult {
        let source = try TensorFileSource(path: path, maxDatasetElements: options.maxDatasetElements)
        if options.matchByOrder { throw ConvertError.optionNotAccepted(option: "--match-by-order", reason: "PyTorch and safetensors files name every weight") }
        if options.naming != nil { throw ConvertError.optionNotAccepted(option: "--naming", reason: "the PyTorch naming (\(TorchNaming.name)) is the only one for these files") }

        // 1. Map every tensor.
        var byRef: [WeightRef: [(TensorFileSource.TensorEntry, transposed: Bool, alias: Bool)]] = [:]
        var refOrder: [WeightRef] = []
        var eps: [Bool: [Int: (Double, String)]] = [true: [:], false: [:]]
        var rows: [MappingRow] = []
        var unmapped: [String] = []
        var convolution: [TorchConvStack.Key: [(TensorFileSource.TensorEntry, alias: Bool)]] = [:]
        for e in source.entries {
            func row(_ target: String, _ note: String) {
                rows.append(MappingRow(source: e.location, shape: e.shape, dtype: e.dtype, target: target, note: note))
            }
            switch TorchNaming.match(e.key) {
            case let .weight(ref, transposed, alias)?:
                if byRef[ref] == nil { refOrder.append(ref) }
                byRef[ref, default: []].append((e, transposed, alias))
            case let .stepSize(x, k)?:
                guard e.shape.isEmpty || e.shape == [1], let v = e.values?.first, e.isFloatingPoint else {
                    throw ConvertError.shapeMismatch(source: e.location, canonical: x ? "eps_x" : "eps_v", expected: [], actual: e.shape,
                                                     reason: "a step-size parameter is one floating-point number")
                }
                guard v.isFinite, v > 0 else {
                    throw ConvertError.invalidFact(fact: x ? "eps_x" : "eps_v", value: "\(v) (\(e.location))", expected: "a finite step-size parameter > 0")
                }
                eps[x, default: [:]][k] = (v, e.location)
            case let .ignored(reason)?:
                row("ignored", reason)
            case let .convStack(net, step, index, variable, alias)?:
                convolution[TorchConvStack.Key(net: net, step: step, index: index, variable: variable), default: []].append((e, alias))
            case nil:
                unmapped.append(e.location)
                row("UNMAPPED", "")
            }
        }
        guard !byRef.isEmpty else {
            let examples = source.entries.prefix(3).map(\.location).joined(separator: ", ")
            throw ConvertError.unrecognizedNaming(reason: "none of the \(source.entries.count) tensors (\(examples)\(source.entries.count > 3 ? ", ..." : "")) is in the PyTorch L2HMC naming (xnet.{k}.first.input_layer.xlayer.weight, ...)")
        }

        // 2. Aliases: identical values required, the direct attribute's copy is used.
        var mapped: [(SourceDataset, WeightRef)] = []
        for ref in refOrder {
            guard let copies = byRef[ref] else { continue }
            let chosen = try Self.resolveAliases(copies.map { ($0.0, $0.alias) }, canonical: ref.canonicalName, rows: &rows)
            let transposed = copies.first { $0.0.location == chosen.location }?.transposed ?? false
            if transposed { source.transposed.insert(chosen.key) }
            mapped.append((source.dataset(chosen, transpose: transposed), ref))
        }

        // 3. Facts: given (preset < sidecar < flags), then what the file states.
        var (given, presetName) = try mergedFacts(options)
        var statements = FileStatements()
        if let config = options.configPath, HydraConfig.isYAML(config) {
            statements = try HydraConfig.statements(path: config)
        }
        try ExportMetadata.state(source.metadata, into: &statements)
        for x in [true, false] {
            let stored = eps[x] ?? [:]
            guard !stored.isEmpty else { continue }
            let count = stored.count
            guard stored.keys.sorted() == Array(0..<count) else {
                throw ConvertError.missingArray(canonical: x ? "eps_x" : "eps_v", expectedSource: "\(x ? "xeps" : "veps").0 .. \(count - 1) (found \(stored.keys.sorted()))")
            }
            let values = (0..<count).compactMap { stored[$0]?.0 }
            let origin = "the file (\(x ? "xeps" : "veps").0..\(count - 1))"
            try statements.state(x ? .epsX : .epsV, values.map { "\($0)" }.joined(separator: ","), origin: origin)
            try statements.state(.nLF, "\(count)", origin: origin)
        }
        // The checkpoint dict's own lists state the same parameters: a difference is a conflict.
        for (name, key) in [("xeps", FactKey.epsX), ("veps", FactKey.epsV)] {
            guard let listed = source.listedStepSizes[name], !listed.isEmpty else { continue }
            let values = (0..<listed.count).compactMap { listed[$0] }
            guard values.count == listed.count else { continue }
            try statements.state(key, values.map { "\($0)" }.joined(separator: ","), origin: "the file (checkpoint list \(name))")
        }
        given = try statements.apply(to: given)
        let facts = given

        let structure = try NetworkStructure(mapped: mapped, facts: facts)
        if let bn = statements.batchNorm, bn.value != structure.hasBatchNorm {
            throw ConvertError.conflictingFact(fact: "batch_norm", reason: "\(bn.origin) says \(bn.value), but the file's networks \(structure.hasBatchNorm ? "have" : "have no") batch_norm weights")
        }
        var warnings: [String] = []
        if !unmapped.isEmpty {
            guard options.allowUnused else { throw ConvertError.unmappedDatasets(names: unmapped) }
            warnings += unmapped.map { "\($0) is not used (--allow-unused)" }
        }
        // The convolution stack: its layer list from the run's conv config, its tensors checked
        // against it (aliases as for every weight).
        var convTensors: [TorchConvStack.Key: (entry: TensorFileSource.TensorEntry, dataset: SourceDataset)] = [:]
        for (key, copies) in convolution {
            let chosen = try Self.resolveAliases(copies, canonical: "\(key.networkName).conv_stack layers.\(key.index).\(key.variable)", rows: &rows)
            convTensors[key] = (chosen, source.dataset(chosen, transpose: false))
        }
        var convStack: ConvStackSpec?
        var convConfig: TorchConvStack.Config?
        if !convTensors.isEmpty {
            guard let c = statements.convStack, !c.filters.isEmpty else {
                if let c = statements.convStack {
                    throw ConvertError.conflictingFact(fact: "conv", reason: "\(c.origin) has no convolution stack (filters []), but the file has \(convTensors.count) input_layer.conv_stack tensors")
                }
                throw ConvertError.missingFact(fact: "conv", needed: "the convolution stack's layer list (conv filters, sizes, pool): which module index is which layer and where it pools",
                                               how: "give the run's own config with --config RUN/.hydra/config.yaml")
            }
            if let o = options.outputLinkLayout, o != .muTX {
                throw ConvertError.optionNotAccepted(option: "--output-link-layout \(o.rawValue)", reason: "a model with a convolution stack keeps upstream's mu_t_x links (the stack reads the links as an image in that order)")
            }
            let denseIndex = TorchConvStack.indices(count: c.filters.count).dense
            guard let denseKey = convTensors.keys.first(where: { $0.index == denseIndex && $0.variable == "weight" }),
                  let dense = convTensors[denseKey]?.entry.shape.first else {
                throw ConvertError.missingArray(canonical: "conv_stack.dense.kernel",
                                                expectedSource: "input_layer.conv_stack.layers.\(denseIndex).weight (the Linear after the flatten, for conv filters \(c.filters), \(c.origin))")
            }
            let names = SamplerRules.networkNames(SamplerSpec(target: .u1(U1Lattice(lt: 1, lx: 1, beta: 1)), dynamics: Dynamics(nLF: structure.nLF ?? 1, xUpdate: .ncp),
                                                              network: NetworkSpec(layout: structure.layout, xNetworksPerStep: structure.xNetworksPerStep, xNetInput: .raw, vNetInput: .raw,
                                                                                   maskPlacement: nil, timeInput: false, hiddenUnits: [1])))
            convStack = try TorchConvStack.spec(c, dense: dense, appliesTo: try TorchConvStack.appliesTo(Set(convTensors.keys), networks: names))
            convConfig = c
        } else if let c = statements.convStack, !c.filters.isEmpty {
            throw ConvertError.conflictingFact(fact: "conv", reason: "\(c.origin) has a convolution stack (filters \(c.filters)), but the file has no input_layer.conv_stack tensors")
        }
        let resolved = try ResolvedFacts(facts: facts, structure: structure, outputLinkLayout: convStack == nil ? options.outputLinkLayout : .muTX)
        let spec = try resolved.sampler(structure: structure, convStack: convStack)
        let n = spec.stateSize
        let expected = SamplerRules.expectedArrays(spec, probe: nil)
        try KerasConversion.checkDeclared(mapped: mapped, expected: expected, resolved: resolved, spec: spec, limit: source.maxDatasetElements)

        // 4. Arrays.
        var built = try NetworkArrays.build(source: source, mapped: mapped, structure: structure, stateSize: n)
        if let stack = convStack, let config = convConfig {
            let conv = try TorchConvStack.arrays(convTensors, stack: stack, spec: spec, source: source, config: config)
            for (name, a) in conv.arrays { built.arrays[name] = a; built.sources[name] = [name] }
            rows += conv.rows
        }
        var generated: [(String, String)] = []
        // ScaledTanh without a bias (upstream 2022-08-16 .. 2023-01-16): the bias is zero. That
        // era has no head bias anywhere; a file where some heads have one and others not is
        // damaged, and the missing ones are reported below.
        let headBiases = expected.keys.filter { $0.hasSuffix(".scale.bias") || $0.hasSuffix(".transformation.bias") }
        let noHeadBias = headBiases.allSatisfy { built.arrays[$0] == nil }
        for name in headBiases.sorted() where noHeadBias {
            let kernel = String(name.dropLast("bias".count)) + "kernel"
            guard built.arrays[kernel] != nil else { continue }
            built.arrays[name] = try NDArray(shape: [n], floats: [Float](repeating: 0, count: n))
            generated.append((name, "zeros: the file's head has no bias (ScaledTanh without bias, upstream 2022-08-16..2023-01-16)"))
        }
        for name in expected.keys.sorted() where !["eps_x", "eps_v", "masks"].contains(name) {
            guard let a = built.arrays[name] else {
                throw ConvertError.missingArray(canonical: name, expectedSource: sourceHint(name, layout: spec.network.layout))
            }
            let want = expected[name]?.shape ?? []
            guard a.shape == want else {
                throw ConvertError.shapeMismatch(source: built.sources[name]?.joined(separator: " + ") ?? name, canonical: name,
                                                 expected: want, actual: a.shape, reason: resolved.shapeReason(name, spec: spec))
            }
        }
        let head = facts.headCoefficient ?? Sourced(.exp, "default (the .l2z meaning)")
        var table = resolved.table
        table.append(("head_coefficient", head.value == .exp ? "exp(coeff) * tanh" : "coeff * tanh (folded into exp form)", head.origin))
        if head.value == .linear {
            let notes = try HeadCoefficientFold.apply(&built.arrays, networks: SamplerRules.networkNames(spec))
            generated += notes.map { ("(heads)", $0) }
        }
        built.arrays["eps_x"] = try NDArray(shape: [spec.dynamics.nLF], doubles: resolved.epsX)
        built.arrays["eps_v"] = try NDArray(shape: [spec.dynamics.nLF], doubles: resolved.epsV)
        built.arrays["masks"] = try NDArray(shape: [spec.dynamics.nLF, n], uint8s: resolved.masks.flatMap { $0 })
        generated += [("eps_x", "\(resolved.epsX) (\(facts.epsX?.origin ?? ""))"), ("eps_v", "\(resolved.epsV) (\(facts.epsV?.origin ?? ""))"),
                      ("masks", "\(resolved.maskDescription) (\(facts.masks?.origin ?? ""))")]
        var arrays = built.arrays
        let permuted = resolved.sourceLinkLayout != resolved.outputLinkLayout
        if permuted {
            let perm = LinkPermutation.permutation(lt: resolved.lt, lx: resolved.lx, from: resolved.sourceLinkLayout, to: resolved.outputLinkLayout)
            arrays = try LinkPermutation.apply(arrays, spec: spec, perm: perm)
            generated.append(("(links)", "every link-indexed array permuted from \(resolved.sourceLinkLayout.rawValue) to \(resolved.outputLinkLayout.rawValue)"))
        }
        generated.append((ProbeArrayNames.prefix + "*", "computed by the runtime on the converted model"))
        warnings += try Converter.zeroWarnings(Converter.zeroParameters(arrays).filter { name in
            // A zero coefficient folded into a zero head column is not the export bug's signature.
            !(head.value == .linear && (name.contains(".scale.") || name.contains(".transformation.")))
        }, strict: options.strict)

        let description = "\(source.kind.rawValue), \(TorchNaming.name) naming" + (presetName.map { ", preset \($0)" } ?? "")
        var model = L2ZModel(sampler: spec, arrays: arrays,
                             provenance: Provenance(producer: "l2hmc-convert", producerVersion: ModelFormatInfo.version, sourceSHA256: source.sha256,
                                                    source: "\(URL(fileURLWithPath: path).lastPathComponent) (\(description))",
                                                    training: source.training.isEmpty ? nil : ["checkpoint": .object(source.training)]))
        try Converter.addProbe(to: &model, batch: options.probeBatch)

        for (d, r) in mapped {
            var notes: [String] = []
            if source.transposed.contains(d.hdf5Path) { notes.append("transposed (out, in) -> (in, out)") }
            if let note = built.notes[d.location] { notes.append(note) }
            let link = permuted && ["x_layer", "v_layer", "scale", "translation", "transformation"].contains(r.layer.canonicalName)
                && !(r.layer == .xLayer && r.variable == "bias") && !(r.layer == .vLayer && r.variable == "bias")
            if link { notes.append("links permuted") }
            rows.append(MappingRow(source: d.location, shape: source.entry(d.hdf5Path)?.shape ?? d.shape, dtype: source.entry(d.hdf5Path)?.dtype ?? "",
                                   target: r.canonicalName, note: notes.joined(separator: "; ")))
        }
        for x in [true, false] {
            for (k, (_, location)) in (eps[x] ?? [:]).sorted(by: { $0.key < $1.key }) {
                rows.append(MappingRow(source: location, shape: [], dtype: "", target: "\(x ? "eps_x" : "eps_v")[\(k)]",
                                       note: "parameter; used as \(x ? resolved.epsXParametrization.rawValue : resolved.epsVParametrization.rawValue)"))
            }
        }
        rows += source.ignored.map { MappingRow(source: $0.location, shape: $0.shape ?? [], dtype: "", target: "ignored", note: $0.reason) }
        let report = ConversionReport(sourcePath: path, sourceKind: source.kind, naming: TorchNaming.name, facts: table, rows: rows,
                                      generated: generated, warnings: warnings, sampler: spec)
        return ConversionResult(model: model, report: report)
    }

    /// Preset < sidecar (a JSON one; a YAML `--config` is the run's own config, read as the
    /// file's statements) < flags.
    /// The copy of one weight to use among its aliases (the direct attribute's before an alias's):
    /// every other copy must have the same shape, dtype and bit patterns (else
    /// `convert.alias_mismatch` naming the first differing element) and gets an "ignored" row.
    static func resolveAliases(_ copies: [(TensorFileSource.TensorEntry, alias: Bool)], canonical: String,
                               rows: inout [MappingRow]) throws -> TensorFileSource.TensorEntry {
        let ordered = copies.sorted { !$0.alias && $1.alias }
        let chosen = ordered[0].0
        for (other, _) in ordered.dropFirst() {
            guard other.shape == chosen.shape, other.dtype == chosen.dtype else {
                throw ConvertError.aliasMismatch(canonical: canonical, sources: [chosen.location, other.location],
                                                 detail: "\(chosen.dtype) \(chosen.shape) versus \(other.dtype) \(other.shape)")
            }
            if let a = chosen.values, let b = other.values, let i = a.indices.first(where: { a[$0].bitPattern != b[$0].bitPattern }) {
                throw ConvertError.aliasMismatch(canonical: canonical, sources: [chosen.location, other.location], detail: "element \(i): \(a[i]) versus \(b[i])")
            }
            rows.append(MappingRow(source: other.location, shape: other.shape, dtype: other.dtype, target: "ignored",
                                   note: "alias of \(chosen.location) (values checked identical)"))
        }
        return chosen
    }

    static func mergedFacts(_ o: ConversionOptions) throws -> (Facts, String?) {
        var sidecar = Facts()
        var presetName = o.preset
        if let path = o.configPath, !HydraConfig.isYAML(path) {
            let s = try Facts.sidecar(path: path)
            sidecar = s.facts
            presetName = presetName ?? s.preset
        }
        let base = try presetName.map { try Preset.named($0).facts } ?? Facts()
        return (base.overlaid(with: sidecar).overlaid(with: o.flagFacts), presetName)
    }

    static func sourceHint(_ canonical: String, layout: NetworkLayout) -> String {
        let parts = canonical.split(separator: ".").map(String.init)
        guard parts.count == 4, let kind = NetworkKind(rawValue: parts[0]), let k = Int(parts[1]) else { return canonical }
        let layer: LayerRole
        switch parts[2] {
        case "x_layer": layer = .xLayer
        case "v_layer": layer = .vLayer
        case "batch_norm": layer = .batchNorm
        case "scale": layer = .scale
        case "translation": layer = .translation
        case "transformation": layer = .transformation
        default: layer = .hidden(Int(parts[2].dropFirst(6)) ?? 1)
        }
        let ref = WeightRef(net: kind, step: layout == .shared ? nil : k, layer: layer, variable: parts[3])
        return "tensor \(TorchNaming.key(for: ref, layout: layout) ?? canonical) (PyTorch naming)"
    }
}
