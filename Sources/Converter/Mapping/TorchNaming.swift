import ModelFormat

/// The upstream PyTorch L2HMC naming (saforem2/l2hmc-qcd `src/l2hmc`, from 2022-08-14 on, when
/// `scale`/`transf` became ScaledTanh modules; the keys have not changed since; the `s_coeff`
/// naming of 2022-07-22 .. 2022-08-13 is not mapped), as an alias map written as data (docs/CONVERT.md, "PyTorch L2HMC
/// checkpoints"). A state-dict key is `[networks.]<network>.<layer key>`:
///
/// - `<network>`: `xnet.{k}.first`, `xnet.{k}.second` (per-step split x-networks), `xnet.{k}`
///   (per-step, one x-network), `vnet.{k}`, or `xnet` / `vnet` (one shared pair);
/// - the same tensor is saved under `networks.<network>` and under `<network>` (the module dict
///   and the direct attributes of upstream's `Dynamics`): both are aliases of one weight;
/// - `<layer key>`: one row of ``layers`` (or `hidden_layers.{i}.weight|bias`, hidden layer i+1);
/// - `xeps.{k}`, `veps.{k}`: the stored step-size parameters (0-d), not network weights.
///
/// `nn.Linear.weight` is stored (out, in), the transpose of the canonical kernel.
public enum TorchNaming {
    /// The name used by `--naming` and in reports.
    public static let name = "torch-2023"

    /// One layer key of a `LeapfrogLayer`: the canonical layer and variable, and whether the
    /// stored tensor is the transpose of the canonical array.
    public struct LayerKey: Sendable {
        public let key: String
        public let role: LayerRole
        public let variable: String
        public let transposed: Bool
    }

    /// Every fixed layer key of a `LeapfrogLayer` (hidden layers are matched separately).
    public static let layers: [LayerKey] = [
        LayerKey(key: "input_layer.xlayer.weight", role: .xLayer, variable: "kernel", transposed: true),
        LayerKey(key: "input_layer.xlayer.bias", role: .xLayer, variable: "bias", transposed: false),
        LayerKey(key: "input_layer.vlayer.weight", role: .vLayer, variable: "kernel", transposed: true),
        LayerKey(key: "input_layer.vlayer.bias", role: .vLayer, variable: "bias", transposed: false),
        LayerKey(key: "scale.coeff", role: .scale, variable: "coeff", transposed: false),
        LayerKey(key: "scale.layer.weight", role: .scale, variable: "kernel", transposed: true),
        LayerKey(key: "scale.layer.bias", role: .scale, variable: "bias", transposed: false),
        LayerKey(key: "transf.coeff", role: .transformation, variable: "coeff", transposed: false),
        LayerKey(key: "transf.layer.weight", role: .transformation, variable: "kernel", transposed: true),
        LayerKey(key: "transf.layer.bias", role: .transformation, variable: "bias", transposed: false),
        LayerKey(key: "transl.weight", role: .translation, variable: "kernel", transposed: true),
        LayerKey(key: "transl.bias", role: .translation, variable: "bias", transposed: false),
        LayerKey(key: "batch_norm.weight", role: .batchNorm, variable: "gamma", transposed: false),
        LayerKey(key: "batch_norm.bias", role: .batchNorm, variable: "beta", transposed: false),
        LayerKey(key: "batch_norm.running_mean", role: .batchNorm, variable: "moving_mean", transposed: false),
        LayerKey(key: "batch_norm.running_var", role: .batchNorm, variable: "moving_variance", transposed: false),
    ]

    /// Layer keys that are known and not needed at inference, with the reason.
    public static let ignoredLayerKeys: [String: String] = [
        "batch_norm.num_batches_tracked": "batch-norm update counter (training state; inference uses the running statistics)",
    ]

    /// What one state-dict key is.
    public enum Match: Equatable, Sendable {
        /// A network weight; `alias` is true under the `networks.` prefix.
        case weight(WeightRef, transposed: Bool, alias: Bool)
        /// `xeps.{k}` (x = true) or `veps.{k}`.
        case stepSize(x: Bool, step: Int)
        /// Known, not needed (the reason).
        case ignored(String)
        /// `input_layer.conv_stack.layers.{index}.weight|bias` of upstream's convolution stack
        /// (``TorchConvStack`` maps it, with the run's `conv` config).
        case convStack(net: NetworkKind, step: Int?, index: Int, variable: String, alias: Bool)
    }

