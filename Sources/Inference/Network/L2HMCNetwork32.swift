import CL2HMCKernels

/// The float32 twin of an ``L2HMCNetwork`` (`--precision float32`): the same layer bookkeeping and
/// order of operations, with every weight rounded once to float at construction and every GEMM an
/// SGEMM. Built by ``L2HMCNetwork/setPrecision(_:)``; evaluation never mutates it (only the
/// workspace passed in), so threads may share it like the network itself.
///
/// Numerical contract: the inputs (x encoding and v or the force) are rounded to float at the
/// network's entry, the constant row (biases + tau K_t) is formed in double and rounded once,
/// activations and batch norm round once to float, and the raw head outputs h_L K (or the rank-r
/// factors z = h_L P) are widened to double exactly; the head biases, squashing and net weights are
/// applied in double by the update kernels. So relative to the double network, each output
/// carries float roundoff u = 2^-24 ~ 6e-8 times the growth of the layer sums (docs/RUNTIME.md,
/// "float32 networks").
final class L2HMCNetwork32 {
    unowned let base: L2HMCNetwork
    /// ``L2HMCNetwork/layersVersion`` at construction.
    let version: Int
    let xLayer: DenseLayer32, vLayer: DenseLayer32
    let hidden: [DenseLayer32]
    let heads: [DenseLayer32]
    /// Folded batch norm in float.
    let batchNorm: (scale: FloatBuffer, shift: FloatBuffer)?
    /// [K_S | K_T | K_Q] when no head is compressed.
    let headKernel: FloatBuffer?
    /// The float copies of the network's ``L2HMCNetwork/LowRankPlan``.
    let inputQ: FloatBuffer?, headP: FloatBuffer?
    let headRankSum: Int, allHeadsFull: Bool, commonHeadRank: Int?
    /// [K_x; K_v] ([x inputs + n, h_1]) when neither input layer is compressed and the inputs are
    /// too wide for the fused kernel: the first layer is then one SGEMM on [x_in | v_in].
    let inputKernel: FloatBuffer?

    init(_ net: L2HMCNetwork) {
        base = net
        version = net.layersVersion
        xLayer = DenseLayer32(net.xLayer)
        vLayer = DenseLayer32(net.vLayer)
        hidden = net.hidden.map(DenseLayer32.init)
        heads = net.heads.map(DenseLayer32.init)
        batchNorm = net.batchNorm.map { (FloatBuffer($0.scale), FloatBuffer($0.shift)) }
        let plan = L2HMCNetwork.LowRankPlan(net)
        inputQ = plan.inputQ.map { FloatBuffer($0.array) }
        headP = plan.headP.map { FloatBuffer($0.array) }
        headRankSum = plan.headRankSum
        allHeadsFull = plan.allHeadsFull
        commonHeadRank = plan.commonHeadRank
        headKernel = plan.allHeadsFull ? FloatBuffer(net.concatenatedHeadKernel) : nil
        let wide = net.xLayer.inputs + net.vLayer.inputs > L2HMCNetwork.smallInputWidth
        inputKernel = wide && net.xLayer.lowRank == nil && net.vLayer.lowRank == nil ? FloatBuffer(net.xLayer.kernel + net.vLayer.kernel) : nil
    }

