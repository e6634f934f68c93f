import Foundation
import ModelFormat

/// Every convention the converted sampler needs, each from a fact (preset, sidecar, flag) or
/// from the file; a missing one is refused with the fact's name and how to give it.
struct ResolvedFacts {
    let lt: Int, lx: Int
    let beta: Double
    let sourceLinkLayout: LinkLayout
    let outputLinkLayout: LinkLayout
    let nLF: Int
    let epsX: [Double], epsV: [Double]
    let epsXParametrization: StepSizeParametrization, epsVParametrization: StepSizeParametrization
    /// [nLF][n] in the source's link layout.
    let masks: [[UInt8]]
    let maskDescription: String
    let translationSign: TranslationSign
    let xUpdate: XUpdateForm
    let xNetInput: InputEncoding, vNetInput: InputEncoding
    let maskPlacement: MaskPlacement?
    let timeInput: Bool
    let activation: Activation
    let batchNormEpsilon: Double?
    let netWeights: NetWeights
    /// (fact, value, origin) for the report.
    let table: [(String, String, String)]
    private let facts: Facts

    /// How to give a fact, for messages.
    static func how(_ key: FactKey) -> String {
        let example: String
        switch key {
        case .lattice: example = "8x8"
        case .beta: example = "2.0"
        case .eps, .epsX, .epsV: example = "0.1 (or one per step: 0.1,0.12)"
        case .masks: example = "checkerboard (or masks.npy)"
        case .translationSign: example = "minus (or --translation-sign=-1)"
        case .xUpdate: example = "ncp"
        case .activation: example = "relu"
        case .convPool: example = "2,2"
        default: example = "VALUE"
        }
        return "give \(key.flag) \(example), or \"\(key.rawValue)\" in a --config sidecar, or a --preset that fixes it (docs/CONVERT.md)"
    }

    private static func need<T>(_ f: Sourced<T>?, _ key: FactKey, _ why: String? = nil) throws -> Sourced<T> {
        guard let f else { throw ConvertError.missingFact(fact: key.rawValue, needed: why ?? key.meaning, how: how(key)) }
        return f
    }

