import Foundation
import ModelFormat

/// Keras HDF5 weights in the L2HMC namings: map every dataset (``KerasMapping``), take the
/// structure from the names and the widths from the shapes, take every convention from the
/// facts (``ResolvedFacts``), check every shape against them, fold the Sep 2020 linear layers,
/// permute links into the output layout, add step sizes, masks and the probe.
enum KerasConversion {
    static func convert(_ source: SourceFile, options: ConversionOptions) throws -> ConversionResult {
        let (given, presetName) = try mergedFacts(options)
        // What the file states about itself wins where nothing is given and refuses a contradiction.
        let facts = try source.stated?.apply(to: given) ?? given
        let mapping = try KerasMapping(source: source, options: options, facts: facts)
        try source.stated?.checkUnits(mapping)
        var warnings: [String] = []
        if !mapping.unmapped.isEmpty {
            guard options.allowUnused else { throw ConvertError.unmappedDatasets(names: mapping.unmapped.map(\.location)) }
            warnings += mapping.unmapped.map { "\($0.location) is not used (--allow-unused)" }
        }
        let structure = try NetworkStructure(mapped: mapping.mapped, facts: facts)
        // A convolution stack reads the links in (mu, t, x) order: the model keeps that layout.
        let hasStack = mapping.mapped.contains { (_, r) in
            switch r.layer { case .convStack, .convStackDense: return true; default: return false }
        }
        if hasStack, let o = options.outputLinkLayout, o != .muTX {
            throw ConvertError.optionNotAccepted(option: "--output-link-layout \(o.rawValue)",
                                                 reason: "the file has a convolution stack, which reads the links in the mu_t_x order; such a model is written in mu_t_x")
        }
        let resolved = try ResolvedFacts(facts: facts, structure: structure, outputLinkLayout: options.outputLinkLayout ?? (hasStack ? .muTX : nil))
        var stack: KerasConvStack?
        if hasStack {
            guard resolved.sourceLinkLayout == .muTX else {
                throw ConvertError.conflictingFact(fact: FactKey.linkLayout.rawValue,
                                                   reason: "the file has a convolution stack (upstream TensorFlow, 2022-08 on), whose image is the (mu, t, x) link order, but \(facts.linkLayout?.origin ?? "the facts") give \(resolved.sourceLinkLayout.rawValue)")
            }
            stack = try KerasConvStack.read(mapped: mapping.mapped, stated: source.stated, facts: facts, lt: resolved.lt, lx: resolved.lx, path: source.path)
        }
        let spec = try resolved.sampler(structure: structure, convStack: stack?.spec)
        let n = spec.stateSize

        // Every declared shape against the architecture, before any data is read or allocated.
        let expected = SamplerRules.expectedArrays(spec, probe: nil)
        try checkDeclared(mapped: mapping.mapped, expected: expected, resolved: resolved, spec: spec, limit: source.maxDatasetElements)

        // Network arrays in the source's link layout (with the Sep 2020 fold), then checked both ways.
        var built = try NetworkArrays.build(source: source, mapped: mapping.mapped, structure: structure, stateSize: n)
        for name in expected.keys.sorted() where !["eps_x", "eps_v", "masks"].contains(name) {
            guard let a = built.arrays[name] else {
                throw ConvertError.missingArray(canonical: name, expectedSource: mapping.naming.sourceHint(for: name))
            }
            let want = expected[name]?.shape ?? []
            guard a.shape == want else {
                throw ConvertError.shapeMismatch(source: built.sources[name]?.joined(separator: " + ") ?? name, canonical: name,
                                                 expected: want, actual: a.shape, reason: resolved.shapeReason(name, spec: spec))
            }
        }
        for name in built.arrays.keys.sorted() where expected[name] == nil {
            throw ConvertError.conflictingFact(fact: resolved.factBehind(name),
                                               reason: "the file has \(built.sources[name]?.joined(separator: ", ") ?? name) (-> \(name)), which the architecture the facts describe does not use")
        }
        // The stack's dense kernel: Keras's NHWC flatten rows (t, x, c) -> channel-major (c, t, x).
        if let stack {
            for name in built.arrays.keys.sorted() where name.hasSuffix(".conv_stack.dense.kernel") {
                guard let a = built.arrays[name] else { continue }
                built.arrays[name] = try LinkPermutation.permute(a, rows: stack.denseRows, cols: nil)
                for location in built.sources[name] ?? [] {
                    built.notes[location] = "rows permuted from Keras's NHWC flatten (t, x, c) to channel-major (c, t, x)"
                }
            }
        }
        built.arrays["eps_x"] = try NDArray(shape: [spec.dynamics.nLF], doubles: resolved.epsX)
        built.arrays["eps_v"] = try NDArray(shape: [spec.dynamics.nLF], doubles: resolved.epsV)
        built.arrays["masks"] = try NDArray(shape: [spec.dynamics.nLF, n], uint8s: resolved.masks.flatMap { $0 })

        var arrays = built.arrays
        var generated: [(String, String)] = [("eps_x", "\(resolved.epsX) (\(facts.epsX?.origin ?? ""))"),
                                            ("eps_v", "\(resolved.epsV) (\(facts.epsV?.origin ?? ""))"),
                                            ("masks", "\(resolved.maskDescription) (\(facts.masks?.origin ?? ""))")]
        if resolved.sourceLinkLayout != resolved.outputLinkLayout {
            let perm = LinkPermutation.permutation(lt: resolved.lt, lx: resolved.lx, from: resolved.sourceLinkLayout, to: resolved.outputLinkLayout)
            arrays = try LinkPermutation.apply(arrays, spec: spec, perm: perm)
            generated.append(("(links)", "every link-indexed array permuted from \(resolved.sourceLinkLayout.rawValue) to \(resolved.outputLinkLayout.rawValue)"))
        }
        generated.append((ProbeArrayNames.prefix + "*", "computed by the runtime on the converted model"))
        warnings += try Converter.zeroWarnings(Converter.zeroParameters(arrays), strict: options.strict)

        let description = "\(source.kind.rawValue), \(mapping.naming.rawValue) naming" + (presetName.map { ", preset \($0)" } ?? "")
        var model = L2ZModel(sampler: spec, arrays: arrays, provenance: Converter.provenance(source, description: description))
        try Converter.addProbe(to: &model, batch: options.probeBatch)

        let rows = mapping.rows(notes: built.notes, permuted: resolved.sourceLinkLayout != resolved.outputLinkLayout)
        let report = ConversionReport(sourcePath: source.path, sourceKind: source.kind, naming: mapping.naming.rawValue,
                                      facts: resolved.table + (stack?.table ?? []), rows: rows, generated: generated, warnings: warnings, sampler: spec)
        return ConversionResult(model: model, report: report)
    }