    /// The float twin of ``L2HMCNetwork/evaluateRaw(xIn:vIn:tau:rows:out:workspace:permuted:factoredHeads:)``,
    /// with the same inputs and outputs (double): `out` [rows, 3n] receives h_L [K_S | K_T | K_Q]
    /// widened to double, or, with `factoredHeads` and one common head rank, the factors z are
    /// returned (in the workspace's double scratch).
    func evaluateRaw(xIn: UnsafePointer<Double>, vIn: UnsafePointer<Double>, tau: (Double, Double)?, rows: Int,
                     out: UnsafeMutablePointer<Double>, workspace ws: NetworkWorkspace, permuted: PermutedHeads?,
                     factoredHeads: Bool) -> L2HMCNetwork.HeadFactors? {
        precondition(version == base.layersVersion, "the float32 network is stale (a layer was compressed after setPrecision)")
        let f = ws.float32
        let n = base.stateSize, h0 = xLayer.outputs, act = base.activation.kernelCode
        base.fillConstantRow(tau: tau, into: ws.row.pointer)
        l2k_to_f32(ws.row.pointer, f.row.pointer, h0)
        var a = f.hiddenA.pointer, b = f.hiddenB.pointer
        let sc = f.scratch.pointer
        let xw = xLayer.inputs
        if let k = inputKernel {
            // [x_in | v_in] side by side (leading dimension xw + n), one SGEMM with [K_x; K_v].
            let ld = xw + n, joined = f.xIn.pointer
            for r in 0..<rows {
                l2k_to_f32(xIn + r * xw, joined + r * ld, xw)
                l2k_to_f32(vIn + r * n, joined + r * ld + xw, n)
            }
            BLAS.sgemm(m: rows, n: h0, k: ld, a: joined, lda: ld, b: k.pointer, ldb: h0, beta: 0, c: a, ldc: h0)
            l2k_bias_activate_f32(a, rows, h0, f.row.pointer, act)
            return heads(from: a, rows: rows, out: out, workspace: ws, permuted: permuted, factoredHeads: factoredHeads)
        }
        l2k_to_f32(xIn, f.xIn.pointer, rows * xw)
        l2k_to_f32(vIn, f.vIn.pointer, rows * n)
        let xi = UnsafePointer(f.xIn.pointer), vi = UnsafePointer(f.vIn.pointer)
        if xLayer.lowRank == nil && vLayer.lowRank == nil && xLayer.inputs + vLayer.inputs <= L2HMCNetwork.smallInputWidth,
           let kx = xLayer.kernel, let kv = vLayer.kernel {
            l2k_small_input_layer_f32(xi, xLayer.inputs, xLayer.inputs, kx.pointer, vi, n, vLayer.inputs, kv.pointer,
                                      rows, h0, f.row.pointer, act, a)
        } else if let q = inputQ, let px = xLayer.lowRank, let pv = vLayer.lowRank {
            let r = px.rank + pv.rank
            BLAS.sgemm(m: rows, n: px.rank, k: xLayer.inputs, a: xi, lda: xLayer.inputs, b: px.p.pointer, ldb: px.rank, beta: 0, c: sc, ldc: r)
            BLAS.sgemm(m: rows, n: pv.rank, k: vLayer.inputs, a: vi, lda: n, b: pv.p.pointer, ldb: pv.rank, beta: 0, c: sc + px.rank, ldc: r)
            BLAS.sgemm(m: rows, n: h0, k: r, a: sc, lda: r, b: q.pointer, ldb: h0, beta: 0, c: a, ldc: h0)
            l2k_bias_activate_f32(a, rows, h0, f.row.pointer, act)
        } else {
            xLayer.multiply(xi, ldx: xLayer.inputs, rows: rows, into: a, ldo: h0, accumulate: false, scratch: sc)
            vLayer.multiply(vi, ldx: n, rows: rows, into: a, ldo: h0, accumulate: true, scratch: sc)
            l2k_bias_activate_f32(a, rows, h0, f.row.pointer, act)
        }
        return heads(from: a, rows: rows, out: out, workspace: ws, permuted: permuted, factoredHeads: factoredHeads)
    }

