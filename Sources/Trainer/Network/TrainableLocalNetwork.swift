import Foundation
import ModelFormat

/// One S, T, Q network of kind `local` (/work/local-design.md; docs/FORMAT.md "Local
/// networks"): translation-equivariant convolutions with periodic padding over the lattice
/// sites, heads per link, with its own forward pass and reverse-mode gradients (independent of
/// the runtime's implementation).
///
/// Per row, from the per-site features h_{-1} = ``LocalSiteFeatures`` ([sites, 8]):
///   a_i[t, x, c'] = b_i[c'] + sum_{p, q < k} sum_c h_{i-1}[(t + p - r) mod lt, (x + q - r) mod lx, c] K_i[p, q, c, c']
/// (r = (k - 1) / 2), plus tau K_t + b_t at every site for i = 0 with time input; h_i = act(a_i);
/// optional inference-mode batch norm y = gamma (h_{L-1} - mean) / sqrt(var + epsilon) + beta;
/// per link (mu, t, x) with y = y[t, x, :]: S = w_S tanh(y K_S[:, mu] + b_S[mu]) e^{c_S[mu]},
/// T = w_T (y K_T[:, mu] + b_T[mu]), Q = w_Q tanh(y K_Q[:, mu] + b_Q[mu]) e^{c_Q[mu]}
/// (coefficients only with head `tanh_exp_coeff`). Each convolution is an im2col matrix
/// [rows * sites, k^2 C_i] (columns in (p, q, c) order, the stored kernel's row-major
/// flattening) times the kernel as a [k^2 C_i, C_{i+1}] matrix. Parameters live in a
/// ``ParameterStore`` under the canonical array names `<name>.conv<i>.kernel|bias`,
/// `<name>.t_layer.*`, `<name>.batch_norm.*`, `<name>.scale|translation|transformation.*`.
struct TrainableLocalNetwork {
    let name: String
    let features: LocalSiteFeatures
    /// Odd side k of every kernel.
    let kernelSize: Int
    /// C_1 ... C_L (at least one).
    let channels: [Int]
    let activation: Activation
    let timeInput: Bool
    let scaleCoefficient: Bool
    let transformationCoefficient: Bool
    /// Inference-mode batch norm of the last layer (nil: none).
    let batchNormEpsilon: Double?
    /// ``LocalLattice/taps(kernel:)`` of this lattice and kernel.
    let taps: [Int]

    init(name: String, role: LocalSiteFeatures.Role, lattice: LocalLattice, kernelSize: Int, channels: [Int], activation: Activation,
         timeInput: Bool, scaleCoefficient: Bool, transformationCoefficient: Bool, batchNormEpsilon: Double?) {
        self.name = name
        features = LocalSiteFeatures(role: role, lattice: lattice)
        self.kernelSize = kernelSize; self.channels = channels; self.activation = activation; self.timeInput = timeInput
        self.scaleCoefficient = scaleCoefficient; self.transformationCoefficient = transformationCoefficient
        self.batchNormEpsilon = batchNormEpsilon
        taps = lattice.taps(kernel: kernelSize)
    }

    var lattice: LocalLattice { features.lattice }
    var stateSize: Int { lattice.links }
    /// Channels of the heads' input, C_L (channels is never empty: TrainingConfig.validate, SamplerRules).
    var headInputs: Int { channels[channels.count - 1] }
    static let headChannels = LocalNetworkRules.headChannels
    /// Width of one row of the exact inputs (``Cache/input``): sites times 8 channels.
    var inputWidth: Int { lattice.sites * LocalSiteFeatures.channels }

    /// What the backward pass needs from the forward pass.
    struct Cache {
        let rows: Int
        /// [rows * sites, 8] features (row r * sites + s).
        let input: Matrix
        /// Positions and read mask the features came from (nil when evaluated on given features).
        let x: Matrix?
        let read: [Double]?
        let tau: [Double]?
        /// Pre-activations a_i and activations h_i per layer, [rows * sites, C_{i+1}].
        let pre: [Matrix]
        let post: [Matrix]
        /// The heads' input (h_{L-1}, or its batch norm).
        let headInput: Matrix
        /// tanh of the S and Q heads' pre-activations, [rows * sites, 2] (column mu).
        let tanhS: Matrix
        let tanhQ: Matrix
        /// Outputs with the net weights applied, [rows, n] in the link layout.
        let s: Matrix, t: Matrix, q: Matrix
        let weights: (s: Double, t: Double, q: Double)
    }

