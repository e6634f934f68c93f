import ModelFormat

/// Upstream PyTorch's `ConvStack` (`<net>.input_layer.conv_stack.layers.{j}.weight|bias`) ->
/// `network.conv_stack` and the arrays `NET.conv_stack.*` (docs/FORMAT.md section 5.6;
/// docs/CONVERT.md, "Convolution stack").
///
/// The state dict holds only the Conv2d and Linear entries of upstream's module list; which list
/// index is which layer, the pools and the activations follow from the run's `conv` config
/// (filters, sizes, pool): Pad, Conv (no activation after the first conv), then for each later
/// (f, n) at loop index i: Pad, Conv, MaxPool2d(pool[i]) when i + 1 is even, activation; then
/// Flatten, Linear(F, D), activation. Every tensor's index and shape is checked against that
/// list (`convert.shape_mismatch` naming the tensor); a tensor at another index is refused.
///
/// Conv2d weights (f_out, f_in, k, k) become kernels [k, k, f_in, f_out] (a along t, b along x);
/// the Linear weight (D, F) becomes [F, D] (rows in PyTorch's channel-major flatten order, as the
/// format's). Values keep their element type.
enum TorchConvStack {
    /// The run's `conv` config: filters, sizes and pools (upstream's defaults filled in).
    struct Config: Equatable {
        var filters: [Int], sizes: [Int], pool: [Int]
        var origin: String
    }

    /// One conv-stack tensor of one network.
    struct Key: Hashable {
        let net: NetworkKind
        let step: Int?
        let index: Int
        /// `weight` or `bias`.
        let variable: String
        var networkName: String { "\(net.rawValue).\(step ?? 0)" }
    }

    /// Module-list indices of the convolutions and of the Linear layer for `count` filters.
    static func indices(count: Int) -> (convs: [Int], dense: Int) {
        var convs = [1]
        var next = 2
        for i in 0..<max(0, count - 1) {
            convs.append(next + 1)                 // Pad, Conv
            next += 2
            if (i + 1) % 2 == 0 { next += 1 }      // MaxPool2d(pool[i])
            next += 1                              // activation
        }
        return (convs, next + 1)                   // Flatten, Linear
    }

    /// The format's layers for a config (`dense`: D, read from the Linear weight).
    static func spec(_ c: Config, dense: Int, appliesTo: ConvStackSpec.AppliesTo) throws -> ConvStackSpec {
        guard !c.filters.isEmpty, c.sizes.count == c.filters.count, c.pool.count == c.filters.count else {
            throw ConvertError.invalidFact(fact: "conv", value: "filters \(c.filters), sizes \(c.sizes), pool \(c.pool) (\(c.origin))",
                                           expected: "as many sizes and pools as filters (upstream's ConvolutionConfig asserts it)")
        }
        if let k = c.sizes.first(where: { $0 == 1 }) {
            throw ConvertError.unsupportedSource(path: c.origin, reason: "its conv sizes include \(k): upstream's PeriodicPadding(0) slices x[-0:], the whole image, and so triples it instead of not padding; the format's stack pads by k - 1 = 0")
        }
        var layers = [ConvStackSpec.Layer(filters: c.filters[0], kernelSize: c.sizes[0], pool: 1, activation: false)]
        for i in 0..<(c.filters.count - 1) {
            layers.append(ConvStackSpec.Layer(filters: c.filters[i + 1], kernelSize: c.sizes[i + 1], pool: (i + 1) % 2 == 0 ? c.pool[i] : 1, activation: true))
        }
        return ConvStackSpec(appliesTo: appliesTo, layers: layers, poolOrder: .poolThenActivation, denseUnits: dense)
    }