    /// Hidden layers, batch norm and heads from the first layer's activations `first` (in the
    /// workspace's hiddenA).
    private func heads(from first: UnsafeMutablePointer<Float>, rows: Int, out: UnsafeMutablePointer<Double>, workspace ws: NetworkWorkspace,
                       permuted: PermutedHeads?, factoredHeads: Bool) -> L2HMCNetwork.HeadFactors? {
        let f = ws.float32
        let n = base.stateSize, h0 = xLayer.outputs, act = base.activation.kernelCode
        let sc = f.scratch.pointer
        var a = first, b = first == f.hiddenA.pointer ? f.hiddenB.pointer : f.hiddenA.pointer
        var width = h0
        for layer in hidden {
            layer.multiply(a, ldx: width, rows: rows, into: b, ldo: layer.outputs, accumulate: false, scratch: sc)
            l2k_bias_activate_f32(b, rows, layer.outputs, layer.bias.pointer, act)
            swap(&a, &b)
            width = layer.outputs
        }
        if let bn = batchNorm {
            for r in 0..<rows {
                let p = a + r * width
                for c in 0..<width { p[c] = p[c] * bn.scale.pointer[c] + bn.shift.pointer[c] }
            }
        }
        if factoredHeads, let p = headP, let r = commonHeadRank {
            BLAS.sgemm(m: rows, n: 3 * r, k: width, a: a, lda: width, b: p.pointer, ldb: 3 * r, beta: 0, c: sc, ldc: 3 * r)
            l2k_to_f64(sc, ws.scratch.pointer, rows * 3 * r)
            return L2HMCNetwork.HeadFactors(z: UnsafePointer(ws.scratch.pointer), ldz: 3 * r, rank: r)
        }
        let raw = f.heads.pointer
        let permutedHeads = permuted.map { p -> [FloatBuffer] in
            guard let h = p.perHead32 else { preconditionFailure("permuted heads without their float copies (built after setPrecision)") }
            return h
        }
        if let k = permuted?.kernel32 {
            BLAS.sgemm(m: rows, n: 3 * n, k: width, a: a, lda: width, b: k.pointer, ldb: 3 * n, beta: 0, c: raw, ldc: 3 * n)
        } else if permuted == nil, let k = headKernel {
            BLAS.sgemm(m: rows, n: 3 * n, k: width, a: a, lda: width, b: k.pointer, ldb: 3 * n, beta: 0, c: raw, ldc: 3 * n)
        } else {
            let r = headRankSum
            if let p = headP {
                BLAS.sgemm(m: rows, n: r, k: width, a: a, lda: width, b: p.pointer, ldb: r, beta: 0, c: sc, ldc: r)
            }
            var offset = 0
            for (h, layer) in heads.enumerated() {
                if let lr = layer.lowRank {
                    if headP == nil {
                        BLAS.sgemm(m: rows, n: lr.rank, k: width, a: a, lda: width, b: lr.p.pointer, ldb: lr.rank, beta: 0, c: sc, ldc: lr.rank)
                    }
                    let z = headP == nil ? sc : sc + offset, lda = headP == nil ? lr.rank : r
                    let q = permutedHeads?[h] ?? lr.q
                    BLAS.sgemm(m: rows, n: n, k: lr.rank, a: z, lda: lda, b: q.pointer, ldb: n, beta: 0, c: raw + h * n, ldc: 3 * n)
                    offset += lr.rank
                } else if let k = permutedHeads?[h] {
                    BLAS.sgemm(m: rows, n: n, k: width, a: a, lda: width, b: k.pointer, ldb: n, beta: 0, c: raw + h * n, ldc: 3 * n)
                } else {
                    layer.multiply(a, ldx: width, rows: rows, into: raw + h * n, ldo: 3 * n, accumulate: false, scratch: sc)
                }
            }
        }
        l2k_to_f64(raw, out, rows * 3 * n)
        return nil
    }
}

/// Float scratch of one ``NetworkWorkspace`` (allocated on first float32 use).
final class Float32Workspace {
    let xIn: FloatBuffer, vIn: FloatBuffer, hiddenA: FloatBuffer, hiddenB: FloatBuffer, scratch: FloatBuffer, heads: FloatBuffer, row: FloatBuffer

    init(rows: Int, inputWidth: Int, stateSize: Int, width: Int, rank: Int) {
        xIn = FloatBuffer(rows * (inputWidth + stateSize))  // also [x_in | v_in] side by side
        vIn = FloatBuffer(rows * stateSize)
        hiddenA = FloatBuffer(rows * width)
        hiddenB = FloatBuffer(rows * width)
        scratch = FloatBuffer(rows * 3 * rank)
        heads = FloatBuffer(rows * 3 * stateSize)
        row = FloatBuffer(width)
    }
}
