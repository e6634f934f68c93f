import ModelFormat

/// What a Keras file states about itself in its model configuration (`model_config` root
/// attribute of a `model.save` `.h5`, `config.json` of a `.keras` archive): the hidden
/// activation, the batch-norm epsilon and the units of every Dense layer.
///
/// Contract:
/// - The hidden activation is read from `Activation` layers (tf-keras `TFOpLambda` `nn.relu`,
///   `nn.swish`, ... and `ReLU` layers too) and from Dense layers the naming maps to a hidden
///   layer; all must agree (the format has one activation) and be one the format has (Keras
///   `silu` is `swish`), otherwise the file is refused (`convert.unsupported_source`). Keras's
///   leaky ReLU (the `leaky_relu` activation and `tf.nn.leaky_relu`, slope 0.2; `LeakyReLU`
///   layers, default 0.3) is refused too: the format's `leaky_relu` is PyTorch's (slope 0.01).
/// - The batch-norm epsilon is every `BatchNormalization` layer's `epsilon`; all must agree.
/// - ``apply(to:)``: a fact the file states wins where no preset, sidecar or flag gives it (origin
///   "the file (model_config)"); a given fact that differs is `convert.conflicting_fact`, naming
///   both values, whether it came from a preset or a flag.
/// - ``checkUnits(_:)``: a Dense layer's `units` must equal its kernel's columns in the file.
/// - The convolution stack (2022 naming `{net}{k}_Conv2D-{j}`): per network, in the
///   configuration's layer order, each Conv2D's activation (a named one joins the hidden
///   activation's agreement check; `linear` means none) and the size of a MaxPooling2D that
///   follows it before the next Conv2D (``convStacks``). Only what the format can hold is
///   accepted: square kernels, `valid` padding, stride and dilation 1, a bias, channels last;
///   square pools with stride = pool and `valid` padding, each after a convolution; and an
///   activation on the `_DenseOutput` layer; a `PeriodicPadding` layer (upstream's class) before
///   a Conv2D must pad by k - 1. Anything else is `convert.unsupported_source`.
/// - Files without a configuration (weights-only saves) state nothing.
struct StatedFacts {
    /// Value and the layer that states it (for messages).
    var activation: (value: Activation, evidence: String)?
    var batchNormEpsilon: (value: Double, evidence: String)?
    /// (sub-model, layer name, units) of every Dense layer.
    var denseUnits: [(model: String, layer: String, units: Int)] = []
    /// One convolution of a stack as the configuration states it.
    struct StatedConv: Equatable {
        /// Whether the network's activation follows the convolution (false: `linear`).
        var activation: Bool
        /// The max-pool that follows it (1: none).
        var pool: Int
    }
    /// Network (`xnet_first.0`) -> convolution index -> what the configuration states.
    var convStacks: [String: [Int: StatedConv]] = [:]
    /// Network -> the convolution last seen in its sub-model (a MaxPooling2D pools its output).
    private var lastConv: [String: Int] = [:]
    /// Sub-model -> the `size` of a `PeriodicPadding` layer (upstream's custom class) waiting
    /// for the Conv2D it pads for.
    private var pendingPadding: [String: (size: Int, layer: String)] = [:]
    /// `model_config` or `config.json`.
    let origin: String

    /// Largest configuration read, in bytes (a Keras config is one or two kilobytes per layer:
    /// 16 MiB is some ten thousand layers).
    static let maxConfigBytes = 16 << 20

    init(origin: String) { self.origin = origin }