    /// Which networks carry the stack, from the tensors: every x-network must; the v-networks all
    /// (2023-02-08 on) or none (before).
    static func appliesTo(_ keys: Set<Key>, networks: [String]) throws -> ConvStackSpec.AppliesTo {
        let carrying = Set(keys.map(\.networkName))
        let xNets = networks.filter { !$0.hasPrefix("vnet") }, vNets = networks.filter { $0.hasPrefix("vnet") }
        if let missing = xNets.first(where: { !carrying.contains($0) }) {
            throw ConvertError.missingArray(canonical: "\(missing).conv_stack.*", expectedSource: "input_layer.conv_stack tensors of \(missing) (other networks have a convolution stack; upstream gives every x-network one)")
        }
        let withStack = vNets.filter { carrying.contains($0) }
        if withStack.isEmpty { return .xNetworks }
        if withStack.count == vNets.count { return .xAndVNetworks }
        let without = vNets.first { !carrying.contains($0) } ?? ""
        throw ConvertError.missingArray(canonical: "\(without).conv_stack.*", expectedSource: "input_layer.conv_stack tensors of \(without) (\(withStack[0]) has a convolution stack: upstream gives all v-networks one or none)")
    }

    /// The canonical arrays of every network that carries the stack, checked against the config's
    /// layer list and the shapes the format derives for the lattice.
    static func arrays(_ tensors: [Key: (entry: TensorFileSource.TensorEntry, dataset: SourceDataset)], stack: ConvStackSpec, spec: SamplerSpec,
                       source: TensorFileSource, config: Config) throws -> (arrays: [String: NDArray], rows: [MappingRow]) {
        guard case let .u1(lattice) = spec.target else { return ([:], []) }
        let idx = indices(count: stack.layers.count)
        let known = Set(idx.convs + [idx.dense])
        if let stray = tensors.keys.sorted(by: { ($0.networkName, $0.index) < ($1.networkName, $1.index) }).first(where: { !known.contains($0.index) }) {
            let e = tensors[stray]?.entry.location ?? "\(stray.networkName) layers.\(stray.index)"
            throw ConvertError.shapeMismatch(source: e, canonical: "\(stray.networkName).conv_stack", expected: idx.convs + [idx.dense], actual: [stray.index],
                                             reason: "with conv filters \(config.filters) (\(config.origin)) upstream's module list has Conv2d at \(idx.convs) and the Linear at \(idx.dense); layers.\(stray.index) is not one of them")
        }
        var out: [String: NDArray] = [:]
        var rows: [MappingRow] = []
        let names = Set(SamplerRules.networkNames(spec))
        if let orphan = tensors.first(where: { !names.contains($0.key.networkName) }) {
            throw ConvertError.unmappedDatasets(names: [orphan.value.entry.location])
        }
        for name in SamplerRules.networkNames(spec) where stack.applies(toNetwork: name) {
            let enc = name.hasPrefix("vnet") ? spec.network.vNetInput : spec.network.xNetInput
            let c0 = ConvStackRules.inputChannels(width: enc.width(stateSize: spec.stateSize), lt: lattice.lt, lx: lattice.lx)
            let shapes = try ConvStackRules.shapes(stack, channels: c0, lt: lattice.lt, lx: lattice.lx)
            func tensor(_ index: Int, _ variable: String, _ expected: [Int], _ canonical: String, _ why: String) throws -> (TensorFileSource.TensorEntry, NDArray) {
                guard let t = tensors.first(where: { $0.key.networkName == name && $0.key.index == index && $0.key.variable == variable })?.value else {
                    throw ConvertError.missingArray(canonical: canonical, expectedSource: "input_layer.conv_stack.layers.\(index).\(variable) of \(name) (conv filters \(config.filters), \(config.origin))")
                }
                guard t.entry.shape == expected else {
                    throw ConvertError.shapeMismatch(source: t.entry.location, canonical: canonical, expected: expected, actual: t.entry.shape, reason: why)
                }
                return (t.entry, try source.array(t.dataset))
            }
            for (j, s) in shapes.enumerated() {
                let k = s.kernelSize, cin = s.inChannels, cout = s.outChannels
                let why = "conv \(j) of the config (\(config.origin)): filters \(cout), size \(k), on \(cin) input channels (\(j == 0 ? (c0 == 4 ? "cos/sin of the 2 link directions" : "the 2 link directions") : "filters of conv \(j - 1)"))"
                let kn = "\(name).conv_stack.conv\(j).kernel", bn = "\(name).conv_stack.conv\(j).bias"
                let (we, w) = try tensor(idx.convs[j], "weight", [cout, cin, k, k], kn, why)
                let (be, b) = try tensor(idx.convs[j], "bias", [cout], bn, why)
                // (f_out, f_in, a, b) -> [a, b, f_in, f_out]
                let v = w.doubles()
                var p = [Double](repeating: 0, count: v.count)
                for o in 0..<cout { for c in 0..<cin { for a in 0..<k { for bb in 0..<k {
                    p[((a * k + bb) * cin + c) * cout + o] = v[((o * cin + c) * k + a) * k + bb]
                } } } }
                out[kn] = try same(w, shape: [k, k, cin, cout], p)
                out[bn] = b
                rows.append(MappingRow(source: we.location, shape: we.shape, dtype: we.dtype, target: kn, note: "(out, in, k, k) -> [k, k, in, out]"))
                rows.append(MappingRow(source: be.location, shape: be.shape, dtype: be.dtype, target: bn, note: ""))
            }
            guard let last = shapes.last else { continue }
            let f = last.outChannels * last.outH * last.outW, d = stack.denseUnits
            let why = "the Linear after the flatten reads C \(last.outChannels) x \(last.outH) x \(last.outW) = \(f) values (sizes grow by k - 1 per conv and floor under each pool, from \(lattice.lt)x\(lattice.lx); \(config.origin))"
            let kn = "\(name).conv_stack.dense.kernel", bn = "\(name).conv_stack.dense.bias"
            let (we, w) = try tensor(idx.dense, "weight", [d, f], kn, why)
            let (be, b) = try tensor(idx.dense, "bias", [d], bn, why)
            let v = w.doubles()
            var t = [Double](repeating: 0, count: v.count)
            for r in 0..<d { for c in 0..<f { t[c * d + r] = v[r * f + c] } }
            out[kn] = try same(w, shape: [f, d], t)
            out[bn] = b
            rows.append(MappingRow(source: we.location, shape: we.shape, dtype: we.dtype, target: kn, note: "transposed (out, in) -> (in, out)"))
            rows.append(MappingRow(source: be.location, shape: be.shape, dtype: be.dtype, target: bn, note: ""))
        }
        return (out, rows)
    }

