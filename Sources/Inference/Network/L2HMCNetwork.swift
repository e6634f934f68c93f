import CL2HMCKernels
import ModelFormat

/// One S, T, Q network of an L2HMC sampler, evaluated for a batch of chains with GEMMs.
///
/// h_1 = act(x_in K_x + v_in K_v + tau K_t + b_x + b_v + b_t); h_i = act(h_{i-1} K_i + b_i);
/// optional inference-mode batch norm of h_L; then
/// S = alpha_S tanh(h_L K_S + b_S) e^{c_S}, T = alpha_T (h_L K_T + b_T),
/// Q = alpha_Q tanh(h_L K_Q + b_Q) e^{c_Q}   (docs/FORMAT.md, "Network").
/// Outputs are written to a [rows, 3n] buffer: columns [0, n) S, [n, 2n) T, [2n, 3n) Q.
public final class L2HMCNetwork {
    public let name: String
    public let stateSize: Int
    /// The convolution stack in front of `x_layer` (format 1.3), or nil: `x_layer` then reads
    /// h_conv ([rows, D]) instead of the encoded input.
    public let convStack: ConvStack?
    public let xLayer: DenseLayer
    public let vLayer: DenseLayer
    public let tLayer: DenseLayer?
    public let hidden: [DenseLayer]
    public let heads: [DenseLayer]  // scale, translation, transformation
    let activation: Activation
    /// Folded batch norm: y = h * bnScale + bnShift.
    let batchNorm: (scale: [Double], shift: [Double])?
    /// e^{coeff} of the scale and transformation heads (all ones when the head has no coefficient).
    let scaleFactor: Buffer
    let transformationFactor: Buffer
    /// Concatenated [K_S | K_T | K_Q] ([h_L, 3n]) and [b_S | b_T | b_Q], used when no head is compressed.
    private var headKernel: [Double]
    let headBias: Buffer
    /// b_x + b_v (+ b_t), added before the first activation.
    private let inputBias: [Double]
    /// Inputs at most this wide (x and v together) skip the first-layer GEMMs for a fused kernel.
    static let smallInputWidth = 8
    private var lowRankCache: LowRankPlan?
    /// The float32 twin when the network runs in float32 (``setPrecision(_:)``), else nil.
    private(set) var float32Twin: L2HMCNetwork32?

    /// Loads network `name` (e.g. `vnet.0`) from a model.
    public init(model: L2ZModel, name: String) throws {
        let spec = try model.sampler.network
        let n = try model.sampler.stateSize
        func layer(_ l: String, _ inputs: Int, _ outputs: Int) throws -> DenseLayer {
            DenseLayer(kernel: try model.doubles("\(name).\(l).kernel"), bias: try model.doubles("\(name).\(l).bias"), inputs: inputs, outputs: outputs)
        }
        let units = spec.hiddenUnits
        let xWidth = (name.hasPrefix("vnet") ? spec.vNetInput : spec.xNetInput).width(stateSize: n)
        self.name = name
        self.stateSize = n
        if let stack = spec.convStack, stack.applies(toNetwork: name) {
            convStack = try ConvStack(model: model, name: name, stack: stack, inputWidth: xWidth)
        } else {
            convStack = nil
        }
        xLayer = try layer("x_layer", convStack?.outputWidth ?? xWidth, units[0])
        vLayer = try layer("v_layer", n, units[0])
        tLayer = spec.timeInput ? try layer("t_layer", 2, units[0]) : nil
        hidden = try (1..<units.count).map { try layer("hidden\($0)", units[$0 - 1], units[$0]) }
        guard let hl = units.last else { throw L2ZError.manifestInvalidValue(path: "network.hidden_units", expected: "at least one layer", actual: "[]") }
        heads = try ["scale", "translation", "transformation"].map { try layer($0, hl, n) }
        activation = spec.activation
        if let bn = spec.batchNorm {
            let gamma = try model.doubles("\(name).batch_norm.gamma"), beta = try model.doubles("\(name).batch_norm.beta")
            let mean = try model.doubles("\(name).batch_norm.moving_mean"), variance = try model.doubles("\(name).batch_norm.moving_variance")
            let scale = (0..<hl).map { gamma[$0] / (variance[$0] + bn.epsilon).squareRoot() }
            batchNorm = (scale, (0..<hl).map { beta[$0] - mean[$0] * scale[$0] })
        } else {
            batchNorm = nil
        }
        scaleFactor = Buffer(spec.scaleHead == .tanhExpCoeff ? try model.doubles("\(name).scale.coeff").map { Foundation.exp($0) } : [Double](repeating: 1, count: n))
        transformationFactor = Buffer(spec.transformationHead == .tanhExpCoeff
            ? try model.doubles("\(name).transformation.coeff").map { Foundation.exp($0) } : [Double](repeating: 1, count: n))
        headKernel = L2HMCNetwork.concatenate(heads, rows: hl, n: n)
        headBias = Buffer(heads.flatMap(\.bias))
        var b = xLayer.bias
        for i in 0..<units[0] { b[i] += vLayer.bias[i] + (tLayer?.bias[i] ?? 0) }
        inputBias = b
    }