    /// Parses a Keras model configuration (JSON text).
    static func parse(_ text: [UInt8], origin: String, path: String) throws -> StatedFacts {
        var limits = StrictJSONParser.Limits()
        limits.maxBytes = maxConfigBytes
        limits.maxDepth = 96
        limits.maxStringBytes = 1 << 20
        let json: JSONValue
        do { json = try StrictJSONParser.parse(text, limits: limits) } catch {
            throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) (the model's own description) is not readable JSON: \(error)")
        }
        var stated = StatedFacts(origin: origin)
        var activations: [(Activation, String)] = []
        var epsilons: [(Double, String)] = []
        try stated.walk(json, model: "", activations: &activations, epsilons: &epsilons, path: path, depth: 0)

        if let first = activations.first {
            if let other = activations.first(where: { $0.0 != first.0 }) {
                throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) states different hidden activations, \(first.0.rawValue) (\(first.1)) and \(other.0.rawValue) (\(other.1)); the format has one activation")
            }
            stated.activation = (first.0, first.1)
        }
        if let first = epsilons.first {
            if let other = epsilons.first(where: { $0.0 != first.0 }) {
                throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) states different batch-norm epsilons, \(first.0) (\(first.1)) and \(other.0) (\(other.1)); the format has one")
            }
            stated.batchNormEpsilon = (first.0, first.1)
        }
        return stated
    }

    /// Collects layers: `{"class_name": ..., "config": {...}}`, nested models through `config.layers`.
    private mutating func walk(_ value: JSONValue, model: String, activations: inout [(Activation, String)],
                               epsilons: inout [(Double, String)], path: String, depth: Int) throws {
        guard depth < 64, case let .object(object) = value, case let .object(config)? = object["config"] else { return }
        let className: String
        if case let .string(c)? = object["class_name"] { className = c } else { className = "" }
        let name: String
        if case let .string(n)? = config["name"] { name = n } else { name = "" }
        if case let .array(layers)? = config["layers"] {
            for layer in layers {
                try walk(layer, model: name, activations: &activations, epsilons: &epsilons, path: path, depth: depth + 1)
            }
            return
        }
        let where_ = model.isEmpty ? name : "\(model)/\(name)"
        switch className {
        case "Dense":
            if case let .int(u)? = config["units"] { denseUnits.append((model, name, Int(u))) }
            if case let .string(a)? = config["activation"], !a.isEmpty, let ref = hiddenLayer(model: model, layer: name) {
                activations.append((try Self.activation(a, layer: where_, path: path, origin: origin), "\(where_), \(ref)"))
            }
            if let r = Self.convRef(model: model, layer: name), r.layer == .convStackDense {
                guard case let .string(a)? = config["activation"], a != "linear", !a.isEmpty else {
                    throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) gives the convolution stack's dense layer \(where_) no activation; the format's conv_stack always applies the network's activation after it")
                }
                activations.append((try Self.activation(a, layer: where_, path: path, origin: origin), "\(where_), the convolution stack's dense layer"))
            }
        case "Conv2D":
            try conv2D(config, model: model, name: name, where_: where_, activations: &activations, path: path)
        case "MaxPooling2D":
            try maxPooling(config, model: model, where_: where_, path: path)
        case "PeriodicPadding":
            if case let .int(size)? = config["size"] { pendingPadding[model] = (Int(size), where_) }
        case "Activation":
            guard case let .string(a)? = config["activation"] else {
                throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) gives layer \(where_) an activation that is not a named Keras activation")
            }
            activations.append((try Self.activation(a, layer: where_, path: path, origin: origin), where_))
        case "ReLU":
            activations.append((.relu, where_))
        case "LeakyReLU":
            let slope = [config["negative_slope"], config["alpha"]].lazy.compactMap { v -> String? in
                switch v { case let .double(d)?: return "\(d)"; case let .int(i)?: return "\(i)"; default: return nil }
            }.first
            throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) gives layer \(where_) a Keras LeakyReLU layer (negative slope \(slope ?? "unstated, Keras's default 0.3")); \(Self.kerasLeakyReason)")
        case "TFOpLambda":
            if case let .string(f)? = config["function"], f == "nn.leaky_relu" {
                throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) gives layer \(where_) tf.nn.leaky_relu (default negative slope 0.2); \(Self.kerasLeakyReason)")
            }
            if case let .string(f)? = config["function"], let a = Self.tfFunctions[f] { activations.append((a, "\(where_) (\(f))")) }
        case "BatchNormalization":
            switch config["epsilon"] {
            case let .double(e)?: epsilons.append((e, where_))
            case let .int(e)?: epsilons.append((Double(e), where_))
            default: break
            }
        default:
            break
        }
    }

    /// A Conv2D of a convolution stack: only the form the format holds.
    private mutating func conv2D(_ config: [String: JSONValue], model: String, name: String, where_: String,
                                 activations: inout [(Activation, String)], path: String) throws {
        func refuse(_ what: String) -> ConvertError {
            .unsupportedSource(path: path, reason: "its \(origin) gives the Conv2D layer \(where_) \(what); the format's conv_stack holds square kernels with valid padding (after periodic padding), stride 1, dilation 1, a bias and channels-last data")
        }
        guard let r = Self.convRef(model: model, layer: name), case let .convStack(j) = r.layer else {
            throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) has a Conv2D layer \(where_) that is not named {net}{k}_Conv2D-{j}, the 2022 naming of the convolution stack")
        }
        let k = Self.pair(config["kernel_size"])
        guard let k, k.0 == k.1 else { throw refuse("kernel_size \(config["kernel_size"].map { "\($0)" } ?? "(none)")") }
        if case let .string(p)? = config["padding"], p != "valid" { throw refuse("padding \"\(p)\"") }
        if let s = Self.pair(config["strides"]), s != (1, 1) { throw refuse("strides \(s)") }
        if let d = Self.pair(config["dilation_rate"]), d != (1, 1) { throw refuse("dilation_rate \(d)") }
        if case let .bool(b)? = config["use_bias"], !b { throw refuse("no bias") }
        if case let .string(f)? = config["data_format"], f != "channels_last" { throw refuse("data_format \"\(f)\"") }
        if case let .int(g)? = config["groups"], g != 1 { throw refuse("groups \(g)") }
        if let pad = pendingPadding.removeValue(forKey: model), pad.size != k.0 - 1 {
            throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) pads by \(pad.size) (\(pad.layer)) before the \(k.0) x \(k.0) Conv2D \(where_); the format's conv_stack pads by k - 1 = \(k.0 - 1)")
        }
        var act = false
        if case let .string(a)? = config["activation"], a != "linear", !a.isEmpty {
            activations.append((try Self.activation(a, layer: where_, path: path, origin: origin), "\(where_), a convolution"))
            act = true
        }
        convStacks[r.networkName, default: [:]][j] = StatedConv(activation: act, pool: 1)
        lastConv[r.networkName] = j
    }

    /// A MaxPooling2D after a Conv2D of a stack: square, stride = pool, valid padding.
    private mutating func maxPooling(_ config: [String: JSONValue], model: String, where_: String, path: String) throws {
        let p = Self.pair(config["pool_size"])
        let s = Self.pair(config["strides"])
        let padding: String
        if case let .string(v)? = config["padding"] { padding = v } else { padding = "valid" }
        guard let p, p.0 == p.1, p.0 >= 1, s == nil || s.map({ $0 == p }) == true, padding == "valid" else {
            throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) gives the MaxPooling2D layer \(where_) pool_size \(config["pool_size"].map { "\($0)" } ?? "(none)"), strides \(config["strides"].map { "\($0)" } ?? "(none)"), padding \(padding); the format's conv_stack pools square windows with stride = window and no padding")
        }
        let net = convStacks.keys.first { Self.subModel($0, is: model) }
        guard let net, let j = lastConv[net], convStacks[net]?[j]?.pool == 1 else {
            throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) has the MaxPooling2D layer \(where_) that does not follow a convolution of a stack (at most one pool after each Conv2D)")
        }
        convStacks[net]?[j]?.pool = p.0
    }

    /// The convolution-stack reference of a layer name, if it is one (2022 naming).
    static func convRef(model: String, layer: String) -> WeightRef? {
        guard let r = KerasNaming.tf2021.match("\(model)/\(layer)/kernel") ?? KerasNaming.tf2021.match("\(layer)/kernel") else { return nil }
        switch r.layer {
        case .convStack, .convStackDense: return r
        default: return nil
        }
    }

    /// Whether network `net` (`xnet_first.0`) is the one sub-model `model` (`xnet_first0`) holds.
    private static func subModel(_ net: String, is model: String) -> Bool {
        guard let r = KerasNaming.tf2021.match("\(model)_x_layer/kernel") else { return false }
        return r.networkName == net
    }

    /// `[a, b]` (or a single number, Keras's shorthand) as a pair.
    private static func pair(_ v: JSONValue?) -> (Int, Int)? {
        switch v {
        case let .array(items)?:
            guard items.count == 2, case let .int(a) = items[0], case let .int(b) = items[1] else { return nil }
            return (Int(a), Int(b))
        case let .int(a)?: return (Int(a), Int(a))
        default: return nil
        }
    }

    /// Dense layers of the hidden stack are named `{net}{k}_h{i}_layer` (2021 naming).
    private func hiddenLayer(model: String, layer: String) -> String? {
        guard let r = KerasNaming.tf2021.match("\(model)/\(layer)/kernel") ?? KerasNaming.tf2021.match("\(layer)/kernel"),
              case .hidden = r.layer else { return nil }
        return "a hidden layer"
    }

    /// tf-keras functional calls of TensorFlow ops that are activations.
    static let tfFunctions: [String: Activation] = ["nn.relu": .relu, "math.tanh": .tanh, "nn.tanh": .tanh, "nn.swish": .swish, "nn.silu": .swish]

    /// Why a Keras or TensorFlow leaky ReLU is refused rather than mapped to the format's `leaky_relu`.
    static let kerasLeakyReason = "the format's leaky_relu is PyTorch's nn.LeakyReLU() with slope 0.01, a different function from Keras's "
        + "(LeakyReLU layer default slope 0.3; the leaky_relu activation and tf.nn.leaky_relu 0.2), so a leaky ReLU in a Keras configuration is not converted"

    static func activation(_ keras: String, layer: String, path: String, origin: String) throws -> Activation {
        switch keras {
        case "relu": return .relu
        case "tanh": return .tanh
        case "swish", "silu": return .swish
        case "linear": return .linear
        case "leaky_relu":
            throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) gives layer \(layer) the activation \"leaky_relu\" (Keras's, slope 0.2); \(kerasLeakyReason)")
        default:
            throw ConvertError.unsupportedSource(path: path, reason: "its \(origin) gives layer \(layer) the activation \(keras.debugDescription), which the format does not have (relu, tanh, swish/silu, linear)")
        }
    }

    /// The facts with what the file states: taken where missing, refused where contradicted.
    func apply(to facts: Facts) throws -> Facts {
        var f = facts
        let fromFile = "the file (\(origin))"
        if let s = activation {
            if let given = facts.activation, given.value != s.value {
                throw ConvertError.conflictingFact(fact: FactKey.activation.rawValue,
                                                   reason: "the file's \(origin) states \(s.value.rawValue) (\(s.evidence)), but \(given.origin) gives \(given.value.rawValue)")
            }
            f.activation = Sourced(s.value, fromFile)
        }
        if let s = batchNormEpsilon {
            if let given = facts.batchNormEpsilon, given.value != s.value {
                throw ConvertError.conflictingFact(fact: FactKey.batchNormEpsilon.rawValue,
                                                   reason: "the file's \(origin) states \(s.value) (\(s.evidence)), but \(given.origin) gives \(given.value)")
            }
            f.batchNormEpsilon = Sourced(s.value, fromFile)
        }
        return f
    }

    /// Every Dense layer whose kernel the mapping found has as many units as kernel columns.
    func checkUnits(_ mapping: KerasMapping) throws {
        for (model, layer, units) in denseUnits {
            guard let r = mapping.naming.match("\(model)/\(layer)/kernel") ?? mapping.naming.match("\(layer)/kernel") else { continue }
            guard let (d, _) = mapping.mapped.first(where: { $0.1 == r }), d.shape.count == 2 else { continue }
            if d.shape[1] != units {
                throw ConvertError.conflictingFact(fact: "units",
                                                   reason: "the file's \(origin) says layer \(model.isEmpty ? layer : "\(model)/\(layer)") has \(units) units, but its kernel \(d.location) has shape \(d.shape)")
            }
        }
    }
}