    /// Adds this network's parameters: conv kernels Glorot-uniform over fans k^2 C_i and
    /// k^2 C_{i+1}, the t_layer kernel Glorot over 2 and C_1, head kernels Glorot over C_L and 2
    /// scaled by 0.1 (the sampler starts close to HMC), all scaled by `kernelScale`; zero biases
    /// and coefficients; batch norm (loaded models only) gamma 1, beta 0, mean 0, variance 1.
    func addParameters(to store: inout ParameterStore, rng: inout SplitMix64, kernelScale: Double) {
        func uniform(_ key: String, _ shape: [Int], limit: Double) {
            store.add("\(name).\(key)", shape: shape, values: (0..<shape.reduce(1, *)).map { _ in limit * (2 * rng.uniform() - 1) })
        }
        func constant(_ key: String, _ count: Int, _ value: Double) {
            store.add("\(name).\(key)", shape: [count], values: [Double](repeating: value, count: count))
        }
        let k = kernelSize, c = [LocalSiteFeatures.channels] + channels
        for i in channels.indices {
            uniform("conv\(i).kernel", [k, k, c[i], c[i + 1]], limit: kernelScale * (6.0 / Double(k * k * (c[i] + c[i + 1]))).squareRoot())
            constant("conv\(i).bias", c[i + 1], 0)
        }
        if timeInput {
            uniform("t_layer.kernel", [2, c[1]], limit: kernelScale * (6.0 / Double(2 + c[1])).squareRoot())
            constant("t_layer.bias", c[1], 0)
        }
        if batchNormEpsilon != nil {
            for (p, v) in [("gamma", 1.0), ("beta", 0), ("moving_mean", 0), ("moving_variance", 1)] { constant("batch_norm.\(p)", headInputs, v) }
        }
        let h = Self.headChannels
        for head in ["scale", "translation", "transformation"] {
            uniform("\(head).kernel", [headInputs, h], limit: 0.1 * kernelScale * (6.0 / Double(headInputs + h)).squareRoot())
            constant("\(head).bias", h, 0)
        }
        if scaleCoefficient { constant("scale.coeff", h, 0) }
        if transformationCoefficient { constant("transformation.coeff", h, 0) }
    }

    private func offset(_ store: ParameterStore, _ key: String) -> Int { store.offset("\(name).\(key)") }

    // MARK: Forward

    /// The network on positions x ([rows, n]), the read mask (x-networks; nil: all read) and the
    /// other input (momenta for x-networks, the force for v-networks).
    func forward(x: Matrix, read: [Double]?, other: Matrix, tau: [Double]?, weights: (s: Double, t: Double, q: Double),
                 params store: ParameterStore) -> Cache {
        let f = features.forward(x: x, read: read, other: other)
        return forward(input: f, rows: x.rows, x: x, read: read, tau: tau, weights: weights, params: store)
    }

    /// The network on explicit features ([rows * sites, 8]).
    func forward(input: Matrix, rows: Int, x: Matrix? = nil, read: [Double]? = nil, tau: [Double]?,
                 weights: (s: Double, t: Double, q: Double), params store: ParameterStore) -> Cache {
        let p = store.values, sites = lattice.sites, n = stateSize, h2 = Self.headChannels
        var pre: [Matrix] = [], post: [Matrix] = []
        var h = input
        for i in channels.indices {
            let out = channels[i]
            var a = im2col(h, rows: rows).times(p, offset: offset(store, "conv\(i).kernel"), outputs: out)
            var bias = Array(store["\(name).conv\(i).bias"])
            if i == 0, timeInput, let tau {
                let kt = offset(store, "t_layer.kernel"), bt = offset(store, "t_layer.bias")
                for j in 0..<out { bias[j] += p[bt + j] + tau[0] * p[kt + j] + tau[1] * p[kt + out + j] }
            }
            for r in 0..<a.rows { for j in 0..<out { a.data[r * out + j] += bias[j] } }
            pre.append(a)
            h = activation.apply(a)
            post.append(h)
        }
        let y = batchNormForward(h, store)
        func head(_ key: String) -> Matrix {
            var z = y.times(p, offset: offset(store, "\(key).kernel"), outputs: h2)
            let b = offset(store, "\(key).bias")
            for r in 0..<z.rows { for mu in 0..<h2 { z.data[r * h2 + mu] += p[b + mu] } }
            return z
        }
        var tanhS = head("scale"), tanhQ = head("transformation")
        let zT = head("translation")
        for i in 0..<tanhS.data.count { tanhS.data[i] = Foundation.tanh(tanhS.data[i]); tanhQ.data[i] = Foundation.tanh(tanhQ.data[i]) }
        let (expS, expQ) = coefficientFactors(store)
        var s = Matrix(zeros: rows, n), t = s, q = s
        for r in 0..<rows {
            for site in 0..<sites {
                for mu in 0..<h2 {
                    let l = r * n + lattice.link[2 * site + mu], z = (r * sites + site) * h2 + mu
                    s.data[l] = weights.s * tanhS.data[z] * expS[mu]
                    t.data[l] = weights.t * zT.data[z]
                    q.data[l] = weights.q * tanhQ.data[z] * expQ[mu]
                }
            }
        }
        return Cache(rows: rows, input: input, x: x, read: read, tau: tau, pre: pre, post: post, headInput: y, tanhS: tanhS, tanhQ: tanhQ,
                     s: s, t: t, q: q, weights: weights)
    }