    /// [K_S | K_T | K_Q] of the current (uncompressed) head kernels.
    var concatenatedHeadKernel: [Double] { L2HMCNetwork.concatenate(heads, rows: heads[0].inputs, n: stateSize) }

    /// The arithmetic of ``evaluate(xIn:vIn:tau:rows:weights:out:workspace:)`` and the raw
    /// evaluation (see ``NetworkPrecision``).
    public var precision: NetworkPrecision { float32Twin == nil ? .float64 : .float32 }

    /// Chooses the arithmetic: float32 builds the float twin from the current (possibly
    /// compressed) layers; float64 drops it. Call outside evaluations (setup), and again after
    /// compressing a layer (``refreshPrecision()``). Idempotent: asking again for float32 keeps
    /// a current twin (so samplers sharing this network may each ask).
    public func setPrecision(_ p: NetworkPrecision) {
        switch p {
        case .float64: float32Twin = nil
        case .float32: if float32Twin?.version != layersVersion { float32Twin = L2HMCNetwork32(self) }
        }
    }

    /// Rebuilds the float twin if a layer changed since it was built.
    func refreshPrecision() {
        if let t = float32Twin, t.version != layersVersion { float32Twin = L2HMCNetwork32(self) }
    }

    private static func concatenate(_ heads: [DenseLayer], rows: Int, n: Int) -> [Double] {
        var k = [Double](repeating: 0, count: rows * 3 * n)
        for r in 0..<rows {
            for (h, layer) in heads.enumerated() {
                for c in 0..<n { k[r * 3 * n + h * n + c] = layer.kernel[r * n + c] }
            }
        }
        return k
    }

    /// Every dense layer, in evaluation order.
    public var layers: [(String, DenseLayer)] {
        var out: [(String, DenseLayer)] = [("x_layer", xLayer), ("v_layer", vLayer)]
        if let t = tLayer { out.append(("t_layer", t)) }
        out += hidden.enumerated().map { ("hidden\($0.offset + 1)", $0.element) }
        out += zip(["scale", "translation", "transformation"], heads).map { ($0, $1) }
        return out
    }

    var isCompressed: Bool { layers.contains { $0.1.lowRank != nil } }

    /// Widest intermediate (for workspace sizing) and largest rank.
    var maxWidth: Int { max(hidden.map(\.outputs).max() ?? 0, xLayer.outputs) }
    var maxRank: Int { layers.map { $0.1.lowRank?.rank ?? 0 }.max() ?? 0 }

    /// Rounding growth of one float32 evaluation: the sum over its layers of fan-in + 2 (the
    /// worst-case k u of a k-term float dot product, plus the roundings of the layer's input and
    /// activation); the first layer's fan-in is x, v and the time input together, a rank-r layer
    /// counts inputs + r. The float32 probe tolerance is u times this (``ProbeVerifier``).
    public var float32RoundingGrowth: Int {
        func fanIn(_ l: DenseLayer) -> Int { l.inputs + (l.lowRank?.rank ?? 0) }
        let first = fanIn(xLayer) + fanIn(vLayer) + (tLayer.map(fanIn) ?? 0) + 2
        return first + hidden.reduce(0) { $0 + fanIn($1) + 2 } + (heads.map(fanIn).max() ?? 0) + 2
    }

    /// Multiply-adds per chain of one evaluation (the benchmark's FLOP model / 2).
    public var multiplyAddsPerRow: Int {
        layers.filter { $0.0 != "t_layer" }.reduce(convStack?.multiplyAddsPerRow ?? 0) { $0 + $1.1.multiplyAddsPerRow }
    }

