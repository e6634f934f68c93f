/// The network namings of the TensorFlow L2HMC code, as alias maps from a logical weight name
/// (``SourceDataset/name``: `/`-separated, `:0` removed) to a ``WeightRef``
/// (docs/CONVERT.md, "Namings").
public enum KerasNaming: String, Sendable, CaseIterable {
    /// 2021 functional: `{net}{k}_x_layer`, `_v_layer`, `_t_layer`, `_h{i}_layer`, `_batch_norm1`,
    /// `_scale_layer`, `_transl_layer`, `_transf_layer`; `{net}` is `vnet`, `xnet`,
    /// `xnet_first`, `xnet_second`; `{k}` the step (absent for shared networks). The 2022 "HEAD"
    /// files use it too, and name the upstream convolution stack's layers `{net}{k}_Conv2D-{j}`
    /// (the j-th Conv2D) and `{net}{k}_DenseOutput` (the dense layer after its flatten).
    case tf2021
    /// September 2020: `xnet/x_layer`, `v_layer`, `t_layer`, `h_layer1`, `h_layer2`,
    /// `scale_layer/coeff` + `scale_layer/<dense>/kernel`, `transl_layer`,
    /// `transformation_layer/coeff` + `transformation_layer/<dense>/kernel`.
    case sep2020
    /// Keras 3 weights without layer names: matched by order and shape (``OrderMatching``).
    case keras3Order = "keras3-order"

    /// The reference of one logical name, or nil when it is not this naming's.
    public func match(_ name: String) -> WeightRef? {
        let parts = name.split(separator: "/").map(String.init)
        guard parts.count >= 2, let variable = parts.last else { return nil }
        switch self {
        case .tf2021: return Self.match2021(parts, variable: variable)
        case .sep2020: return Self.matchSep2020(parts, variable: variable)
        case .keras3Order: return nil
        }
    }

    /// `vnet12` -> (vnet, 12); `xnet_first` -> (xnet_first, nil); `XNet` -> (xnet, nil).
    static func network(_ s: String) -> (NetworkKind, Int?)? {
        let lower = s.lowercased()
        let digits = lower.reversed().prefix { $0.isASCII && $0.isNumber }
        let stem = String(lower.dropLast(digits.count))
        guard let kind = NetworkKind(rawValue: stem) else { return nil }
        if digits.isEmpty { return (kind, nil) }
        guard digits.count <= 4, let k = Int(String(digits.reversed())) else { return nil }
        return (kind, k)
    }

    private static func match2021(_ parts: [String], variable: String) -> WeightRef? {
        // The layer component is the one right before the variable: `vnet0_x_layer/kernel`
        // (outer model groups such as `vnet0/` in front are ignored).
        let layer = parts[parts.count - 2]
        let fixed: [(String, LayerRole)] = [("_x_layer", .xLayer), ("_v_layer", .vLayer), ("_t_layer", .tLayer),
                                            ("_scale_layer", .scale), ("_transl_layer", .translation), ("_transf_layer", .transformation)]
        var found: (String, LayerRole)?
        for (suffix, role) in fixed where layer.hasSuffix(suffix) { found = (String(layer.dropLast(suffix.count)), role) }
        if found == nil, let r = layer.range(of: "_batch_norm", options: .backwards) {
            let tail = layer[r.upperBound...]
            if tail.allSatisfy({ $0.isASCII && $0.isNumber }) { found = (String(layer[..<r.lowerBound]), .batchNorm) }
        }
        if found == nil, layer.hasSuffix("_DenseOutput") { found = (String(layer.dropLast("_DenseOutput".count)), .convStackDense) }
        if found == nil, let r = layer.range(of: "_Conv2D-", options: .backwards) {
            let digits = layer[r.upperBound...]
            if !digits.isEmpty, digits.count <= 2, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let j = Int(digits) {
                found = (String(layer[..<r.lowerBound]), .convStack(j))
            }
        }
        if found == nil, layer.hasSuffix("_layer"), let r = layer.range(of: "_h", options: .backwards) {
            let digits = layer[r.upperBound..<layer.index(layer.endIndex, offsetBy: -6)]
            if !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let i = Int(digits) {
                found = (String(layer[..<r.lowerBound]), .hidden(i + 1))
            }
        }
        guard let (prefix, role) = found, let (kind, step) = network(prefix) else { return nil }
        guard role.variables.contains(variable), variable != "coeff" else { return nil }
        return WeightRef(net: kind, step: step, layer: role, variable: variable)
    }

