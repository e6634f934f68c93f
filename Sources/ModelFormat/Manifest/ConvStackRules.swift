/// The rules of the convolution stack (``ConvStackSpec``) that do not depend on arithmetic: the
/// allowed ranges, the image sizes through the stack, the cross-field rules and the per-network
/// arrays (docs/FORMAT.md, "Convolution stack").
public enum ConvStackRules {
    public static let maxLayers = 16
    public static let maxFilters = 4096
    public static let maxKernelSize = 15
    public static let maxPool = 16
    public static let maxDenseUnits = 1 << 16

    /// The sizes of one layer: input [inChannels, inH, inW], the convolution's output
    /// [outChannels, convH, convW] (each side grows by k - 1), and after the pool [outChannels, outH, outW].
    public struct LayerShape: Equatable, Sendable {
        public var inChannels: Int, inH: Int, inW: Int
        public var outChannels: Int, convH: Int, convW: Int, outH: Int, outW: Int
        /// The kernel side and periodic padding k - 1.
        public var kernelSize: Int
        public var padding: Int { kernelSize - 1 }
    }

    /// Image channels C_0 of an encoded input of width `width` on an lt x lx lattice (2 raw, 4 cos/sin).
    public static func inputChannels(width: Int, lt: Int, lx: Int) -> Int { width / max(1, lt * lx) }

    /// The shapes of every layer for an input image [c0, lt, lx]. Throws `manifest.invalid_value`
    /// when a padding exceeds the size it pads (periodic padding by k - 1 needs k - 1 <= size, as
    /// upstream's slice-and-concatenate padding does) or a pool leaves no pixel.
    public static func shapes(_ stack: ConvStackSpec, channels c0: Int, lt: Int, lx: Int) throws -> [LayerShape] {
        var c = c0, h = lt, w = lx
        var out: [LayerShape] = []
        for (j, l) in stack.layers.enumerated() {
            let p = l.kernelSize - 1
            guard p <= h, p <= w else {
                throw L2ZError.manifestInvalidValue(path: "network.conv_stack.layers[\(j)].kernel_size",
                                                    expected: "at most \(min(h, w) + 1) (the periodic padding k - 1 may not exceed the layer's input size \(h) x \(w))",
                                                    actual: "\(l.kernelSize)")
            }
            let ch = h + p, cw = w + p
            let oh = ch / l.pool, ow = cw / l.pool
            guard oh >= 1, ow >= 1 else {
                throw L2ZError.manifestInvalidValue(path: "network.conv_stack.layers[\(j)].pool",
                                                    expected: "at most \(min(ch, cw)) (the pooled image of \(ch) x \(cw) must keep a pixel)", actual: "\(l.pool)")
            }
            out.append(LayerShape(inChannels: c, inH: h, inW: w, outChannels: l.filters, convH: ch, convW: cw, outH: oh, outW: ow,
                                  kernelSize: l.kernelSize))
            c = l.filters; h = oh; w = ow
        }
        return out
    }

    /// F, the width of the flattened last image (C_last h_last w_last), or nil when the stack does
    /// not fit the lattice (``shapes(_:channels:lt:lx:)`` throws).
    public static func flattenedWidth(_ stack: ConvStackSpec, channels c0: Int, lt: Int, lx: Int) -> Int? {
        guard let last = try? shapes(stack, channels: c0, lt: lt, lx: lx).last else { return nil }
        return last.outChannels * last.outH * last.outW
    }

    /// The lattice and channel count of network `name`'s image, when the stack applies to it.
    static func image(_ s: SamplerSpec, network name: String) -> (channels: Int, lt: Int, lx: Int)? {
        guard let stack = s.network.convStack, stack.applies(toNetwork: name), case let .u1(l) = s.target else { return nil }
        let enc = name.hasPrefix("vnet") ? s.network.vNetInput : s.network.xNetInput
        return (inputChannels(width: enc.width(stateSize: s.stateSize), lt: l.lt, lx: l.lx), l.lt, l.lx)
    }