    /// Evaluates the network for `rows` chains.
    /// - xIn: [rows, xLayer.inputs] encoded x input; vIn: [rows, n] (v for x-networks, dU/dx for
    ///   v-networks); tau: the time encoding or nil; weights: (alpha_S, alpha_T, alpha_Q).
    /// - out: [rows, 3n] receives S | T | Q with the weights applied.
    func evaluate(xIn: UnsafePointer<Double>, vIn: UnsafePointer<Double>, tau: (Double, Double)?, rows: Int,
                  weights: (s: Double, t: Double, q: Double), out: UnsafeMutablePointer<Double>, workspace ws: NetworkWorkspace) {
        evaluateRaw(xIn: xIn, vIn: vIn, tau: tau, rows: rows, out: out, workspace: ws)
        l2k_heads(out, rows, stateSize, headBias.pointer, scaleFactor.pointer, transformationFactor.pointer, weights.s, weights.t, weights.q)
    }

    /// Evaluates everything up to the head GEMMs: `out` [rows, 3n] receives h_L [K_S | K_T | K_Q]
    /// without the head biases, squashing and weights (the dynamics fuse those into their updates;
    /// ``evaluate(xIn:vIn:tau:rows:weights:out:workspace:)`` applies them).
    /// With `permuted`, the head columns come out in that order (see ``PermutedHeads``).
    /// With `factoredHeads` and all three heads compressed to one rank r, it stops at z = h [P_S | P_T | P_Q]
    /// and returns the factors instead (the update kernels form z_h Q_h for the links they need;
    /// `out` is not written).
    @discardableResult
    func evaluateRaw(xIn: UnsafePointer<Double>, vIn: UnsafePointer<Double>, tau: (Double, Double)?, rows: Int,
                     out: UnsafeMutablePointer<Double>, workspace ws: NetworkWorkspace, permuted: PermutedHeads? = nil,
                     factoredHeads: Bool = false) -> HeadFactors? {
        var xIn = xIn
        if let stack = convStack {
            // The stack runs in float64 for both precisions; x_layer then reads h_conv.
            guard let cw = ws.convStack else { preconditionFailure("a network with a conv stack needs a workspace built with it") }
            stack.evaluate(xIn, ldx: stack.inputWidth, rows: rows, into: cw.output.pointer, workspace: cw)
            xIn = UnsafePointer(cw.output.pointer)
        }
        if let twin = float32Twin {
            return twin.evaluateRaw(xIn: xIn, vIn: vIn, tau: tau, rows: rows, out: out, workspace: ws, permuted: permuted, factoredHeads: factoredHeads)
        }
        let n = stateSize
        let h0 = xLayer.outputs
        var a = ws.hiddenA.pointer, b = ws.hiddenB.pointer
        let lowRank = lowRankPlan()
        fillConstantRow(tau: tau, into: ws.row.pointer)
        if xLayer.lowRank == nil && vLayer.lowRank == nil && xLayer.inputs + vLayer.inputs <= L2HMCNetwork.smallInputWidth {
            // Narrow inputs (e.g. a 2D mixture): one fused pass instead of two skinny GEMMs and a bias pass.
            xLayer.kernel.withUnsafeBufferPointer { kx in vLayer.kernel.withUnsafeBufferPointer { kv in
                l2k_small_input_layer(xIn, xLayer.inputs, xLayer.inputs, kx.baseAddress!, vIn, n, vLayer.inputs, kv.baseAddress!,
                                      rows, h0, ws.row.pointer, activation.kernelCode, a)
            } }
        } else if let q = lowRank.inputQ, let px = xLayer.lowRank, let pv = vLayer.lowRank {
            // Both input layers compressed: x P_x and v P_v side by side, then one GEMM with [Q_x; Q_v].
            let r = px.rank + pv.rank, sc = ws.scratch.pointer
            px.p.withUnsafeBufferPointer { p in
                BLAS.gemm(m: rows, n: px.rank, k: xLayer.inputs, a: xIn, lda: xLayer.inputs, b: p.baseAddress!, ldb: px.rank, beta: 0, c: sc, ldc: r)
            }
            pv.p.withUnsafeBufferPointer { p in
                BLAS.gemm(m: rows, n: pv.rank, k: vLayer.inputs, a: vIn, lda: n, b: p.baseAddress!, ldb: pv.rank, beta: 0, c: sc + px.rank, ldc: r)
            }
            BLAS.gemm(m: rows, n: h0, k: r, a: sc, lda: r, b: q.pointer, ldb: h0, beta: 0, c: a, ldc: h0)
            l2k_bias_activate(a, rows, h0, ws.row.pointer, activation.kernelCode)
        } else {
            xLayer.multiply(xIn, ldx: xLayer.inputs, rows: rows, into: a, ldo: h0, accumulate: false, scratch: ws.scratch.pointer)
            vLayer.multiply(vIn, ldx: n, rows: rows, into: a, ldo: h0, accumulate: true, scratch: ws.scratch.pointer)
            l2k_bias_activate(a, rows, h0, ws.row.pointer, activation.kernelCode)
        }
        var width = h0
        for layer in hidden {
            layer.multiply(a, ldx: width, rows: rows, into: b, ldo: layer.outputs, accumulate: false, scratch: ws.scratch.pointer)
            layer.bias.withUnsafeBufferPointer { l2k_bias_activate(b, rows, layer.outputs, $0.baseAddress!, activation.kernelCode) }
            swap(&a, &b)
            width = layer.outputs
        }
        if let bn = batchNorm {
            bn.scale.withUnsafeBufferPointer { sc in bn.shift.withUnsafeBufferPointer { sh in
                VectorMath.scaleShiftRows(a, rows: rows, cols: width, scale: sc.baseAddress!, shift: sh.baseAddress!)
            } }
        }
        // Heads: one GEMM with the concatenated (possibly permuted) kernels when none is
        // compressed; otherwise h P for all compressed heads in one GEMM, then one GEMM per head.
        precondition(permuted.map { $0.version == headsVersion } ?? true, "permuted heads are stale")
        if factoredHeads, let p = lowRank.headP, let r = lowRank.commonHeadRank {
            BLAS.gemm(m: rows, n: 3 * r, k: width, a: a, lda: width, b: p.pointer, ldb: 3 * r, beta: 0, c: ws.scratch.pointer, ldc: 3 * r)
            return HeadFactors(z: UnsafePointer(ws.scratch.pointer), ldz: 3 * r, rank: r)
        }
        if let k = permuted?.kernel {
            BLAS.gemm(m: rows, n: 3 * n, k: width, a: a, lda: width, b: k.pointer, ldb: 3 * n, beta: 0, c: out, ldc: 3 * n)
        } else if permuted == nil && lowRank.allHeadsFull {
            headKernel.withUnsafeBufferPointer { k in
                BLAS.gemm(m: rows, n: 3 * n, k: width, a: a, lda: width, b: k.baseAddress!, ldb: 3 * n, beta: 0, c: out, ldc: 3 * n)
            }
        } else {
            let sc = ws.scratch.pointer, r = lowRank.headRankSum
            if let p = lowRank.headP {
                BLAS.gemm(m: rows, n: r, k: width, a: a, lda: width, b: p.pointer, ldb: r, beta: 0, c: sc, ldc: r)
            }
            var offset = 0
            for (h, layer) in heads.enumerated() {
                if let lr = layer.lowRank {
                    if lowRank.headP == nil {
                        lr.p.withUnsafeBufferPointer { p in
                            BLAS.gemm(m: rows, n: lr.rank, k: width, a: a, lda: width, b: p.baseAddress!, ldb: lr.rank, beta: 0, c: sc, ldc: lr.rank)
                        }
                    }
                    let z = lowRank.headP == nil ? sc : sc + offset, lda = lowRank.headP == nil ? lr.rank : r
                    if let q = permuted?.perHead[h] {
                        BLAS.gemm(m: rows, n: n, k: lr.rank, a: z, lda: lda, b: q.pointer, ldb: n, beta: 0, c: out + h * n, ldc: 3 * n)
                    } else {
                        lr.q.withUnsafeBufferPointer { q in
                            BLAS.gemm(m: rows, n: n, k: lr.rank, a: z, lda: lda, b: q.baseAddress!, ldb: n, beta: 0, c: out + h * n, ldc: 3 * n)
                        }
                    }
                    offset += lr.rank
                } else if let k = permuted?.perHead[h] {
                    BLAS.gemm(m: rows, n: n, k: width, a: a, lda: width, b: k.pointer, ldb: n, beta: 0, c: out + h * n, ldc: 3 * n)
                } else {
                    layer.multiply(a, ldx: width, rows: rows, into: out + h * n, ldo: 3 * n, accumulate: false, scratch: sc)
                }
            }
        }
        return nil
    }

