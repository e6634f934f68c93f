import Foundation
import ModelFormat

/// A value and where it came from (`preset tf2-functional-2021`, `config side.json`,
/// `--lattice`, `the file`), printed next to each fact by `--dry-run`.
public struct Sourced<T: Equatable & Sendable>: Equatable, Sendable {
    public var value: T
    public var origin: String
    public init(_ value: T, _ origin: String) { self.value = value; self.origin = origin }
}

/// Where the masks come from.
public enum MaskSource: Equatable, Sendable {
    /// A named rule of ``MaskRule``.
    case rule(MaskRule)
    /// A `.npy` file holding [n_lf, n] 0/1 values (uint8, bool, integer or float).
    case file(String)
    /// Rows the source file states itself (the metadata of an exported safetensors file), in the
    /// meaning given by the `mask_meaning` fact.
    case rows([[UInt8]])
}

/// What a row of a masks file (or rule) means.
public enum MaskMeaning: String, CaseIterable, Sendable {
    /// 1 marks the links the FIRST x update of the step changes (the `.l2z` meaning).
    case changedFirst = "changed_first"
    /// 1 marks the links the first x update KEEPS (its conditioning half); the others change.
    /// The upstream PyTorch code's `dynamics.masks` have this meaning.
    case keptFirst = "kept_first"
}

/// How a stored head coefficient c multiplies the squashed S and Q heads.
public enum HeadCoefficient: String, CaseIterable, Sendable {
    /// exp(c) tanh(...): the `.l2z` meaning (upstream PyTorch from 2022-12-13 on).
    case exp
    /// c tanh(...) (upstream PyTorch 2022-08-14 .. 2022-12-12): converted exactly into the exp
    /// form by ``HeadCoefficientFold``.
    case linear
}

/// The conventions a Keras file does not carry (docs/CONVERT.md, "Facts"). Every field is
/// optional; presets, a `--config` sidecar and flags fill them in that order (later wins).
public struct Facts: Equatable, Sendable {
    public var lattice: Sourced<[Int]>?
    public var beta: Sourced<Double>?
    /// Link flattening of the source's arrays.
    public var linkLayout: Sourced<LinkLayout>?
    public var nLF: Sourced<Int>?
    public var epsX: Sourced<[Double]>?
    public var epsV: Sourced<[Double]>?
    public var epsXParametrization: Sourced<StepSizeParametrization>?
    public var epsVParametrization: Sourced<StepSizeParametrization>?
    public var masks: Sourced<MaskSource>?
    public var translationSign: Sourced<TranslationSign>?
    public var xUpdate: Sourced<XUpdateForm>?
    public var xNetInput: Sourced<InputEncoding>?
    public var vNetInput: Sourced<InputEncoding>?
    public var maskPlacement: Sourced<MaskPlacement>?
    public var timeInput: Sourced<Bool>?
    public var activation: Sourced<Activation>?
    public var batchNormEpsilon: Sourced<Double>?
    public var netWeights: Sourced<NetWeights>?
    public var layout: Sourced<NetworkLayout>?
    public var xNetworksPerStep: Sourced<Int>?
    /// Checked against the file (the widths are read from the kernels).
    public var hiddenUnits: Sourced<[Int]>?
    /// Meaning of the masks' rows (absent: `changed_first`).
    public var maskMeaning: Sourced<MaskMeaning>?
    /// Form of stored head coefficients (absent: `exp`).
    public var headCoefficient: Sourced<HeadCoefficient>?
    /// Upstream TensorFlow's `conv.pool` list (one entry per convolution; the pool follows
    /// convolution j when j + 1 is even, with size entry j): only for files with a
    /// convolution stack, whose weights do not carry it.
    public var convPool: Sourced<[Int]>?
    /// The interval a flow source represents angles in (U(1) flows only; the map is the same
    /// modulo 2 pi, the manifest records it).
    public var angleConvention: Sourced<AngleConvention>?
    /// A flow's mixture components and kernel size: read from the tensors' shapes, a given value
    /// is checked against them (U(1) flows only).
    public var nMix: Sourced<Int>?
    public var kernelSize: Sourced<Int>?

    public init() {}

