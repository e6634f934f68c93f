import CL2HMCKernels
import ModelFormat

/// The upstream convolution stack in front of a dense network's `x_layer` (docs/FORMAT.md,
/// "Convolution stack"), evaluated in float64 for a batch of chains: per layer one im2col and
/// one DGEMM over all (chain, pixel) rows, then one DGEMM for the dense layer.
///
/// The encoded `in_x` row of a chain is the image [C_0, lt, lx] (row-major). Layer j pads
/// periodically by p = k - 1 on both sides, out[o, t', x'] = b[o] + sum_{a, b < k, c}
/// in[c, (t' + a - p) mod h, (x' + b - p) mod w] K[a, b, c, o] (each side grows by k - 1), then
/// max-pools pool x pool windows (stride pool, floor) and applies the activation in the order of
/// the spec; h_conv = act(flatten K_d + b_d) with the channel-major flatten (c h + t) w + x.
///
/// Internally images are held per (chain, t, x) row with the channels contiguous, so the dense
/// kernel's rows are reordered once at load from the stored channel-major order to (t, x, c):
/// the same products, summed in another order. `--lowrank` compresses the dense layer like any
/// dense layer (its scratch is the im2col buffer, free by then) and leaves the conv kernels full
/// rank; `--precision float32` runs the stack in float64 and rounds h_conv
/// to float at the entry of the float layers like any input.
public final class ConvStack {
    /// The stack's sizes for this network's image.
    public let shapes: [ConvStackRules.LayerShape]
    /// Conv kernel j as a [k k C_j, C_{j+1}] matrix, rows in (a, b, c) order (the stored array's
    /// row-major flattening).
    let convs: [DenseLayer]
    let layers: [ConvStackSpec.Layer]
    let poolOrder: ConvStackSpec.PoolOrder
    /// The dense layer with its rows reordered to (t, x, c): [F, D].
    let dense: DenseLayer
    let activation: Activation
    let inputChannels: Int, lt: Int, lx: Int
    /// X, the width of the encoded `in_x` rows the stack reads.
    public let inputWidth: Int

    /// Loads network `name`'s stack. `inputWidth` is the width X of its encoded `in_x`.
    init(model: L2ZModel, name: String, stack: ConvStackSpec, inputWidth: Int) throws {
        guard case let .u1(lattice) = try model.sampler.target else {
            throw L2ZError.manifestInvalidValue(path: "network.conv_stack", expected: "a U(1) target", actual: "another target")
        }
        lt = lattice.lt; lx = lattice.lx
        self.inputWidth = inputWidth
        inputChannels = ConvStackRules.inputChannels(width: inputWidth, lt: lt, lx: lx)
        shapes = try ConvStackRules.shapes(stack, channels: inputChannels, lt: lt, lx: lx)
        layers = stack.layers
        poolOrder = stack.poolOrder
        activation = try model.sampler.network.activation
        func load(_ array: String, inputs: Int, outputs: Int) throws -> (kernel: [Double], bias: [Double]) {
            let kernel = try model.doubles("\(name).conv_stack.\(array).kernel"), bias = try model.doubles("\(name).conv_stack.\(array).bias")
            guard kernel.count == inputs * outputs, bias.count == outputs else {
                throw L2ZError.arrayMissing(name: "\(name).conv_stack.\(array).kernel", reason: "expected \(inputs * outputs) kernel and \(outputs) bias values")
            }
            return (kernel, bias)
        }
        convs = try shapes.enumerated().map { j, s in
            let w = try load("conv\(j)", inputs: s.kernelSize * s.kernelSize * s.inChannels, outputs: s.outChannels)
            return DenseLayer(kernel: w.kernel, bias: w.bias, inputs: s.kernelSize * s.kernelSize * s.inChannels, outputs: s.outChannels)
        }
        guard let last = shapes.last else {
            throw L2ZError.manifestInvalidValue(path: "network.conv_stack.layers", expected: "at least one layer", actual: "[]")
        }
        let c = last.outChannels, h = last.outH, w = last.outW, d = stack.denseUnits
        let stored = try load("dense", inputs: c * h * w, outputs: d)
        var reordered = [Double](repeating: 0, count: stored.kernel.count)
        for t in 0..<h {
            for x in 0..<w {
                for ch in 0..<c {
                    let from = ((ch * h + t) * w + x) * d, to = ((t * w + x) * c + ch) * d
                    for o in 0..<d { reordered[to + o] = stored.kernel[from + o] }
                }
            }
        }
        dense = DenseLayer(kernel: reordered, bias: stored.bias, inputs: c * h * w, outputs: d)
    }