    /// The model the facts describe must fit the limit (4 x the per-dataset limit in all), and
    /// every mapped dataset's declared shape must be what that model needs (folded Sep 2020 head
    /// kernels excepted: their rows are the last linear layer's width, checked when folding).
    static func checkDeclared(mapped: [(SourceDataset, WeightRef)], expected: [String: SamplerRules.ExpectedArray], resolved: ResolvedFacts,
                              spec: SamplerSpec, limit: Int) throws {
        var total = 0
        for e in expected.values {
            let count = NDArray.checkedElementCount(e.shape) ?? Int.max
            let sum = total.addingReportingOverflow(count)
            total = sum.overflow ? Int.max : sum.partialValue
        }
        let modelLimit = limit.multipliedReportingOverflow(by: 4).overflow ? Int.max : limit * 4
        guard total <= modelLimit else {
            throw ConvertError.tooLarge(what: "the model the file's shapes and the facts describe (hidden \(spec.network.hiddenUnits), n = \(spec.stateSize))",
                                        elements: total, limit: modelLimit)
        }
        let folded = Set(mapped.compactMap { (_, r) -> String? in if case .linear = r.layer { return r.networkName }; return nil })
        for (d, r) in mapped {
            if case .linear = r.layer { continue }
            if folded.contains(r.networkName), r.variable == "kernel", [.scale, .translation, .transformation].contains(r.layer) { continue }
            let name = r.canonicalName
            let shape = r.variable == "coeff" && d.shape.count == 2 && d.shape[0] == 1 ? [d.shape[1]] : d.shape
            guard let e = expected[name] else {
                throw ConvertError.conflictingFact(fact: resolved.factBehind(name),
                                                   reason: "the file has \(d.location) (-> \(name)), which the architecture the facts describe does not use")
            }
            guard shape == e.shape else {
                throw ConvertError.shapeMismatch(source: d.location, canonical: name, expected: e.shape, actual: shape, reason: resolved.shapeReason(name, spec: spec))
            }
        }
    }

