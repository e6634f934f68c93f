import ModelFormat

/// The upstream TensorFlow convolution stack (2022-08-16 .. HEAD) of a Keras file in the 2022
/// naming (`{net}{k}_Conv2D-{j}`, `{net}{k}_DenseOutput`), as the format's `conv_stack`
/// (docs/CONVERT.md, "Convolution stack (Keras)"; docs/FORMAT.md 5.6).
///
/// Contract:
/// - Layers from the kernels of the first network that has a stack: kernel [k, k, C_in, f]
///   (Keras's layout, a along t, b along x: the format's, copied as is) gives filters f and
///   kernel size k; every network's shapes are then checked against the array table.
/// - Activation: every convolution has it (upstream's `Conv2D(activation=act)`, the first one
///   included); a model configuration may state `linear` for a convolution (then none).
/// - Pools: stated by the configuration's MaxPooling2D layers; otherwise the fact `conv_pool`
///   (upstream's `conv.pool`) with upstream's rule: a pool of size `conv_pool[j]` after
///   convolution j when j + 1 is even. Both present and different: `convert.conflicting_fact`.
/// - `pool_order` is `activation_then_pool` (the activation is inside Conv2D); `dense_units` is
///   the `_DenseOutput` kernel's columns (upstream: n).
/// - `applies_to` is `x_networks` when no v-network has a stack (upstream TensorFlow never gives
///   one), `x_and_v_networks` when every network has one.
/// - Upstream pads with Python slices (`[x[-p:], x, x[:p]]`), which is the format's periodic
///   padding only when 1 <= k - 1 <= L on both axes at every layer (k = 1 doubles the axis,
///   k - 1 > L pads by L): anything else is refused (`convert.unsupported_source`) before any
///   shape is compared, since pooled sizes can coincide.
/// - ``denseRows``: Keras flattens NHWC, row (t w + x) C + c of the dense kernel; the format
///   flattens channel-major, row (c h + t) w + x. `denseRows[i]` is Keras's row of format row i.
struct KerasConvStack {
    let spec: ConvStackSpec
    let denseRows: [Int]
    /// (fact, value, origin) rows for the report.
    let table: [(String, String, String)]