    /// D, the width of h_conv.
    public var outputWidth: Int { dense.outputs }

    /// Doubles of scratch one chain needs: the largest im2col block and the largest image.
    var patchPerChain: Int { shapes.map { $0.convH * $0.convW * $0.kernelSize * $0.kernelSize * $0.inChannels }.max() ?? 1 }
    var imagePerChain: Int { max(inputChannels * lt * lx, shapes.map { $0.convH * $0.convW * $0.outChannels }.max() ?? 1) }

    /// Multiply-adds per chain (conv GEMMs and the dense layer; the benchmark's FLOP model / 2).
    public var multiplyAddsPerRow: Int {
        zip(shapes, convs).reduce(dense.multiplyAddsPerRow) { $0 + $1.0.convH * $1.0.convW * $1.1.multiplyAddsPerRow }
    }

    /// h_conv [rows, D] (leading dimension D) of the encoded inputs `xIn` [rows, ldx].
    func evaluate(_ xIn: UnsafePointer<Double>, ldx: Int, rows: Int, into out: UnsafeMutablePointer<Double>, workspace ws: ConvStackWorkspace) {
        var start = 0
        while start < rows {
            let count = min(ws.chainsPerChunk, rows - start)
            evaluateChunk(xIn + start * ldx, ldx: ldx, chains: count, into: out + start * outputWidth, ws)
            start += count
        }
    }

    private func evaluateChunk(_ xIn: UnsafePointer<Double>, ldx: Int, chains: Int, into out: UnsafeMutablePointer<Double>, _ ws: ConvStackWorkspace) {
        var cur = ws.imageA.pointer, other = ws.imageB.pointer
        // [C_0, lt, lx] per chain -> (chain, t, x) rows of C_0 channels.
        let c0 = inputChannels, area = lt * lx
        for m in 0..<chains {
            let src = xIn + m * ldx, dst = cur + m * area * c0
            for c in 0..<c0 { for s in 0..<area { dst[s * c0 + c] = src[c * area + s] } }
        }
        let act = activation.kernelCode, none = Int32(L2K_LINEAR)
        for (j, s) in shapes.enumerated() {
            let layer = layers[j], conv = convs[j]
            let k = s.kernelSize, cin = s.inChannels, cout = s.outChannels
            let pixels = s.convH * s.convW, rows = chains * pixels
            let patch: UnsafePointer<Double>
            if k == 1 {
                patch = UnsafePointer(cur)
            } else {
                ConvStack.im2col(cur, shape: s, chains: chains, into: ws.patches.pointer)
                patch = UnsafePointer(ws.patches.pointer)
            }
            conv.multiply(patch, ldx: k * k * cin, rows: rows, into: other, ldo: cout, accumulate: false, scratch: ws.patches.pointer)
            let activateFirst = layer.activation && (layer.pool == 1 || poolOrder == .activationThenPool)
            conv.bias.withUnsafeBufferPointer { l2k_bias_activate(other, rows, cout, $0.baseAddress!, activateFirst ? act : none) }
            if layer.pool > 1 {
                ConvStack.maxPool(other, shape: s, pool: layer.pool, chains: chains, into: cur)
                if layer.activation && poolOrder == .poolThenActivation {
                    l2k_bias_activate(cur, chains * s.outH * s.outW, cout, ws.zeros.pointer, act)
                }
            } else {
                swap(&cur, &other)
            }
        }
        dense.multiply(cur, ldx: dense.inputs, rows: chains, into: out, ldo: dense.outputs, accumulate: false, scratch: ws.patches.pointer)
        dense.bias.withUnsafeBufferPointer { l2k_bias_activate(out, chains, dense.outputs, $0.baseAddress!, act) }
    }