    // MARK: Backward

    /// Accumulates parameter gradients into `grads` and returns dL/dx and dL/d(other) ([rows, n]
    /// each) for output gradients dS, dT, dQ ([rows, n]). The cache must come from
    /// ``forward(x:read:other:tau:weights:params:)``.
    func backward(_ c: Cache, dS: Matrix, dT: Matrix, dQ: Matrix, params store: ParameterStore, grads: inout [Double]) -> (gx: Matrix, gOther: Matrix) {
        let g = backwardToInput(c, dS: dS, dT: dT, dQ: dQ, params: store, grads: &grads)
        guard let x = c.x else { return (Matrix(zeros: c.rows, stateSize), Matrix(zeros: c.rows, stateSize)) }
        return features.backward(g, x: x, read: c.read)
    }

    /// Accumulates parameter gradients into `grads` and returns dL/d(features), [rows * sites, 8].
    func backwardToInput(_ c: Cache, dS: Matrix, dT: Matrix, dQ: Matrix, params store: ParameterStore, grads: inout [Double]) -> Matrix {
        let p = store.values, rows = c.rows, sites = lattice.sites, n = stateSize, h2 = Self.headChannels
        // Heads: from [rows, n] in the link layout to [rows * sites, 2].
        var dzS = Matrix(zeros: rows * sites, h2), dzT = dzS, dzQ = dzS
        let (expS, expQ) = coefficientFactors(store)
        let coeffS = scaleCoefficient ? offset(store, "scale.coeff") : 0
        let coeffQ = transformationCoefficient ? offset(store, "transformation.coeff") : 0
        for r in 0..<rows {
            for site in 0..<sites {
                for mu in 0..<h2 {
                    let l = r * n + lattice.link[2 * site + mu], z = (r * sites + site) * h2 + mu
                    let ts = c.tanhS.data[z], tq = c.tanhQ.data[z]
                    dzS.data[z] = dS.data[l] * c.weights.s * expS[mu] * (1 - ts * ts)
                    dzQ.data[z] = dQ.data[l] * c.weights.q * expQ[mu] * (1 - tq * tq)
                    dzT.data[z] = dT.data[l] * c.weights.t
                    // dS/dc_S = S, dQ/dc_Q = Q (elementwise).
                    if scaleCoefficient { grads[coeffS + mu] += dS.data[l] * c.s.data[l] }
                    if transformationCoefficient { grads[coeffQ + mu] += dQ.data[l] * c.q.data[l] }
                }
            }
        }
        var dy = Matrix(zeros: rows * sites, headInputs)
        for (key, dz) in [("scale", dzS), ("translation", dzT), ("transformation", dzQ)] {
            c.headInput.accumulateWeightGradient(dz, into: &grads, offset: offset(store, "\(key).kernel"))
            dz.accumulateColumnSums(into: &grads, offset: offset(store, "\(key).bias"))
            let back = dz.timesTransposed(p, offset: offset(store, "\(key).kernel"), inputs: headInputs)
            for i in 0..<dy.data.count { dy.data[i] += back.data[i] }
        }
        var dh = batchNormBackward(dy, input: c.post[c.post.count - 1], store, grads: &grads)
        // Convolutions, last to first.
        for i in stride(from: channels.count - 1, through: 0, by: -1) {
            let out = channels[i], inChannels = i == 0 ? LocalSiteFeatures.channels : channels[i - 1]
            let da = activation.backward(dh, pre: c.pre[i], post: c.post[i])
            let col = im2col(i == 0 ? c.input : c.post[i - 1], rows: rows)
            col.accumulateWeightGradient(da, into: &grads, offset: offset(store, "conv\(i).kernel"))
            da.accumulateColumnSums(into: &grads, offset: offset(store, "conv\(i).bias"))
            if i == 0, timeInput, let tau = c.tau {
                let kt = offset(store, "t_layer.kernel"), bt = offset(store, "t_layer.bias")
                var sums = [Double](repeating: 0, count: out)
                for r in 0..<da.rows { for j in 0..<out { sums[j] += da.data[r * out + j] } }
                for j in 0..<out {
                    grads[bt + j] += sums[j]
                    grads[kt + j] += tau[0] * sums[j]
                    grads[kt + out + j] += tau[1] * sums[j]
                }
            }
            let dcol = da.timesTransposed(p, offset: offset(store, "conv\(i).kernel"), inputs: kernelSize * kernelSize * inChannels)
            dh = col2im(dcol, rows: rows, channels: inChannels)
        }
        return dh
    }