    init(facts: Facts, structure: NetworkStructure, outputLinkLayout: LinkLayout?) throws {
        self.facts = facts
        var table: [(String, String, String)] = []
        func note(_ key: String, _ value: String, _ origin: String) { table.append((key, value, origin)) }

        let lattice = try Self.need(facts.lattice, .lattice)
        lt = lattice.value[0]; lx = lattice.value[1]
        note("lattice", "\(lt)x\(lx) (n = \(2 * lt * lx) links)", lattice.origin)
        let beta = try Self.need(facts.beta, .beta)
        self.beta = beta.value
        note("beta", "\(beta.value)", beta.origin)
        let layout = try Self.need(facts.linkLayout, .linkLayout)
        sourceLinkLayout = layout.value
        self.outputLinkLayout = outputLinkLayout ?? .tXMu
        note("link_layout", "\(layout.value.rawValue) -> \(self.outputLinkLayout.rawValue) (written)", layout.origin)

        note("layout", "\(structure.layout.rawValue), \(structure.xNetworksPerStep) x-network(s) per step", NetworkStructure.origin)
        if let n = structure.nLF {
            nLF = n
            note("n_lf", "\(n)", NetworkStructure.origin)
        } else {
            let f = try Self.need(facts.nLF, .nLF, "the number of leapfrog steps; shared networks do not reveal it")
            nLF = f.value
            note("n_lf", "\(f.value)", f.origin)
        }
        note("hidden_units", "\(structure.hiddenUnits)", NetworkStructure.origin)

        let stepCount = nLF
        func steps(_ f: Sourced<[Double]>, _ key: FactKey) throws -> [Double] {
            let nLF = stepCount
            if f.value.count == 1 { return [Double](repeating: f.value[0], count: nLF) }
            guard f.value.count == nLF else {
                throw ConvertError.invalidFact(fact: key.rawValue, value: f.value.map { "\($0)" }.joined(separator: ","),
                                               expected: "one step size or \(nLF) (one per leapfrog step) (from \(f.origin))")
            }
            return f.value
        }
        if facts.epsX == nil && facts.epsV == nil {
            throw ConvertError.missingFact(fact: FactKey.eps.rawValue, needed: FactKey.eps.meaning, how: Self.how(.eps))
        }
        let ex = try Self.need(facts.epsX, .epsX, FactKey.epsX.meaning + "; --eps sets x and v together")
        let ev = try Self.need(facts.epsV, .epsV, FactKey.epsV.meaning + "; --eps sets x and v together")
        epsX = try steps(ex, .epsX); epsV = try steps(ev, .epsV)
        note("eps_x", "\(ex.value)", ex.origin); note("eps_v", "\(ev.value)", ev.origin)
        let px = try Self.need(facts.epsXParametrization, .epsXParametrization), pv = try Self.need(facts.epsVParametrization, .epsVParametrization)
        epsXParametrization = px.value; epsVParametrization = pv.value
        note("eps_x_parametrization", px.value.rawValue, px.origin); note("eps_v_parametrization", pv.value.rawValue, pv.origin)

        let m = try Self.need(facts.masks, .masks)
        let n = 2 * lattice.value[0] * lattice.value[1]
        switch m.value {
        case let .rule(rule):
            masks = rule.masks(nLF: stepCount, lt: lattice.value[0], lx: lattice.value[1], layout: layout.value)
            maskDescription = "rule \(rule.rawValue) on the \(layout.value.rawValue) links"
        case let .file(path):
            (masks, maskDescription) = Self.meaning(try Self.readMasks(path, nLF: stepCount, n: n), path, facts.maskMeaning)
        case let .rows(rows):
            guard rows.count == stepCount, rows.allSatisfy({ $0.count == n }) else {
                throw ConvertError.invalidFact(fact: FactKey.masks.rawValue, value: "(\(rows.count) rows of \(rows.first?.count ?? 0))",
                                               expected: "\(stepCount) rows of \(n) links (\(m.origin))")
            }
            (masks, maskDescription) = Self.meaning(rows, "\(rows.count) rows", facts.maskMeaning)
        }
        note("masks", maskDescription, m.origin)

        let sign = try Self.need(facts.translationSign, .translationSign)
        translationSign = sign.value
        note("translation_sign", sign.value == .plus ? "+1" : "-1", sign.origin)
        let xu = try Self.need(facts.xUpdate, .xUpdate, "the x update form: ncp or linear; upstream made NCP optional in this era")
        xUpdate = xu.value
        note("x_update", xu.value.rawValue, xu.origin)
        let xi = try Self.need(facts.xNetInput, .xNetInput), vi = try Self.need(facts.vNetInput, .vNetInput)
        xNetInput = xi.value; vNetInput = vi.value
        note("x_net_input", xi.value.rawValue, xi.origin); note("v_net_input", vi.value.rawValue, vi.origin)
        if xi.value == .raw {
            if let p = facts.maskPlacement, !p.origin.hasPrefix("preset") {
                throw ConvertError.conflictingFact(fact: FactKey.maskPlacement.rawValue, reason: "\(p.origin) gives it, but x_net_input is raw (\(xi.origin)), which has no mask placement")
            }
            maskPlacement = nil
        } else {
            let p = try Self.need(facts.maskPlacement, .maskPlacement, "where the mask acts on the cos/sin x input (x_net_input \(xi.value.rawValue))")
            maskPlacement = p.value
            note("mask_placement", p.value.rawValue, p.origin)
        }
        let time = try Self.need(facts.timeInput, .timeInput)
        timeInput = time.value
        note("time_input", "\(time.value)", time.origin)
        if !time.value && structure.hasTimeLayer {
            throw ConvertError.conflictingFact(fact: FactKey.timeInput.rawValue, reason: "the file has t_layer weights, but \(time.origin) says time_input false")
        }
        let act = try Self.need(facts.activation, .activation, "the hidden activation (relu, tanh, swish, linear or leaky_relu); the preset's era made it configurable, and the file has no model configuration stating it (a weights-only save)")
        activation = act.value
        note("activation", act.value.rawValue, act.origin)
        if structure.hasBatchNorm {
            let e = try Self.need(facts.batchNormEpsilon, .batchNormEpsilon, "the epsilon of the file's batch normalization (Keras's default is 0.001)")
            batchNormEpsilon = e.value
            note("batch_norm_epsilon", "\(e.value)", e.origin)
        } else {
            batchNormEpsilon = nil
        }
        note("heads", "S \(structure.scaleCoeff ? "tanh * exp(coeff)" : "tanh"), Q \(structure.transformationCoeff ? "tanh * exp(coeff)" : "tanh")", NetworkStructure.origin)
        if let w = facts.netWeights {
            if xu.value == .linear && w.value.xScale != 0 {
                throw ConvertError.conflictingFact(fact: FactKey.netWeights.rawValue, reason: "a linear x update on U(1) needs x_scale 0 (scaling then wrapping an angle is not a bijection), but \(w.origin) gives \(w.value.xScale)")
            }
            netWeights = w.value
            note("net_weights", w.value.values.map { ModelDescription.formatNumber($0) }.joined(separator: ","), w.origin)
        } else {
            var w = NetWeights.all(1)
            if xu.value == .linear { w.xScale = 0 }
            netWeights = w
            note("net_weights", w.values.map { ModelDescription.formatNumber($0) }.joined(separator: ","), "default (1; x_scale 0 with a linear x update)")
        }
        self.table = table
    }