    /// col[(m, t', x'), (a k + b) C + c] = img[m, (t' + a - p) mod h, (x' + b - p) mod w, c].
    static func im2col(_ img: UnsafePointer<Double>, shape s: ConvStackRules.LayerShape, chains: Int, into col: UnsafeMutablePointer<Double>) {
        let k = s.kernelSize, p = s.padding, cin = s.inChannels, h = s.inH, w = s.inW
        let width = k * k * cin
        for m in 0..<chains {
            let base = img + m * h * w * cin
            for t in 0..<s.convH {
                for x in 0..<s.convW {
                    let dst = col + ((m * s.convH + t) * s.convW + x) * width
                    for a in 0..<k {
                        let tt = ((t + a - p) % h + h) % h
                        for b in 0..<k {
                            let xx = ((x + b - p) % w + w) % w
                            (dst + (a * k + b) * cin).update(from: base + (tt * w + xx) * cin, count: cin)
                        }
                    }
                }
            }
        }
    }

    /// out[m, T, X, c] = max over i, j < pool of conv[m, T pool + i, X pool + j, c].
    static func maxPool(_ conv: UnsafePointer<Double>, shape s: ConvStackRules.LayerShape, pool: Int, chains: Int, into out: UnsafeMutablePointer<Double>) {
        let c = s.outChannels
        for m in 0..<chains {
            let src = conv + m * s.convH * s.convW * c, dst = out + m * s.outH * s.outW * c
            for t in 0..<s.outH {
                for x in 0..<s.outW {
                    let o = dst + (t * s.outW + x) * c
                    o.update(from: src + ((t * pool) * s.convW + x * pool) * c, count: c)
                    for i in 0..<pool {
                        for j in 0..<pool where i > 0 || j > 0 {
                            let q = src + ((t * pool + i) * s.convW + x * pool + j) * c
                            for ch in 0..<c where q[ch] > o[ch] || q[ch].isNaN { o[ch] = q[ch] }
                        }
                    }
                }
            }
        }
    }
}

/// Scratch space for the convolution stacks of a sampler's networks: h_conv for every row, and
/// im2col and image buffers for a chunk of chains (bounded so a wide stack on many chains does not
/// allocate gigabytes; the chunks run one after another).
final class ConvStackWorkspace {
    /// [rows, D_max]: h_conv, the input of x_layer.
    let output: Buffer
    let patches: Buffer, imageA: Buffer, imageB: Buffer, zeros: Buffer
    let chainsPerChunk: Int
    /// Doubles of im2col and image scratch per chunk (about 32 MB) unless one chain needs more.
    static let chunkBudget = 1 << 22

    init(rows: Int, stacks: [ConvStack], chunkBudget: Int = ConvStackWorkspace.chunkBudget) {
        let d = stacks.map(\.outputWidth).max() ?? 1
        let patch = stacks.map(\.patchPerChain).max() ?? 1, image = stacks.map(\.imagePerChain).max() ?? 1
        // The compressed dense layer's scratch (chains x rank <= chains x D) is `patches`, free by
        // then; the conv kernels are never compressed.
        let perChain = max(patch, d) + 2 * image
        chainsPerChunk = max(1, min(rows, chunkBudget / max(perChain, 1)))
        output = Buffer(rows * d)
        patches = Buffer(chainsPerChunk * max(patch, d))
        imageA = Buffer(chainsPerChunk * image)
        imageB = Buffer(chainsPerChunk * image)
        zeros = Buffer(stacks.flatMap { $0.shapes.map(\.outChannels) }.max() ?? 1)
    }
}