    /// The constant row of the first layer, in double: biases plus tau K_t (tau is the same for
    /// every chain of a step). `row` has xLayer.outputs entries.
    func fillConstantRow(tau: (Double, Double)?, into row: UnsafeMutablePointer<Double>) {
        let h0 = xLayer.outputs
        inputBias.withUnsafeBufferPointer { bias in
            row.update(from: bias.baseAddress!, count: h0)
        }
        if let t = tLayer, let tau {
            if let lr = t.lowRank {
                // A compressed time layer (rank < 2) is applied as (tau P) Q like every other layer.
                for r in 0..<lr.rank {
                    let z = tau.0 * lr.p[r] + tau.1 * lr.p[lr.rank + r]
                    for j in 0..<h0 { row[j] += z * lr.q[r * h0 + j] }
                }
            } else {
                for j in 0..<h0 { row[j] += tau.0 * t.kernel[j] + tau.1 * t.kernel[h0 + j] }
            }
        }
    }

    /// Rank-r head factors left for the update kernels: z [rows, ldz] = h [P_S | P_T | P_Q]; the
    /// second factors come in panels (``PermutedHeads``).
    struct HeadFactors {
        let z: UnsafePointer<Double>
        let ldz: Int, rank: Int
    }

    /// Columns `columns` of a row-major [r, n] matrix in panels of 16 columns: column c (counted
    /// from columns.lowerBound), row k at [(c / 16) 16 r + 16 k + c % 16], zero-padded.
    static func panels(_ q: UnsafePointer<Double>, rank r: Int, n: Int, columns: Range<Int>) -> Buffer {
        let width = 16, count = columns.count
        let b = Buffer(max(1, (count + width - 1) / width) * width * r)
        for c in 0..<count {
            for k in 0..<r { b[(c / width) * width * r + width * k + c % width] = q[k * n + columns.lowerBound + c] }
        }
        return b
    }

