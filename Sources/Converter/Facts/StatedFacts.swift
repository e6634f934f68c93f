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
/// - Files without a configuration (weights-only saves) state nothing.
struct StatedFacts {
    /// Value and the layer that states it (for messages).
    var activation: (value: Activation, evidence: String)?
    var batchNormEpsilon: (value: Double, evidence: String)?
    /// (sub-model, layer name, units) of every Dense layer.
    var denseUnits: [(model: String, layer: String, units: Int)] = []
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