    /// The match of `key`, or nil when it is not this naming's.
    public static func match(_ key: String) -> Match? {
        var parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2, parts[0] == "xeps" || parts[0] == "veps", let k = index(parts[1]) {
            return .stepSize(x: parts[0] == "xeps", step: k)
        }
        var alias = false
        if parts.first == "networks" { alias = true; parts.removeFirst() }
        guard let head = parts.first, head == "xnet" || head == "vnet" else { return nil }
        // <network>: xnet|vnet [. k [. first|second]]
        var rest = Array(parts.dropFirst())
        var step: Int?
        var kind: NetworkKind = head == "xnet" ? .x : .v
        if let first = rest.first, let k = index(first) {
            step = k
            rest.removeFirst()
            if head == "xnet", let half = rest.first, half == "first" || half == "second" {
                kind = half == "first" ? .xFirst : .xSecond
                rest.removeFirst()
            }
        }
        let layerKey = rest.joined(separator: ".")
        if rest.count == 5, rest[0] == "input_layer", rest[1] == "conv_stack", rest[2] == "layers", let j = index(rest[3]),
           rest[4] == "weight" || rest[4] == "bias" {
            return .convStack(net: kind, step: step, index: j, variable: rest[4], alias: alias)
        }
        if let reason = ignoredLayerKeys[layerKey] { return .ignored(reason) }
        if let l = layers.first(where: { $0.key == layerKey }) {
            return .weight(WeightRef(net: kind, step: step, layer: l.role, variable: l.variable), transposed: l.transposed, alias: alias)
        }
        // hidden_layers.{i}.weight|bias -> hidden(i + 1)
        if rest.count == 3, rest[0] == "hidden_layers", let i = index(rest[1]), rest[2] == "weight" || rest[2] == "bias" {
            return .weight(WeightRef(net: kind, step: step, layer: .hidden(i + 1), variable: rest[2] == "weight" ? "kernel" : "bias"),
                           transposed: rest[2] == "weight", alias: alias)
        }
        return nil
    }

    /// What `path` (a state-dict key, or a checkpoint-dict path under `model_state_dict.`) is in
    /// this naming, for `inspect`: the canonical array, a step size, ignored or unsupported; nil
    /// when the key is not this naming's.
    public static func describe(_ path: String) -> String? {
        let prefix = "model_state_dict."
        let key = path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
        switch match(key) {
        case let .weight(ref, transposed, alias)?:
            return ref.canonicalName + (transposed ? " (transposed)" : "") + (alias ? " [networks. alias]" : "")
        case let .stepSize(x, k)?: return "\(x ? "eps_x" : "eps_v")[\(k)] (parameter)"
        case .ignored?: return "ignored"
        case let .convStack(net, step, j, variable, alias)?:
            return "\(net.rawValue).\(step ?? 0).conv_stack: module \(j) \(variable) (which layer: the run's conv config)" + (alias ? " [networks. alias]" : "")
        case nil: return nil
        }
    }

    /// The state-dict key (without the `networks.` alias prefix) of a canonical weight, for the
    /// export (``TorchExport``) and for "missing" messages; nil for roles this naming lacks.
    public static func key(for ref: WeightRef, layout: NetworkLayout) -> String? {
        let network: String
        switch (layout, ref.net) {
        case (.shared, .v): network = "vnet"
        case (.shared, _): network = "xnet"
        case (.perStep, .v): network = "vnet.\(ref.step ?? 0)"
        case (.perStep, .x): network = "xnet.\(ref.step ?? 0)"
        case (.perStep, .xFirst): network = "xnet.\(ref.step ?? 0).first"
        case (.perStep, .xSecond): network = "xnet.\(ref.step ?? 0).second"
        }
        if case let .hidden(i) = ref.layer {
            return "\(network).hidden_layers.\(i - 1).\(ref.variable == "kernel" ? "weight" : "bias")"
        }
        guard let l = layers.first(where: { $0.role == ref.layer && $0.variable == ref.variable }) else { return nil }
        return "\(network).\(l.key)"
    }

    /// A decimal index without sign or leading zeros, at most 4 digits.
    private static func index(_ s: String) -> Int? {
        guard !s.isEmpty, s.count <= 4, s.allSatisfy({ $0.isASCII && $0.isNumber }), s == "0" || !s.hasPrefix("0") else { return nil }
        return Int(s)
    }
}