    /// Sum of every layer's version (changes when any layer is compressed).
    var layersVersion: Int {
        var v = xLayer.version &+ vLayer.version &+ (tLayer?.version ?? 0)
        for l in hidden { v = v &+ l.version }
        for l in heads { v = v &+ l.version }
        return v
    }

    /// Concatenated low-rank factors for fewer, wider GEMMs, rebuilt when a layer's compression changes.
    final class LowRankPlan {
        let version: Int
        /// [Q_x; Q_v] ([r_x + r_v, h_1]) when both input layers are compressed.
        let inputQ: Buffer?
        /// [P_S | P_T | P_Q] ([h_L, r_S + r_T + r_Q]) when all three heads are compressed.
        let headP: Buffer?
        let headRankSum: Int
        let allHeadsFull: Bool
        /// The rank of the three heads when all are compressed to the same rank (factored heads).
        let commonHeadRank: Int?

        init(_ net: L2HMCNetwork) {
            version = net.layersVersion
            if let qx = net.xLayer.lowRank, let qv = net.vLayer.lowRank {
                inputQ = Buffer(qx.q + qv.q)
            } else {
                inputQ = nil
            }
            let compressed = net.heads.compactMap(\.lowRank)
            headRankSum = compressed.reduce(0) { $0 + $1.rank }
            allHeadsFull = compressed.isEmpty
            commonHeadRank = compressed.count == 3 && Set(compressed.map(\.rank)).count == 1 ? compressed[0].rank : nil
            if compressed.count == 3 {
                let hl = net.heads[0].inputs, r = headRankSum
                let p = Buffer(hl * r)
                var offset = 0
                for f in compressed {
                    for i in 0..<hl { for j in 0..<f.rank { p[i * r + offset + j] = f.p[i * f.rank + j] } }
                    offset += f.rank
                }
                headP = p
            } else {
                headP = nil
            }
        }
    }

    /// Builds the lazily kept low-rank plan now, so that evaluations from several threads only
    /// read this object (``L2HMCDynamics`` replicas share their networks).
    func prepareForSharedUse() { _ = lowRankPlan() }

    private func lowRankPlan() -> LowRankPlan {
        if let p = lowRankCache, p.version == layersVersion { return p }
        let p = LowRankPlan(self)
        lowRankCache = p
        return p
    }
}

extension L2HMCNetwork {
    /// Sum of the head layers' versions (changes when a head is compressed).
    var headsVersion: Int { heads.reduce(0) { $0 &+ $1.version } }

    /// The heads with their output columns reordered: column j of each block is link order[j];
    /// `split` separates the links of the first x sub-update from those of the second.
    func permutedHeads(order: [Int32], split: Int) -> PermutedHeads { PermutedHeads(self, order: order.map { Int($0) }, split: split) }
}