    /// nil when no dataset maps to a convolution stack.
    static func read(mapped: [(SourceDataset, WeightRef)], stated: StatedFacts?, facts: Facts, lt: Int, lx: Int,
                     path: String) throws -> KerasConvStack? {
        var kernels: [String: [Int: [Int]]] = [:]      // network -> conv index -> kernel shape
        var dense: [String: [Int]] = [:]
        for (d, r) in mapped where r.variable == "kernel" {
            switch r.layer {
            case let .convStack(j): kernels[r.networkName, default: [:]][j] = d.shape
            case .convStackDense: dense[r.networkName] = d.shape
            default: break
            }
        }
        let withStack = Set(kernels.keys).union(dense.keys)
        guard let first = withStack.sorted().first(where: { !$0.hasPrefix("vnet") }) ?? withStack.sorted().first else { return nil }
        let networks = Set(mapped.map(\.1.networkName))
        let vNets = networks.filter { $0.hasPrefix("vnet") }, xNets = networks.subtracting(vNets)
        let appliesTo: ConvStackSpec.AppliesTo
        if withStack == networks {
            appliesTo = .xAndVNetworks
        } else if withStack == xNets {
            appliesTo = .xNetworks
        } else {
            let missing = networks.subtracting(withStack).filter { !($0.hasPrefix("vnet") && withStack == xNets) }.sorted()
            throw ConvertError.unsupportedSource(path: path, reason: "the convolution stack is in \(withStack.sorted().joined(separator: ", ")) but not in \(missing.joined(separator: ", ")); the format puts it in every x-network, or in every network")
        }

        // Layers from the first network's kernels.
        let byIndex = kernels[first] ?? [:]
        let count = (byIndex.keys.max() ?? -1) + 1
        var layers: [ConvStackSpec.Layer] = []
        for j in 0..<count {
            guard let shape = byIndex[j] else {
                throw ConvertError.missingArray(canonical: "\(first).conv_stack.conv\(j).kernel", expectedSource: "the kernel of Conv2D-\(j) of \(first) (it has convolutions up to \(count - 1))")
            }
            guard shape.count == 4, shape[0] == shape[1], shape[0] >= 1 else {
                throw ConvertError.shapeMismatch(source: "\(first) Conv2D-\(j) kernel", canonical: "\(first).conv_stack.conv\(j).kernel",
                                                 expected: [shape.first ?? 0, shape.first ?? 0, shape.count > 2 ? shape[2] : 0, shape.last ?? 0], actual: shape,
                                                 reason: "a square k x k kernel [k, k, in, out]")
            }
            layers.append(ConvStackSpec.Layer(filters: shape[3], kernelSize: shape[0], pool: 1, activation: true))
        }
        guard !layers.isEmpty else {
            throw ConvertError.missingArray(canonical: "\(first).conv_stack.conv0.kernel", expectedSource: "the Conv2D-0 kernel of \(first) (its DenseOutput is present)")
        }
        guard let denseShape = dense[first], denseShape.count == 2 else {
            throw ConvertError.missingArray(canonical: "\(first).conv_stack.dense.kernel", expectedSource: "weight \(first)_DenseOutput/kernel (the dense layer after the convolutions)")
        }
        var table: [(String, String, String)] = []

        // Activations and pools: the configuration, else upstream's rule with conv_pool.
        let statedConvs = stated?.convStacks[first]
        if let stated, let other = stated.convStacks.first(where: { $0.value != statedConvs }) {
            throw ConvertError.unsupportedSource(path: path, reason: "its \(stated.origin) gives \(other.key) a different convolution stack (activations or pools) from \(first)'s; the format has one stack for every network")
        }
        if let statedConvs {
            for (j, c) in statedConvs where j < layers.count { layers[j].activation = c.activation }
        }
        var fromFact: [Int]?
        if let pool = facts.convPool {
            guard pool.value.count == layers.count else {
                throw ConvertError.conflictingFact(fact: FactKey.convPool.rawValue,
                                                   reason: "\(pool.origin) gives \(pool.value.count) pool sizes, but the file's \(first) has \(layers.count) convolutions (upstream's conv.pool has one per convolution)")
            }
            fromFact = (0..<layers.count).map { (($0 + 1) % 2 == 0) ? pool.value[$0] : 1 }
        }
        let statedPools = statedConvs.map { s in (0..<layers.count).map { s[$0]?.pool ?? 1 } }
        let pools: [Int]
        switch (statedPools, fromFact) {
        case let (s?, f?):
            guard s == f else {
                throw ConvertError.conflictingFact(fact: FactKey.convPool.rawValue,
                                                   reason: "the file's \(stated?.origin ?? "configuration") pools \(s) after the convolutions of \(first), but \(facts.convPool?.origin ?? "") gives conv_pool \(facts.convPool?.value ?? []), which upstream applies as \(f)")
            }
            pools = s
            table.append(("conv_pool", "\(s) (after each convolution)", "the file (\(stated?.origin ?? "")); \(facts.convPool?.origin ?? "") agrees"))
        case let (s?, nil):
            pools = s
            table.append(("conv_pool", "\(s) (after each convolution)", "the file (\(stated?.origin ?? ""))"))
        case let (nil, f?):
            pools = f
            table.append(("conv_pool", "\(facts.convPool?.value ?? []) -> \(f) after each convolution (upstream: after convolutions 1, 3, ...)", facts.convPool?.origin ?? ""))
        case (nil, nil):
            throw ConvertError.missingFact(fact: FactKey.convPool.rawValue,
                                           needed: "\(FactKey.convPool.meaning); the file has a convolution stack (\(layers.count) convolutions) and no model configuration stating its pools",
                                           how: ResolvedFacts.how(.convPool))
        }
        for j in layers.indices { layers[j].pool = pools[j] }

        // Upstream's slice padding is periodic padding only for 1 <= k - 1 <= L.
        var h = lt, w = lx
        for (j, l) in layers.enumerated() {
            let p = l.kernelSize - 1
            guard p >= 1, p <= h, p <= w else {
                let what = p == 0
                    ? "a 1 x 1 kernel: upstream's padding by k - 1 = 0 is [x[-0:], x, x[:0]], which prepends the whole image and doubles each side"
                    : "kernel size \(l.kernelSize) on a \(h) x \(w) image: upstream's padding [x[-\(p):], x, x[:\(p)]] pads by at most the side when k - 1 exceeds it"
                throw ConvertError.unsupportedSource(path: path, reason: "convolution \(j) of \(first) has \(what), which is not the format's periodic padding by k - 1 (lattice \(lt)x\(lx))")
            }
            h = (h + p) / l.pool; w = (w + p) / l.pool
            guard h >= 1, w >= 1 else {
                throw ConvertError.unsupportedSource(path: path, reason: "convolution \(j) of \(first) pools by \(l.pool) an image smaller than the pool (lattice \(lt)x\(lx))")
            }
        }
        let spec = ConvStackSpec(appliesTo: appliesTo, layers: layers, poolOrder: .activationThenPool, denseUnits: denseShape[1])
        let c = layers.last?.filters ?? 0
        var rows: [Int] = []
        rows.reserveCapacity(c * h * w)
        for ch in 0..<c { for t in 0..<h { for x in 0..<w { rows.append((t * w + x) * c + ch) } } }
        guard denseShape[0] == rows.count else {
            throw ConvertError.shapeMismatch(source: "\(first) DenseOutput kernel", canonical: "\(first).conv_stack.dense.kernel",
                                             expected: [rows.count, denseShape[1]], actual: denseShape,
                                             reason: "rows = the flattened last image \(c) x \(h) x \(w) of the stack on the \(lt)x\(lx) lattice (kernels from the file, pools \(pools))")
        }
        let described = layers.enumerated().map { j, l in "conv\(j) \(l.kernelSize)x\(l.kernelSize)x\(l.filters)\(l.activation ? " act" : "")\(l.pool > 1 ? " pool \(l.pool)" : "")" }
        table.insert(("conv_stack", "\(described.joined(separator: ", ")), activation then pool, dense \(denseShape[1]), \(appliesTo.rawValue)",
                      "the file's kernels (upstream TensorFlow ConvStack)"), at: 0)
        return KerasConvStack(spec: spec, denseRows: rows, table: table)
    }
}