    /// `other`'s facts replace these where given.
    public func overlaid(with other: Facts) -> Facts {
        var r = self
        func pick<T>(_ a: Sourced<T>?, _ b: Sourced<T>?) -> Sourced<T>? { b ?? a }
        r.lattice = pick(lattice, other.lattice); r.beta = pick(beta, other.beta); r.linkLayout = pick(linkLayout, other.linkLayout)
        r.nLF = pick(nLF, other.nLF); r.epsX = pick(epsX, other.epsX); r.epsV = pick(epsV, other.epsV)
        r.epsXParametrization = pick(epsXParametrization, other.epsXParametrization)
        r.epsVParametrization = pick(epsVParametrization, other.epsVParametrization)
        r.masks = pick(masks, other.masks); r.translationSign = pick(translationSign, other.translationSign)
        r.xUpdate = pick(xUpdate, other.xUpdate); r.xNetInput = pick(xNetInput, other.xNetInput); r.vNetInput = pick(vNetInput, other.vNetInput)
        r.maskPlacement = pick(maskPlacement, other.maskPlacement); r.timeInput = pick(timeInput, other.timeInput)
        r.activation = pick(activation, other.activation); r.batchNormEpsilon = pick(batchNormEpsilon, other.batchNormEpsilon)
        r.netWeights = pick(netWeights, other.netWeights); r.layout = pick(layout, other.layout)
        r.xNetworksPerStep = pick(xNetworksPerStep, other.xNetworksPerStep); r.hiddenUnits = pick(hiddenUnits, other.hiddenUnits)
        r.maskMeaning = pick(maskMeaning, other.maskMeaning); r.headCoefficient = pick(headCoefficient, other.headCoefficient)
        r.convPool = pick(convPool, other.convPool); r.angleConvention = pick(angleConvention, other.angleConvention)
        r.nMix = pick(nMix, other.nMix); r.kernelSize = pick(kernelSize, other.kernelSize)
        return r
    }

    /// Names of the facts that are set (for refusing them where the file carries everything).
    public var givenKeys: [String] {
        var keys: [String] = []
        func note<T>(_ f: Sourced<T>?, _ key: FactKey) { if f != nil { keys.append(key.rawValue) } }
        note(lattice, .lattice); note(beta, .beta); note(linkLayout, .linkLayout); note(nLF, .nLF); note(epsX, .epsX); note(epsV, .epsV)
        note(epsXParametrization, .epsXParametrization); note(epsVParametrization, .epsVParametrization); note(masks, .masks)
        note(translationSign, .translationSign); note(xUpdate, .xUpdate); note(xNetInput, .xNetInput); note(vNetInput, .vNetInput)
        note(maskPlacement, .maskPlacement); note(timeInput, .timeInput); note(activation, .activation)
        note(batchNormEpsilon, .batchNormEpsilon); note(netWeights, .netWeights); note(layout, .layout)
        note(xNetworksPerStep, .xNetworksPerStep); note(hiddenUnits, .hiddenUnits)
        note(maskMeaning, .maskMeaning); note(headCoefficient, .headCoefficient); note(convPool, .convPool)
        note(angleConvention, .angleConvention); note(nMix, .nMix); note(kernelSize, .kernelSize)
        return keys
    }