    /// Adds network `name`'s stack arrays (when it has the stack) and returns the input width of
    /// its `x_layer`: D with the stack, else `xWidth`.
    static func walkNetwork<V: ArrayTableVisitor>(_ name: String, _ s: SamplerSpec, xWidth: Int, into v: inout V,
                                                   entry: ([Int], SamplerRules.Role) -> SamplerRules.ExpectedArray) -> Int {
        guard let stack = s.network.convStack, let img = image(s, network: name) else { return xWidth }
        var c = img.channels
        for (j, l) in stack.layers.enumerated() {
            v.add("\(name).conv_stack.conv\(j).kernel", entry([l.kernelSize, l.kernelSize, c, l.filters], .weight))
            v.add("\(name).conv_stack.conv\(j).bias", entry([l.filters], .bias))
            c = l.filters
        }
        // validate() guarantees the stack fits; a table for a description that failed validation
        // lists the kernels with F = 0 rather than throwing.
        let f = flattenedWidth(stack, channels: img.channels, lt: img.lt, lx: img.lx) ?? 0
        v.add("\(name).conv_stack.dense.kernel", entry([f, stack.denseUnits], .weight))
        v.add("\(name).conv_stack.dense.bias", entry([stack.denseUnits], .bias))
        return stack.denseUnits
    }

    /// Cross-field rules: ranges, a U(1) target with the `mu_t_x` layout, block or raw encodings of
    /// the networks that carry the stack, and a stack that fits the lattice.
    static func validate(_ s: SamplerSpec, _ stack: ConvStackSpec) throws {
        let base = "network.conv_stack"
        guard s.network.kind == .dense else {
            throw L2ZError.manifestInvalidValue(path: base, expected: "absent for a local network", actual: "an object")
        }
        guard (1...maxLayers).contains(stack.layers.count) else {
            throw L2ZError.manifestInvalidValue(path: "\(base).layers", expected: "1 to \(maxLayers) layers", actual: "\(stack.layers.count)")
        }
        for (j, l) in stack.layers.enumerated() {
            for (key, value, limit) in [("filters", l.filters, maxFilters), ("kernel_size", l.kernelSize, maxKernelSize), ("pool", l.pool, maxPool)]
            where !(1...limit).contains(value) {
                throw L2ZError.manifestInvalidValue(path: "\(base).layers[\(j)].\(key)", expected: "an integer in 1...\(limit)", actual: "\(value)")
            }
        }
        guard (1...maxDenseUnits).contains(stack.denseUnits) else {
            throw L2ZError.manifestInvalidValue(path: "\(base).dense_units", expected: "an integer in 1...\(maxDenseUnits)", actual: "\(stack.denseUnits)")
        }
        guard case let .u1(lattice) = s.target else {
            throw L2ZError.manifestInvalidValue(path: base, expected: "absent for a Gaussian mixture (the stack convolves a U(1) lattice)", actual: "an object")
        }
        guard lattice.linkLayout == .muTX else {
            throw L2ZError.manifestInvalidValue(path: "target.link_layout", expected: "\"mu_t_x\" for a network with conv_stack", actual: "\"\(lattice.linkLayout.rawValue)\"")
        }
        var keys = [("x_net_input", s.network.xNetInput)]
        if stack.appliesTo == .xAndVNetworks { keys.append(("v_net_input", s.network.vNetInput)) }
        for (key, enc) in keys where enc == .cosSinInterleaved {
            throw L2ZError.manifestInvalidValue(path: "network.\(key)", expected: "\"raw\" or \"cos_sin_blocks\" for a network with conv_stack", actual: "\"\(enc.rawValue)\"")
        }
        for (_, enc) in keys {
            _ = try shapes(stack, channels: inputChannels(width: enc.width(stateSize: s.stateSize), lt: lattice.lt, lx: lattice.lx),
                           lt: lattice.lt, lx: lattice.lx)
        }
    }
}