    // MARK: Pieces

    /// e^{c_S[mu]} and e^{c_Q[mu]} (ones for heads without a coefficient).
    private func coefficientFactors(_ store: ParameterStore) -> ([Double], [Double]) {
        let ones = [Double](repeating: 1, count: Self.headChannels)
        let s = scaleCoefficient ? store["\(name).scale.coeff"].map { exp($0) } : ones
        let q = transformationCoefficient ? store["\(name).transformation.coeff"].map { exp($0) } : ones
        return (s, q)
    }

    /// y = gamma (h - mean) / sqrt(var + epsilon) + beta per channel (h itself without batch norm).
    private func batchNormForward(_ h: Matrix, _ store: ParameterStore) -> Matrix {
        guard let eps = batchNormEpsilon else { return h }
        let gamma = Array(store["\(name).batch_norm.gamma"]), beta = Array(store["\(name).batch_norm.beta"])
        let mean = Array(store["\(name).batch_norm.moving_mean"]), variance = Array(store["\(name).batch_norm.moving_variance"])
        var y = h
        let c = h.cols
        for r in 0..<h.rows {
            for j in 0..<c { y.data[r * c + j] = gamma[j] * (h.data[r * c + j] - mean[j]) / (variance[j] + eps).squareRoot() + beta[j] }
        }
        return y
    }

    /// dL/dh from dL/dy, accumulating the gradients of gamma, beta, mean and variance.
    private func batchNormBackward(_ dy: Matrix, input h: Matrix, _ store: ParameterStore, grads: inout [Double]) -> Matrix {
        guard let eps = batchNormEpsilon else { return dy }
        let gamma = Array(store["\(name).batch_norm.gamma"])
        let mean = Array(store["\(name).batch_norm.moving_mean"]), variance = Array(store["\(name).batch_norm.moving_variance"])
        let og = offset(store, "batch_norm.gamma"), ob = offset(store, "batch_norm.beta")
        let om = offset(store, "batch_norm.moving_mean"), ov = offset(store, "batch_norm.moving_variance")
        var dh = dy
        let c = dy.cols
        for j in 0..<c {
            let inv = 1 / (variance[j] + eps).squareRoot()
            var gG = 0.0, gB = 0.0, gM = 0.0, gV = 0.0
            for r in 0..<dy.rows {
                let g = dy.data[r * c + j], centred = h.data[r * c + j] - mean[j]
                dh.data[r * c + j] = g * gamma[j] * inv
                gG += g * centred * inv
                gB += g
                gM -= g * gamma[j] * inv
                gV -= 0.5 * g * gamma[j] * centred * inv * inv * inv
            }
            grads[og + j] += gG; grads[ob + j] += gB; grads[om + j] += gM; grads[ov + j] += gV
        }
        return dh
    }

    /// [rows * sites, C] to [rows * sites, k^2 C] (``PeriodicPatches``).
    private func im2col(_ h: Matrix, rows: Int) -> Matrix {
        PeriodicPatches.im2col(h, taps: taps, sites: lattice.sites, tapCount: kernelSize * kernelSize)
    }

    /// The adjoint of ``im2col(_:rows:)``.
    private func col2im(_ col: Matrix, rows: Int, channels c: Int) -> Matrix {
        PeriodicPatches.col2im(col, taps: taps, sites: lattice.sites, tapCount: kernelSize * kernelSize, channels: c)
    }
}
