import Foundation
import ModelFormat

/// One S, T, Q network of the trainer with its own forward pass and reverse-mode gradients.
///
/// Forward (per row): a_1 = x_in K_x + v_in K_v + tau K_t + b_x + b_v + b_t, h_1 = act(a_1);
/// a_i = h_{i-1} K_i + b_i, h_i = act(a_i); then S = w_S tanh(h K_S + b_S) e^{c_S},
/// T = w_T (h K_T + b_T), Q = w_Q tanh(h K_Q + b_Q) e^{c_Q}. Parameters live in a
/// ``ParameterStore`` under `<name>.<layer>.kernel|bias|coeff`.
struct TrainableNetwork {
    let name: String
    let stateSize: Int
    let xWidth: Int
    let units: [Int]
    /// Width of the last hidden layer, the heads' input (units is never empty: TrainingConfig.validate).
    var headInputs: Int { units[units.count - 1] }
    let activation: Activation
    let timeInput: Bool
    let scaleCoefficient: Bool
    let transformationCoefficient: Bool

    /// What the backward pass needs from the forward pass.
    struct Cache {
        var xIn: Matrix
        var vIn: Matrix
        var tau: [Double]?
        /// Pre-activations a_i and activations h_i per layer.
        var pre: [Matrix]
        var post: [Matrix]
        /// tanh of the S and Q heads' pre-activations.
        var tanhS: Matrix
        var tanhQ: Matrix
        /// Outputs with the net weights applied.
        var s: Matrix, t: Matrix, q: Matrix
        var weights: (s: Double, t: Double, q: Double)
    }

    /// Adds this network's parameters, initialized like the upstream code: Glorot-uniform kernels
    /// scaled by `kernelScale`, zero biases, zero coefficients (e^0 = 1).
    func addParameters(to store: inout ParameterStore, rng: inout SplitMix64, kernelScale: Double) {
        func kernel(_ layer: String, _ rows: Int, _ cols: Int, scale: Double = 1) {
            let limit = scale * kernelScale * (6.0 / Double(rows + cols)).squareRoot()
            store.add("\(name).\(layer).kernel", shape: [rows, cols], values: (0..<(rows * cols)).map { _ in limit * (2 * rng.uniform() - 1) })
            store.add("\(name).\(layer).bias", shape: [cols], values: [Double](repeating: 0, count: cols))
        }
        kernel("x_layer", xWidth, units[0])
        kernel("v_layer", stateSize, units[0])
        if timeInput { kernel("t_layer", 2, units[0]) }
        for i in 1..<units.count { kernel("hidden\(i)", units[i - 1], units[i]) }
        // Small heads: the sampler starts close to HMC.
        kernel("scale", headInputs, stateSize, scale: 0.1)
        kernel("translation", headInputs, stateSize, scale: 0.1)
        kernel("transformation", headInputs, stateSize, scale: 0.1)
        if scaleCoefficient { store.add("\(name).scale.coeff", shape: [stateSize], values: [Double](repeating: 0, count: stateSize)) }
        if transformationCoefficient { store.add("\(name).transformation.coeff", shape: [stateSize], values: [Double](repeating: 0, count: stateSize)) }
    }

    private func offset(_ store: ParameterStore, _ layer: String, _ part: String) -> Int { store.offset("\(name).\(layer).\(part)") }

    func forward(xIn: Matrix, vIn: Matrix, tau: [Double]?, weights: (s: Double, t: Double, q: Double), params store: ParameterStore) -> Cache {
        let p = store.values, rows = xIn.rows, n = stateSize
        var a = xIn.times(p, offset: offset(store, "x_layer", "kernel"), outputs: units[0])
        let av = vIn.times(p, offset: offset(store, "v_layer", "kernel"), outputs: units[0])
        var rowBias = (0..<units[0]).map { p[offset(store, "x_layer", "bias") + $0] + p[offset(store, "v_layer", "bias") + $0] }
        if timeInput, let tau {
            let kt = offset(store, "t_layer", "kernel"), bt = offset(store, "t_layer", "bias")
            for j in 0..<units[0] { rowBias[j] += p[bt + j] + tau[0] * p[kt + j] + tau[1] * p[kt + units[0] + j] }
        }
        for r in 0..<rows { for j in 0..<units[0] { a.data[r * units[0] + j] += av.data[r * units[0] + j] + rowBias[j] } }
        var pre = [a], post = [activation.apply(a)]
        for i in 1..<units.count {
            var z = post[i - 1].times(p, offset: offset(store, "hidden\(i)", "kernel"), outputs: units[i])
            let b = offset(store, "hidden\(i)", "bias")
            for r in 0..<rows { for j in 0..<units[i] { z.data[r * units[i] + j] += p[b + j] } }
            pre.append(z)
            post.append(activation.apply(z))
        }
        let h = post[post.count - 1]
        func head(_ layer: String) -> Matrix {
            var z = h.times(p, offset: offset(store, layer, "kernel"), outputs: n)
            let b = offset(store, layer, "bias")
            for r in 0..<rows { for j in 0..<n { z.data[r * n + j] += p[b + j] } }
            return z
        }
        var tanhS = head("scale"), t = head("translation"), tanhQ = head("transformation")
        for i in 0..<tanhS.data.count { tanhS.data[i] = Foundation.tanh(tanhS.data[i]); tanhQ.data[i] = Foundation.tanh(tanhQ.data[i]) }
        var s = tanhS, q = tanhQ
        let (expS, expQ) = coefficientFactors(store)
        for r in 0..<rows {
            for j in 0..<n {
                let cs = expS[j], cq = expQ[j]
                s.data[r * n + j] *= weights.s * cs
                q.data[r * n + j] *= weights.q * cq
                t.data[r * n + j] *= weights.t
            }
        }
        return Cache(xIn: xIn, vIn: vIn, tau: tau, pre: pre, post: post, tanhS: tanhS, tanhQ: tanhQ, s: s, t: t, q: q, weights: weights)
    }