/// A copy of a network's three heads whose output columns follow a permutation of the links, so
/// that an x update reads the outputs of the links it moves contiguously (no gathers).
final class PermutedHeads {
    let version: Int
    /// [h_L, 3n] concatenated permuted kernels, when no head is compressed.
    let kernel: Buffer?
    /// Per head: the permuted kernel [h_L, n], or the permuted second factor [r, n] when compressed.
    let perHead: [Buffer]
    /// Permuted [b_S | b_T | b_Q], e^{c_S}, e^{c_Q}.
    let bias: Buffer, scaleFactor: Buffer, transformationFactor: Buffer
    /// When the heads are factored (one rank for all three): the permuted second factors in the
    /// panel layout, for columns [0, split) and [split, n).
    let panelsFirst: [Buffer]?, panelsSecond: [Buffer]?
    /// Float copies of `kernel` and `perHead` when the network runs in float32 (else nil).
    let kernel32: FloatBuffer?, perHead32: [FloatBuffer]?

    init(_ net: L2HMCNetwork, order: [Int], split: Int) {
        let n = net.stateSize
        precondition(order.count == n)
        version = net.headsVersion
        func permuteColumns(_ m: [Double], rows: Int) -> Buffer {
            let b = Buffer(rows * n)
            for r in 0..<rows { for j in 0..<n { b[r * n + j] = m[r * n + order[j]] } }
            return b
        }
        perHead = net.heads.map { layer in
            if let lr = layer.lowRank { return permuteColumns(lr.q, rows: lr.rank) }
            return permuteColumns(layer.kernel, rows: layer.inputs)
        }
        if net.heads.allSatisfy({ $0.lowRank == nil }) {
            let hl = net.heads[0].inputs
            let k = Buffer(hl * 3 * n)
            for r in 0..<hl { for h in 0..<3 { for j in 0..<n { k[r * 3 * n + h * n + j] = perHead[h][r * n + j] } } }
            kernel = k
        } else {
            kernel = nil
        }
        bias = Buffer(3 * n)
        scaleFactor = Buffer(n)
        transformationFactor = Buffer(n)
        for h in 0..<3 { for j in 0..<n { bias[h * n + j] = net.headBias[h * n + order[j]] } }
        for j in 0..<n {
            scaleFactor[j] = net.scaleFactor[order[j]]
            transformationFactor[j] = net.transformationFactor[order[j]]
        }
        let ranks = net.heads.map { $0.lowRank?.rank ?? 0 }
        if ranks[0] > 0 && Set(ranks).count == 1 {
            let r = ranks[0]
            panelsFirst = perHead.map { L2HMCNetwork.panels($0.pointer, rank: r, n: n, columns: 0..<split) }
            panelsSecond = perHead.map { L2HMCNetwork.panels($0.pointer, rank: r, n: n, columns: split..<n) }
        } else {
            panelsFirst = nil
            panelsSecond = nil
        }
        if net.float32Twin != nil {
            kernel32 = kernel.map { FloatBuffer($0.array) }
            perHead32 = perHead.map { FloatBuffer($0.array) }
        } else {
            kernel32 = nil
            perHead32 = nil
        }
    }
}

/// Scratch buffers shared by the networks of one sampler (used one network at a time).
final class NetworkWorkspace {
    let hiddenA: Buffer, hiddenB: Buffer, scratch: Buffer, row: Buffer
    /// Scratch of the networks' convolution stacks (nil when none has one).
    let convStack: ConvStackWorkspace?
    private let rows: Int, width: Int, rank: Int, inputWidth: Int, stateSize: Int
    /// Float scratch for float32 networks, allocated on first use.
    private(set) lazy var float32 = Float32Workspace(rows: rows, inputWidth: inputWidth, stateSize: stateSize, width: width, rank: rank)

    init(rows: Int, networks: [L2HMCNetwork]) {
        let width = networks.map(\.maxWidth).max() ?? 1
        let rank = max(networks.map(\.maxRank).max() ?? 0, 1)
        hiddenA = Buffer(rows * width)
        hiddenB = Buffer(rows * width)
        scratch = Buffer(rows * 3 * rank)  // up to three side-by-side rank blocks (heads)
        row = Buffer(width)
        self.rows = rows; self.width = width; self.rank = rank
        inputWidth = networks.map(\.xLayer.inputs).max() ?? 1
        stateSize = networks.map(\.stateSize).max() ?? 1
        let stacks = networks.compactMap(\.convStack)
        convStack = stacks.isEmpty ? nil : ConvStackWorkspace(rows: rows, stacks: stacks)
    }
}

import Foundation