    /// Sets one fact from its text form (flags and sidecar values share these parsers).
    public mutating func set(_ key: FactKey, text: String, origin: String, relativeTo directory: String? = nil) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        func bad(_ expected: String) -> ConvertError { .invalidFact(fact: key.rawValue, value: text, expected: expected) }
        func choice<E: RawRepresentable & CaseIterable>(_: E.Type) throws -> E where E.RawValue == String {
            guard let v = E(rawValue: t) else { throw bad("one of " + E.allCases.map(\.rawValue).joined(separator: ", ")) }
            return v
        }
        func positive(_ s: Substring) -> Double? { Double(s.trimmingCharacters(in: .whitespaces)).flatMap { $0 > 0 && $0.isFinite ? $0 : nil } }
        switch key {
        case .lattice:
            guard let size = LatticeSize(parsing: t), size.isWithinLimits else { throw bad("LTxLX, e.g. 8x8 (each 1..\(LatticeSize.maxSide))") }
            lattice = Sourced([size.lt, size.lx], origin)
        case .beta:
            guard let b = positive(Substring(t)) else { throw bad("a number > 0") }
            beta = Sourced(b, origin)
        case .linkLayout: linkLayout = Sourced(try choice(LinkLayout.self), origin)
        case .nLF:
            guard let n = Int(t), (1...4096).contains(n) else { throw bad("an integer 1..4096") }
            nLF = Sourced(n, origin)
        case .eps, .epsX, .epsV:
            let parts = t.split(separator: ",")
            let values = parts.compactMap { positive($0) }
            guard !values.isEmpty, values.count == parts.count else { throw bad("one step size > 0, or one per leapfrog step, comma separated") }
            let v = Sourced(values, origin)
            if key != .epsV { epsX = v }
            if key != .epsX { epsV = v }
        case .epsXParametrization: epsXParametrization = Sourced(try choice(StepSizeParametrization.self), origin)
        case .epsVParametrization: epsVParametrization = Sourced(try choice(StepSizeParametrization.self), origin)
        case .masks:
            if let rule = MaskRule(rawValue: t) {
                masks = Sourced(.rule(rule), origin)
            } else if t.hasSuffix(".npy") {
                let path = t.hasPrefix("/") ? t : directory.map { $0 + "/" + t } ?? t
                masks = Sourced(.file(path), origin)
            } else {
                throw bad("a rule (" + MaskRule.allCases.map(\.rawValue).joined(separator: ", ") + ") or a .npy file")
            }
        case .translationSign:
            switch t {
            case "1", "+1", "+", "plus": translationSign = Sourced(.plus, origin)
            case "-1", "-", "minus": translationSign = Sourced(.minus, origin)
            default: throw bad("+1 or -1")
            }
        case .xUpdate: xUpdate = Sourced(try choice(XUpdateForm.self), origin)
        case .xNetInput: xNetInput = Sourced(try choice(InputEncoding.self), origin)
        case .vNetInput: vNetInput = Sourced(try choice(InputEncoding.self), origin)
        case .maskPlacement: maskPlacement = Sourced(try choice(MaskPlacement.self), origin)
        case .timeInput:
            switch t.lowercased() {
            case "true", "yes", "on", "1": timeInput = Sourced(true, origin)
            case "false", "no", "off", "0": timeInput = Sourced(false, origin)
            default: throw bad("true or false")
            }
        case .activation: activation = Sourced(try choice(Activation.self), origin)
        case .batchNormEpsilon:
            guard let e = positive(Substring(t)) else { throw bad("a number > 0 (Keras's default is 0.001)") }
            batchNormEpsilon = Sourced(e, origin)
        case .netWeights:
            let parts = t.split(separator: ",")
            let values = parts.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }.filter(\.isFinite)
            guard parts.count == 6, values.count == 6 else {
                throw bad("six numbers: x_scale, x_translation, x_transformation, v_scale, v_translation, v_transformation")
            }
            netWeights = Sourced(NetWeights(values: values), origin)
        case .layout: layout = Sourced(try choice(NetworkLayout.self), origin)
        case .xNetworksPerStep:
            guard let n = Int(t), n == 1 || n == 2 else { throw bad("1 or 2") }
            xNetworksPerStep = Sourced(n, origin)
        case .hiddenUnits:
            let parts = t.split(separator: ",")
            let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 >= 1 }
            guard !values.isEmpty, values.count == parts.count else { throw bad("widths >= 1, comma separated") }
            hiddenUnits = Sourced(values, origin)
        case .maskMeaning: maskMeaning = Sourced(try choice(MaskMeaning.self), origin)
        case .headCoefficient: headCoefficient = Sourced(try choice(HeadCoefficient.self), origin)
        case .convPool:
            let parts = t.split(separator: ",", omittingEmptySubsequences: false)
            let values = parts.compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.filter { (1...64).contains($0) }
            guard !values.isEmpty, values.count == parts.count, values.count <= 64 else { throw bad("pool sizes 1..64, one per convolution, comma separated (upstream's conv.pool)") }
            convPool = Sourced(values, origin)
        case .angleConvention: angleConvention = Sourced(try choice(AngleConvention.self), origin)
        case .nMix:
            guard let n = Int(t), (1...64).contains(n) else { throw bad("an integer 1..64") }
            nMix = Sourced(n, origin)
        case .kernelSize:
            guard let k = Int(t), (1...31).contains(k), k % 2 == 1 else { throw bad("an odd integer 1..31") }
            kernelSize = Sourced(k, origin)
        }
    }
}

/// Fact names: the sidecar's JSON keys and, with `-` for `_`, the flags (`eps_x` is `--eps-x`).
public enum FactKey: String, CaseIterable, Sendable {
    case lattice, beta
    case linkLayout = "link_layout"
    case nLF = "n_lf"
    case eps
    case epsX = "eps_x"
    case epsV = "eps_v"
    case epsXParametrization = "eps_x_parametrization"
    case epsVParametrization = "eps_v_parametrization"
    case masks
    case translationSign = "translation_sign"
    case xUpdate = "x_update"
    case xNetInput = "x_net_input"
    case vNetInput = "v_net_input"
    case maskPlacement = "mask_placement"
    case timeInput = "time_input"
    case activation
    case batchNormEpsilon = "batch_norm_epsilon"
    case netWeights = "net_weights"
    case layout
    case xNetworksPerStep = "x_networks_per_step"
    case hiddenUnits = "hidden_units"
    case maskMeaning = "mask_meaning"
    case headCoefficient = "head_coefficient"
    case convPool = "conv_pool"
    case angleConvention = "angle_convention"
    case nMix = "n_mix"
    case kernelSize = "kernel_size"

    /// The command-line flag giving this fact.
    /// The command-line spelling: the name with `-` for `_`, except `--nlf` (one spelling across the tools; `--n-lf` is a hidden alias).
    public var flag: String { self == .nLF ? "--nlf" : "--" + rawValue.replacingOccurrences(of: "_", with: "-") }