    /// Preset < sidecar < flags. The flag `--preset` wins over the sidecar's `"preset"`.
    static func mergedFacts(_ o: ConversionOptions) throws -> (Facts, String?) {
        var sidecar = Facts()
        var presetName = o.preset
        if let path = o.configPath {
            let s = try Facts.sidecar(path: path)
            sidecar = s.facts
            presetName = presetName ?? s.preset
        }
        let base = try presetName.map { try Preset.named($0).facts } ?? Facts()
        return (base.overlaid(with: sidecar).overlaid(with: o.flagFacts), presetName)
    }
}

/// Which source dataset became which weight: every dataset is mapped, ignored (with a reason)
/// or unmapped.
struct KerasMapping {
    let naming: KerasNaming
    /// Mapped datasets, in file order.
    let mapped: [(SourceDataset, WeightRef)]
    let unmapped: [SourceDataset]
    let ignored: [IgnoredDataset]

    init(source: SourceFile, options: ConversionOptions, facts: Facts) throws {
        let candidates = source.datasets.filter { !$0.name.hasPrefix("(unreferenced)") }
        var naming: KerasNaming
        if options.matchByOrder {
            guard source.kind == .keras3Weights || source.kind == .keras3Archive else {
                throw ConvertError.optionNotAccepted(option: "--match-by-order", reason: "only Keras 3 weights (.weights.h5, .keras) are matched by order; this file names its weights")
            }
            guard options.naming == nil || options.naming == .keras3Order else {
                throw ConvertError.optionNotAccepted(option: "--naming", reason: "--match-by-order pairs layers by order, not by name")
            }
            naming = .keras3Order
        } else if let forced = options.naming {
            guard forced != .keras3Order else { throw ConvertError.optionNotAccepted(option: "--naming keras3-order", reason: "use --match-by-order") }
            naming = forced
        } else {
            let counts = [KerasNaming.tf2021, .sep2020].map { n in (n, candidates.filter { n.match($0.name) != nil }.count) }.filter { $0.1 > 0 }
            if counts.count > 1 {
                throw ConvertError.unrecognizedNaming(reason: "weight names of both the 2021 and the Sep 2020 layouts are present (\(counts.map { "\($0.0.rawValue): \($0.1)" }.joined(separator: ", ")))")
            }
            if let only = counts.first {
                naming = only.0
            } else if source.lacksLayerNames {
                throw ConvertError.unrecognizedNaming(reason: "this Keras 3 file stores no layer names (layers/<auto name>/vars/<i> only), so only order and shape are left; pass --match-by-order to pair them by the documented order")
            } else {
                let examples = candidates.prefix(3).map(\.name).joined(separator: ", ")
                throw ConvertError.unrecognizedNaming(reason: "none of the \(candidates.count) weight names (\(examples)\(candidates.count > 3 ? ", ..." : "")) is in the 2021 (`vnet0_x_layer/kernel`) or Sep 2020 (`xnet/x_layer/kernel`) layout")
            }
        }
        self.naming = naming

        var refs: [String: WeightRef] = [:]
        if naming == .keras3Order {
            refs = try OrderMatching.match(candidates, networks: try Self.orderedNetworks(facts), timeInput: try Self.required(facts.timeInput, .timeInput, "order matching needs it to count the dense layers"))
        } else {
            for d in candidates { if let r = naming.match(d.name) { refs[d.name] = r } }
        }
        var mapped: [(SourceDataset, WeightRef)] = []
        var unmapped: [SourceDataset] = []
        var seen: [WeightRef: String] = [:]
        for d in source.datasets {
            guard let r = refs[d.name] else { unmapped.append(d); continue }
            if let other = seen[r] { throw ConvertError.duplicateMapping(canonical: r.canonicalName, sources: [other, d.location]) }
            seen[r] = d.location
            mapped.append((d, r))
        }
        self.mapped = mapped
        self.unmapped = unmapped
        self.ignored = source.ignored
    }