    /// Accumulates parameter gradients into `grads` and returns the gradients of the inputs
    /// (x_in, v_in) for output gradients dS, dT, dQ.
    func backward(_ c: Cache, dS: Matrix, dT: Matrix, dQ: Matrix, params store: ParameterStore, grads: inout [Double]) -> (dxIn: Matrix, dvIn: Matrix) {
        let p = store.values, rows = dS.rows, n = stateSize
        // Heads.
        var dzS = Matrix(zeros: rows, n), dzT = Matrix(zeros: rows, n), dzQ = Matrix(zeros: rows, n)
        let (expS, expQ) = coefficientFactors(store)
        let coeffS = scaleCoefficient ? offset(store, "scale", "coeff") : 0
        let coeffQ = transformationCoefficient ? offset(store, "transformation", "coeff") : 0
        for r in 0..<rows {
            for j in 0..<n {
                let k = r * n + j
                let cs = expS[j], cq = expQ[j]
                let ts = c.tanhS.data[k], tq = c.tanhQ.data[k]
                dzS.data[k] = dS.data[k] * c.weights.s * cs * (1 - ts * ts)
                dzQ.data[k] = dQ.data[k] * c.weights.q * cq * (1 - tq * tq)
                dzT.data[k] = dT.data[k] * c.weights.t
                // dS/dcoeff = S, dQ/dcoeff = Q (elementwise).
                if scaleCoefficient { grads[coeffS + j] += dS.data[k] * c.s.data[k] }
                if transformationCoefficient { grads[coeffQ + j] += dQ.data[k] * c.q.data[k] }
            }
        }
        let h = c.post[c.post.count - 1]
        var dh = Matrix(zeros: rows, headInputs)
        for (layer, dz) in [("scale", dzS), ("translation", dzT), ("transformation", dzQ)] {
            h.accumulateWeightGradient(dz, into: &grads, offset: offset(store, layer, "kernel"))
            dz.accumulateColumnSums(into: &grads, offset: offset(store, layer, "bias"))
            let back = dz.timesTransposed(p, offset: offset(store, layer, "kernel"), inputs: headInputs)
            for i in 0..<dh.data.count { dh.data[i] += back.data[i] }
        }
        // Hidden layers, last to first.
        for i in stride(from: units.count - 1, through: 1, by: -1) {
            let da = activation.backward(dh, pre: c.pre[i], post: c.post[i])
            c.post[i - 1].accumulateWeightGradient(da, into: &grads, offset: offset(store, "hidden\(i)", "kernel"))
            da.accumulateColumnSums(into: &grads, offset: offset(store, "hidden\(i)", "bias"))
            dh = da.timesTransposed(p, offset: offset(store, "hidden\(i)", "kernel"), inputs: units[i - 1])
        }
        let da = activation.backward(dh, pre: c.pre[0], post: c.post[0])
        c.xIn.accumulateWeightGradient(da, into: &grads, offset: offset(store, "x_layer", "kernel"))
        c.vIn.accumulateWeightGradient(da, into: &grads, offset: offset(store, "v_layer", "kernel"))
        da.accumulateColumnSums(into: &grads, offset: offset(store, "x_layer", "bias"))
        da.accumulateColumnSums(into: &grads, offset: offset(store, "v_layer", "bias"))
        if timeInput, let tau = c.tau {
            let kt = offset(store, "t_layer", "kernel"), bt = offset(store, "t_layer", "bias")
            for r in 0..<rows {
                for j in 0..<units[0] {
                    let g = da.data[r * units[0] + j]
                    grads[bt + j] += g
                    grads[kt + j] += tau[0] * g
                    grads[kt + units[0] + j] += tau[1] * g
                }
            }
        }
        return (da.timesTransposed(p, offset: offset(store, "x_layer", "kernel"), inputs: xWidth),
                da.timesTransposed(p, offset: offset(store, "v_layer", "kernel"), inputs: n))
    }

    /// e^{c_S} and e^{c_Q} per coordinate (ones for heads without a coefficient).
    private func coefficientFactors(_ store: ParameterStore) -> ([Double], [Double]) {
        let s = scaleCoefficient ? store["\(name).scale.coeff"].map { exp($0) } : [Double](repeating: 1, count: stateSize)
        let q = transformationCoefficient ? store["\(name).transformation.coeff"].map { exp($0) } : [Double](repeating: 1, count: stateSize)
        return (s, q)
    }
}