    /// What the fact is, for messages.
    public var meaning: String {
        switch self {
        case .lattice: return "the U(1) lattice extents LTxLX"
        case .beta: return "the coupling beta of the Wilson action"
        case .linkLayout: return "how the source flattens links: t_x_mu or mu_t_x"
        case .nLF: return "the number of leapfrog steps"
        case .eps: return "the step sizes of x and v updates"
        case .epsX: return "the x step sizes (one, or one per step)"
        case .epsV: return "the v step sizes (one, or one per step)"
        case .epsXParametrization: return "how stored x step sizes become step sizes: raw or eps_over_one_plus_eps"
        case .epsVParametrization: return "how stored v step sizes become step sizes: raw or eps_over_one_plus_eps"
        case .masks: return "which links the first x update of each step changes"
        case .translationSign: return "the sign of T in the v update"
        case .xUpdate: return "the x update form: ncp or linear"
        case .xNetInput: return "the encoding of x entering x-networks"
        case .vNetInput: return "the encoding of x entering v-networks"
        case .maskPlacement: return "where the mask acts on cos/sin inputs: before_trig or after_trig"
        case .timeInput: return "whether tau_k enters the networks through t_layer"
        case .activation: return "the hidden activation"
        case .batchNormEpsilon: return "the epsilon of the batch normalization"
        case .netWeights: return "the six net weights"
        case .layout: return "shared or per_step networks"
        case .xNetworksPerStep: return "x-networks per step (1 or 2)"
        case .hiddenUnits: return "the hidden widths"
        case .maskMeaning: return "what a 1 in a masks row means: changed_first (the .l2z meaning) or kept_first (upstream PyTorch)"
        case .headCoefficient: return "how a stored head coefficient c multiplies tanh: exp (exp(c)) or linear (c)"
        case .nMix: return "the mixture components of a U(1) flow's plaquette transform (checked against the last convolution's n_mix + 1 outputs)"
        case .kernelSize: return "the convolution kernel size of a U(1) flow (checked against the kernels)"
        case .angleConvention: return "the interval a U(1) flow source represents angles in: zero_to_two_pi (the 2021 tutorial) or minus_pi_to_pi (fthmc)"
        case .convPool: return "the max-pool sizes of the convolution stack, upstream's conv.pool (one per convolution; TensorFlow pools after convolutions 1, 3, ... with that convolution's entry)"
        }
    }
}

extension Facts {
    /// Reads a `--config` sidecar: one JSON object whose keys are ``FactKey`` names plus an
    /// optional `"preset"`. Values are JSON strings, numbers, booleans or arrays of numbers
    /// (`"lattice": "8x8"` or `[8, 8]`); unknown keys are refused. A relative masks path is
    /// resolved against the sidecar's directory.
    public static func sidecar(path: String) throws -> (facts: Facts, preset: String?) {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path, limit: 1 << 20) } catch {
            throw ConvertError.invalidFact(fact: "config", value: path, expected: "a readable JSON file of at most 1 MiB (\(error))")
        }
        let json: JSONValue
        do { json = try StrictJSONParser.parse(bytes) } catch {
            throw ConvertError.invalidFact(fact: "config", value: path, expected: "strict JSON (\(error))")
        }
        guard case let .object(object) = json else { throw ConvertError.invalidFact(fact: "config", value: path, expected: "a JSON object") }
        var facts = Facts()
        var preset: String?
        let origin = "config \(URL(fileURLWithPath: path).lastPathComponent)"
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            if key == "preset" {
                guard case let .string(p) = value else { throw ConvertError.invalidFact(fact: "preset", value: "\(value)", expected: "a string") }
                preset = p
                continue
            }
            guard let fact = FactKey(rawValue: key) else {
                throw ConvertError.invalidFact(fact: key, value: "(in \(path))", expected: "a known key: preset, " + FactKey.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let text: String
            switch value {
            case let .string(s): text = s
            case let .bool(b): text = b ? "true" : "false"
            case let .int(i): text = String(i)
            case let .double(d): text = "\(d)"
            case let .array(items):
                text = try items.map { item -> String in
                    switch item {
                    case let .int(i): return String(i)
                    case let .double(d): return "\(d)"
                    default: throw ConvertError.invalidFact(fact: key, value: "\(value)", expected: "an array of numbers")
                    }
                }.joined(separator: fact == .lattice ? "x" : ",")
            default:
                throw ConvertError.invalidFact(fact: key, value: "\(value)", expected: "a string, number, boolean or array of numbers")
            }
            try facts.set(fact, text: text, origin: origin, relativeTo: directory)
        }
        return (facts, preset)
    }
}