    func sampler(structure: NetworkStructure, convStack: ConvStackSpec? = nil) throws -> SamplerSpec {
        var spec = SamplerSpec(
            target: .u1(U1Lattice(lt: lt, lx: lx, beta: beta, linkLayout: outputLinkLayout)),
            dynamics: Dynamics(nLF: nLF, xUpdate: xUpdate, translationSign: translationSign,
                               epsXParametrization: epsXParametrization, epsVParametrization: epsVParametrization),
            network: NetworkSpec(layout: structure.layout, xNetworksPerStep: structure.xNetworksPerStep, xNetInput: xNetInput, vNetInput: vNetInput,
                                 maskPlacement: maskPlacement, timeInput: timeInput, hiddenUnits: structure.hiddenUnits, activation: activation,
                                 scaleHead: structure.scaleCoeff ? .tanhExpCoeff : .tanh,
                                 transformationHead: structure.transformationCoeff ? .tanhExpCoeff : .tanh,
                                 batchNorm: batchNormEpsilon.map { BatchNormSpec(epsilon: $0) }),
            netWeights: netWeights)
        spec.network.convStack = convStack
        try SamplerRules.validate(spec)
        return spec
    }

    /// Why an array has the shape the facts give it (for shape-mismatch messages).
    func shapeReason(_ name: String, spec: SamplerSpec) -> String {
        let n = spec.stateSize
        let lattice = "n = 2 x \(lt) x \(lx) = \(n) links (lattice from \(facts.lattice?.origin ?? "?"))"
        let parts = name.split(separator: ".").map(String.init)
        if let stack = spec.network.convStack, parts.count == 5, parts[2] == "conv_stack" {
            return "the convolution stack \(stack.layers.map { "\($0.kernelSize)x\($0.kernelSize)x\($0.filters) pool \($0.pool)" }) on the \(lt)x\(lx) lattice (kernels of the file's first network, pools from conv_pool or the file's configuration), dense width \(stack.denseUnits)"
        }
        if let stack = spec.network.convStack, parts.count == 4, parts[2] == "x_layer", parts[3] == "kernel", stack.applies(toNetwork: "\(parts[0]).\(parts[1])") {
            return "rows = the convolution stack's dense width \(stack.denseUnits)"
        }
        guard parts.count == 4 else { return lattice }
        let isV = parts[0] == "vnet"
        switch (parts[2], parts[3]) {
        case ("x_layer", "kernel"):
            let enc = isV ? vNetInput : xNetInput
            let origin = (isV ? facts.vNetInput : facts.xNetInput)?.origin ?? "?"
            return "rows = width of \(isV ? "v" : "x")_net_input \(enc.rawValue) (\(origin)) for \(lattice)"
        case ("v_layer", "kernel"): return "rows = \(lattice)"
        case ("t_layer", "kernel"): return "rows = 2 (tau_k = cos, sin)"
        case ("scale", "coeff"), ("transformation", "coeff"), ("scale", "bias"), ("translation", "bias"), ("transformation", "bias"): return lattice
        case (_, "kernel") where ["scale", "translation", "transformation"].contains(parts[2]):
            return "columns = \(lattice); rows = the last hidden width \(spec.network.hiddenUnits.last ?? 0)"
        default: return "hidden widths \(spec.network.hiddenUnits) read from the file's kernels"
        }
    }

    /// The fact that decides whether an array belongs to the architecture.
    func factBehind(_ name: String) -> String {
        if name.contains(".t_layer.") { return FactKey.timeInput.rawValue }
        return "architecture"
    }

    /// Rows in the `.l2z` meaning: complemented when the source marks the half the first x
    /// update keeps (`kept_first`), with the description the report prints.
    static func meaning(_ rows: [[UInt8]], _ what: String, _ meaning: Sourced<MaskMeaning>?) -> ([[UInt8]], String) {
        guard let meaning, meaning.value == .keptFirst else { return (rows, what) }
        return (rows.map { $0.map { 1 - $0 } }, "\(what), inverted (1 = kept by the first x update, \(meaning.origin))")
    }

    /// A [nLF, n] 0/1 mask array from a `.npy` file (any integer, bool or float dtype).
    static func readMasks(_ path: String, nLF: Int, n: Int) throws -> [[UInt8]] {
        let array: NDArray
        do { array = try NpyCodec.decode(try AtomicFile.read(path, limit: 1 << 30), name: path, limits: ReadLimits()) } catch {
            throw ConvertError.invalidFact(fact: FactKey.masks.rawValue, value: path, expected: "a readable .npy file (\(error))")
        }
        // [n_lf, 1, n] is what stacking upstream PyTorch's (1, n) mask rows gives.
        guard array.shape == [nLF, n] || array.shape == [nLF, 1, n] else {
            throw ConvertError.invalidFact(fact: FactKey.masks.rawValue, value: path, expected: "an array of shape [\(nLF), \(n)] (n_lf, links) or [\(nLF), 1, \(n)], found \(array.shape)")
        }
        let v = array.doubles()
        guard v.allSatisfy({ $0 == 0 || $0 == 1 }) else {
            throw ConvertError.invalidFact(fact: FactKey.masks.rawValue, value: path, expected: "0/1 values only")
        }
        return (0..<nLF).map { k in (0..<n).map { v[k * n + $0] == 1 ? 1 : 0 } }
    }
}