    /// The run config that rebuilds `stack` upstream (the export's inverse of ``spec(_:dense:appliesTo:)``),
    /// or `convert.export_unsupported` saying why upstream's ConvStack (2023-06 on) cannot compute it.
    static func config(of stack: ConvStackSpec) throws -> Config {
        func failure(_ why: String) -> ConvertError { .exportUnsupported(field: "network.conv_stack", value: "present", reason: why) }
        guard stack.appliesTo == .xAndVNetworks else {
            throw failure("applies_to x_networks: upstream gives every network the stack from 2023-02-08 on")
        }
        let layers = stack.layers
        guard let first = layers.first, !first.activation, first.pool == 1 else {
            throw failure("upstream's first convolution has no activation and no pool")
        }
        for (j, l) in layers.enumerated() {
            if l.kernelSize == 1 { throw failure("layer \(j) has kernel size 1, which upstream's PeriodicPadding(0) does not compute") }
            if j > 0 && !l.activation { throw failure("layer \(j) has no activation; upstream activates every convolution after the first") }
            if l.pool > 1 && j % 2 == 1 { throw failure("layer \(j) pools; upstream pools only after its 3rd, 5th, ... convolution") }
        }
        if stack.poolOrder == .activationThenPool && layers.contains(where: { $0.pool > 1 }) {
            throw failure("pool_order activation_then_pool; upstream pools before the activation")
        }
        // pool[i] is read after convolution i + 1 when i + 1 is even; the other entries are unused (1).
        let pool = (0..<layers.count).map { i in i + 1 < layers.count && (i + 1) % 2 == 0 ? layers[i + 1].pool : 1 }
        return Config(filters: layers.map(\.filters), sizes: layers.map(\.kernelSize), pool: pool, origin: "the model")
    }

    /// `values` (a permutation of `like`'s) in `like`'s element type: float32 stays float32, exactly.
    private static func same(_ like: NDArray, shape: [Int], _ values: [Double]) throws -> NDArray {
        like.dtype == .float64 ? try NDArray(shape: shape, doubles: values) : try NDArray(shape: shape, floats: values.map { Float($0) })
    }
}