    private static func matchSep2020(_ parts: [String], variable: String) -> WeightRef? {
        let layers: [String: LayerRole] = ["x_layer": .xLayer, "v_layer": .vLayer, "t_layer": .tLayer,
                                           "h_layer1": .linear(1), "h_layer2": .linear(2),
                                           "scale_layer": .scale, "transl_layer": .translation, "translation_layer": .translation,
                                           "transformation_layer": .transformation, "transf_layer": .transformation]
        // The last `<net>/<layer>` pair before the variable; between the layer and the variable
        // at most one auto-named inner dense (`dense`, `dense_3`) of a ScaledTanh head.
        for j in stride(from: parts.count - 2, through: 1, by: -1) {
            guard let role = layers[parts[j]], let (kind, step) = network(parts[j - 1]) else { continue }
            let between = parts[(j + 1)..<(parts.count - 1)]
            switch (role, between.count) {
            case (_, 0):
                guard role.variables.contains(variable) else { return nil }
            case (.scale, 1), (.transformation, 1):
                guard Keras3Layers.className(ofAutoName: between.first ?? "") == "dense", variable == "kernel" || variable == "bias" else { return nil }
            default:
                return nil
            }
            return WeightRef(net: kind, step: step, layer: role, variable: variable)
        }
        return nil
    }
}

/// Keras 3 weights whose layers carry no `name` attribute: the only evidence left is the order
/// of the sub-models and of the layers inside each (Keras numbers auto names `functional`,
/// `functional_1`, ..., `dense`, `dense_1`, ... in creation order) and the shapes.
///
/// Convention (docs/CONVERT.md): the networks were created in leapfrog order (step 0: vnet,
/// then the x-network(s); then step 1, ...), and in each network the dense layers in the order
/// x_layer, v_layer, [t_layer], hidden1 ..., scale, translation, transformation; a
/// `batch_normalization` layer is the batch norm. Used only with `--match-by-order`; every shape
/// is still checked afterwards.
enum OrderMatching {
    static func match(_ datasets: [SourceDataset], networks: [WeightRef], timeInput: Bool) throws -> [String: WeightRef] {
        // Group by the sub-model component (`functional_2`); a file holding a single network has none.
        var groups: [String: [SourceDataset]] = [:]
        for d in datasets where !d.name.hasPrefix("(unreferenced)") {
            let parts = d.name.split(separator: "/").map(String.init)
            let model = parts.count >= 3 ? parts[parts.count - 3] : ""
            groups[model, default: []].append(d)
        }
        let models = groups.keys.sorted { (Keras3Layers.className(ofAutoName: $0), Keras3Layers.autoIndex($0)) < (Keras3Layers.className(ofAutoName: $1), Keras3Layers.autoIndex($1)) }
        guard models.count == networks.count else {
            throw ConvertError.shapeMismatch(source: "(the file's \(models.count) sub-models)", canonical: "(\(networks.count) networks)",
                                             expected: [networks.count], actual: [models.count],
                                             reason: "order matching pairs one Keras sub-model with each network (\(networks.map(\.networkName).joined(separator: ", "))); check layout, x_networks_per_step and n_lf")
        }
        var out: [String: WeightRef] = [:]
        for (model, net) in zip(models, networks) {
            let items = groups[model] ?? []
            func layerName(_ d: SourceDataset) -> String { let p = d.name.split(separator: "/"); return String(p[p.count - 2]) }
            let dense = Set(items.map(layerName).filter { Keras3Layers.className(ofAutoName: $0) == "dense" })
                .sorted { Keras3Layers.autoIndex($0) < Keras3Layers.autoIndex($1) }
            let norms = Set(items.map(layerName).filter { Keras3Layers.className(ofAutoName: $0) == "batch_normalization" }).sorted()
            // A convolution stack's dense layer comes first among the dense layers: the documented
            // order does not cover it, so such files need their layer names.
            if let conv = items.map(layerName).first(where: { Keras3Layers.className(ofAutoName: $0) == "conv2d" }) {
                throw ConvertError.unrecognizedNaming(reason: "sub-model \(model) has a convolution layer (\(conv)); order matching covers dense networks only, a convolution stack needs the layer names (the 2022 naming {net}{k}_Conv2D-{j}, {net}{k}_DenseOutput)")
            }
            var roles: [LayerRole] = [.xLayer, .vLayer]
            if timeInput { roles.append(.tLayer) }
            let hiddenCount = dense.count - roles.count - 3
            guard hiddenCount >= 0, norms.count <= 1 else {
                throw ConvertError.unrecognizedNaming(reason: "sub-model \(model) has \(dense.count) dense and \(norms.count) batch-norm layers, which order matching cannot assign to \(net.networkName)")
            }
            roles += (0..<hiddenCount).map { .hidden($0 + 1) }
            roles += [.scale, .translation, .transformation]
            var byLayer = Dictionary(uniqueKeysWithValues: zip(dense, roles))
            if let bn = norms.first { byLayer[bn] = .batchNorm }
            for d in items {
                guard let role = byLayer[layerName(d)] else { continue }
                let variable = d.name.split(separator: "/").last.map(String.init) ?? ""
                guard role.variables.contains(variable) else { continue }
                out[d.name] = WeightRef(net: net.net, step: net.step, layer: role, variable: variable)
            }
        }
        return out
    }
}