    /// The networks order matching pairs with sub-models: leapfrog order from the facts.
    static func orderedNetworks(_ facts: Facts) throws -> [WeightRef] {
        let why = "order matching builds the network list from it"
        let layout = try required(facts.layout, .layout, why)
        let xNets = try required(facts.xNetworksPerStep, .xNetworksPerStep, why)
        let steps = layout == .shared ? 1 : try required(facts.nLF, .nLF, why)
        var out: [WeightRef] = []
        for k in 0..<steps {
            let step: Int? = layout == .shared ? nil : k
            out.append(WeightRef(net: .v, step: step, layer: .xLayer, variable: "kernel"))
            for kind in xNets == 2 ? [NetworkKind.xFirst, .xSecond] : [.x] {
                out.append(WeightRef(net: kind, step: step, layer: .xLayer, variable: "kernel"))
            }
        }
        return out
    }

    static func required<T>(_ f: Sourced<T>?, _ key: FactKey, _ why: String) throws -> T {
        guard let f else { throw ConvertError.missingFact(fact: key.rawValue, needed: "\(key.meaning); \(why)", how: ResolvedFacts.how(key)) }
        return f.value
    }

    /// The mapping table: every dataset with its canonical array or its fate.
    func rows(notes: [String: String], permuted: Bool) -> [MappingRow] {
        var rows: [MappingRow] = []
        for (d, r) in mapped {
            let note = notes[d.location] ?? ""
            let target: String
            if case .linear = r.layer { target = "(folded) \(r.networkName).\(r.layer.canonicalName).\(r.variable)" } else { target = r.canonicalName }
            let link = permuted && ["x_layer", "v_layer", "scale", "translation", "transformation"].contains(r.layer.canonicalName) && !(r.layer == .xLayer && r.variable == "bias") && !(r.layer == .vLayer && r.variable == "bias")
            // Keras 3 paths hold auto names only: show the layer name the mapping used.
            let named = d.location.contains(d.name) ? "" : "named \(d.name)"
            rows.append(MappingRow(source: d.location, shape: d.shape, dtype: d.dtype?.rawValue ?? d.typeDescription, target: target,
                                   note: [named, note, link ? "links permuted" : ""].filter { !$0.isEmpty }.joined(separator: "; ")))
        }
        rows += unmapped.map { MappingRow(source: $0.location, shape: $0.shape, dtype: $0.dtype?.rawValue ?? $0.typeDescription, target: "UNMAPPED", note: $0.name.hasPrefix("(unreferenced)") ? "not listed in any weight_names" : "") }
        rows += ignored.map { MappingRow(source: $0.location, shape: $0.shape ?? [], dtype: "", target: "ignored", note: $0.reason) }
        return rows
    }
}

extension KerasNaming {
    /// The dataset this naming would hold a canonical array in (for "missing" messages).
    func sourceHint(for canonical: String) -> String {
        let parts = canonical.split(separator: ".").map(String.init)
        if parts.count == 5, parts[2] == "conv_stack", self == .tf2021 {
            let l = parts[3] == "dense" ? "DenseOutput" : "Conv2D-\(parts[3].dropFirst(4))"
            return "weight \(parts[0])\(parts[1])_\(l)/\(parts[4]), 2022 naming of the convolution stack"
        }
        guard parts.count == 4 else { return canonical }
        let (net, k, layer, variable) = (parts[0], parts[1], parts[2], parts[3])
        switch self {
        case .tf2021:
            let l: String
            switch layer {
            case "scale": l = "scale_layer"
            case "translation": l = "transl_layer"
            case "transformation": l = "transf_layer"
            case "batch_norm": l = "batch_norm1"
            default: l = layer.hasPrefix("hidden") ? "h\((Int(layer.dropFirst(6)) ?? 1) - 1)_layer" : layer
            }
            return "weight \(net)\(k)_\(l)/\(variable) (or \(net)_\(l)/\(variable) for shared networks), 2021 naming"
        case .sep2020:
            let l = ["scale": "scale_layer", "translation": "transl_layer", "transformation": "transformation_layer"][layer] ?? layer
            return "weight \(net)/\(l)/\(variable), Sep 2020 naming"
        case .keras3Order:
            return "layer for \(canonical) (order matching)"
        }
    }
}
