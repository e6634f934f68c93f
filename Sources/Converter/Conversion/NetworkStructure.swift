import ModelFormat

/// What the weight names and shapes say about the networks: layout, x-networks per step,
/// number of steps (per-step layouts), hidden widths, and which optional parts are present.
/// Facts that state these too must agree with the file.
struct NetworkStructure {
    let layout: NetworkLayout
    let xNetworksPerStep: Int
    /// From the step indices (per-step layouts only).
    let nLF: Int?
    /// Of the converted model (Sep 2020 linear layers are folded away).
    let hiddenUnits: [Int]
    let hasBatchNorm: Bool
    let scaleCoeff: Bool
    let transformationCoeff: Bool
    let hasTimeLayer: Bool
    /// Origin text for facts taken from the file.
    static let origin = "the file"

    /// `mapped`: every source dataset with its reference, kernels in (in, out) orientation.
    init(mapped: [(SourceDataset, WeightRef)], facts: Facts) throws {
        let refs = mapped.map(\.1)
        guard !refs.isEmpty else { throw ConvertError.unrecognizedNaming(reason: "no dataset maps to a network weight") }
        let indexed = refs.filter { $0.step != nil }, plain = refs.filter { $0.step == nil }
        if !indexed.isEmpty && !plain.isEmpty {
            throw ConvertError.conflictingFact(fact: FactKey.layout.rawValue,
                                               reason: "the file names some networks with a step index (\(indexed[0].networkName)) and some without (\(plain[0].net.rawValue))")
        }
        layout = indexed.isEmpty ? .shared : .perStep
        let kinds = Set(refs.map(\.net))
        if kinds.contains(.x) && (kinds.contains(.xFirst) || kinds.contains(.xSecond)) {
            throw ConvertError.conflictingFact(fact: FactKey.xNetworksPerStep.rawValue, reason: "the file has both xnet and xnet_first/xnet_second networks")
        }
        xNetworksPerStep = kinds.contains(.xFirst) || kinds.contains(.xSecond) ? 2 : 1
        nLF = layout == .perStep ? (indexed.compactMap(\.step).max() ?? 0) + 1 : nil

        if let f = facts.layout, f.value != layout {
            throw ConvertError.conflictingFact(fact: FactKey.layout.rawValue,
                                               reason: "the file's networks are \(layout.rawValue) (e.g. \(refs[0].net.rawValue)\(refs[0].step.map(String.init) ?? "")), but \(f.origin) says \(f.value.rawValue)")
        }
        if let f = facts.xNetworksPerStep, f.value != xNetworksPerStep {
            throw ConvertError.conflictingFact(fact: FactKey.xNetworksPerStep.rawValue,
                                               reason: "the file has \(xNetworksPerStep) x-network(s) per step (\(kinds.map(\.rawValue).sorted().joined(separator: ", "))), but \(f.origin) says \(f.value)")
        }
        if let nLF, let f = facts.nLF, f.value != nLF {
            throw ConvertError.conflictingFact(fact: FactKey.nLF.rawValue, reason: "the file has per-step networks for \(nLF) step(s), but \(f.origin) says n_lf \(f.value)")
        }

        // Hidden widths: from the first network's kernels, then every network must agree.
        var perNetwork: [String: [Int: Int]] = [:]      // network -> hidden index -> width (0: x_layer output)
        for (d, r) in mapped where r.variable == "kernel" && d.shape.count == 2 {
            switch r.layer {
            case .xLayer: perNetwork[r.networkName, default: [:]][0] = d.shape[1]
            case let .hidden(i): perNetwork[r.networkName, default: [:]][i] = d.shape[1]
            default: break
            }
        }
        let networks = perNetwork.keys.sorted()
        guard let first = networks.first, let widths = perNetwork[first], widths[0] != nil else {
            throw ConvertError.missingArray(canonical: "x_layer.kernel", expectedSource: "x_layer kernel in any network (the first hidden width is read from it)")
        }
        let count = (widths.keys.max() ?? 0) + 1
        for i in 0..<count where widths[i] == nil {
            throw ConvertError.missingArray(canonical: "\(first).hidden\(i).kernel", expectedSource: "hidden layer \(i) of \(first) (it has hidden layers up to \(count - 1))")
        }
        for net in networks where (perNetwork[net] ?? [:]) != widths {
            let theirs = perNetwork[net] ?? [:]
            let a = (0..<count).map { widths[$0] ?? 0 }, b = (0..<((theirs.keys.max() ?? 0) + 1)).map { theirs[$0] ?? 0 }
            throw ConvertError.shapeMismatch(source: "\(net) hidden layers", canonical: "\(net).hidden*", expected: a, actual: b,
                                             reason: "every network must have the hidden widths of \(first) (the format has one hidden_units)")
        }
        hiddenUnits = (0..<count).map { widths[$0] ?? 0 }  // every index was checked present above
        if let f = facts.hiddenUnits, f.value != hiddenUnits {
            throw ConvertError.conflictingFact(fact: FactKey.hiddenUnits.rawValue, reason: "the file's kernels give hidden_units \(hiddenUnits), but \(f.origin) says \(f.value)")
        }
        hasBatchNorm = refs.contains { $0.layer == .batchNorm }
        scaleCoeff = refs.contains { $0.layer == .scale && $0.variable == "coeff" }
        transformationCoeff = refs.contains { $0.layer == .transformation && $0.variable == "coeff" }
        hasTimeLayer = refs.contains { $0.layer == .tLayer }
    }
}
