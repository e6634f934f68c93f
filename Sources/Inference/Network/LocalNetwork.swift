import CL2HMCKernels
import Foundation
import ModelFormat

/// One local S, T, Q network (docs/FORMAT.md, "Local networks"): periodic convolutions over the
/// sites of a U(1) lattice of any size, evaluated as im2col + GEMM with one row per (chain, site),
/// so the cost is linear in the volume.
///
/// conv layer i: a_i[s, c'] = b_i[c'] + sum_{p, q < k} sum_c h_{i-1}[(t + p - r) mod lt, (x + q - r) mod lx, c] K_i[p, q, c, c']
/// (h_{-1} = the 8 input channels of ``LocalFeatures``; layer 0 adds tau K_t + b_t with time
/// input); h_i = act(a_i); optional inference-mode batch norm of h_{L-1}; then per link (mu, s)
/// the raw heads h_{L-1}[s] . K_h[:, mu] for h = S, T, Q. The biases, tanh, coefficients and net
/// weights are applied by the update kernels (``headBias``, ``scaleFactor``, ``transformationFactor``),
/// exactly as for dense networks.
///
/// Every conv kernel is held as a ``DenseLayer`` [k k C_i, C_{i+1}] (rows in (p, q, c) order, the
/// stored array's row-major flattening), so `--lowrank` compresses it like a dense kernel.
public final class LocalNetwork {
    public let name: String
    public let kernelSize: Int
    /// C_0 = 8, C_1 ... C_L.
    public let channels: [Int]
    public let convs: [DenseLayer]
    public let tLayer: DenseLayer?
    /// scale, translation, transformation: [C_L, 2] each.
    public let heads: [DenseLayer]
    let activation: Activation
    /// Folded batch norm: y = h * scale + shift.
    let batchNorm: (scale: [Double], shift: [Double])?
    /// [b_S(0), b_S(1), b_T(0), b_T(1), b_Q(0), b_Q(1)].
    let headBias: [Double]
    /// e^{c_S(mu)}, e^{c_Q(mu)} (ones without coefficients).
    let scaleFactor: [Double], transformationFactor: [Double]

    public init(model: L2ZModel, name: String, local: LocalNetworkSpec) throws {
        let spec = try model.sampler.network
        let k = local.kernelSize
        self.name = name
        kernelSize = k
        channels = [LocalNetworkRules.inputChannels] + spec.hiddenUnits
        guard let cl = spec.hiddenUnits.last, let c1 = spec.hiddenUnits.first else {
            throw L2ZError.manifestInvalidValue(path: "network.channels", expected: "at least one layer", actual: "[]")
        }
        func layer(_ l: String, _ inputs: Int, _ outputs: Int) throws -> DenseLayer {
            let kernel = try model.doubles("\(name).\(l).kernel"), bias = try model.doubles("\(name).\(l).bias")
            guard kernel.count == inputs * outputs, bias.count == outputs else {
                throw L2ZError.arrayMissing(name: "\(name).\(l).kernel", reason: "expected \(inputs * outputs) kernel and \(outputs) bias values")
            }
            return DenseLayer(kernel: kernel, bias: bias, inputs: inputs, outputs: outputs)
        }
        let ch = channels
        convs = try (0..<spec.hiddenUnits.count).map { try layer("conv\($0)", k * k * ch[$0], ch[$0 + 1]) }
        tLayer = spec.timeInput ? try layer("t_layer", 2, c1) : nil
        heads = try ["scale", "translation", "transformation"].map { try layer($0, cl, LocalNetworkRules.headChannels) }
        activation = spec.activation
        if let bn = spec.batchNorm {
            let gamma = try model.doubles("\(name).batch_norm.gamma"), beta = try model.doubles("\(name).batch_norm.beta")
            let mean = try model.doubles("\(name).batch_norm.moving_mean"), variance = try model.doubles("\(name).batch_norm.moving_variance")
            let scale = (0..<cl).map { gamma[$0] / (variance[$0] + bn.epsilon).squareRoot() }
            batchNorm = (scale, (0..<cl).map { beta[$0] - mean[$0] * scale[$0] })
        } else {
            batchNorm = nil
        }
        headBias = heads.flatMap(\.bias)
        scaleFactor = spec.scaleHead == .tanhExpCoeff ? try model.doubles("\(name).scale.coeff").map { Foundation.exp($0) } : [1, 1]
        transformationFactor = spec.transformationHead == .tanhExpCoeff ? try model.doubles("\(name).transformation.coeff").map { Foundation.exp($0) } : [1, 1]
    }

    /// Every kernel as a dense layer, in evaluation order (compression, spectra).
    public var layers: [(String, DenseLayer)] {
        var out = convs.enumerated().map { ("conv\($0.offset)", $0.element) }
        if let t = tLayer { out.append(("t_layer", t)) }
        out += zip(["scale", "translation", "transformation"], heads).map { ($0, $1) }
        return out
    }

    /// Widest channel count (workspace sizing) and widest im2col row.
    var maxChannels: Int { channels.max() ?? 1 }
    var maxPatch: Int { kernelSize * kernelSize * maxChannels }

    /// Multiply-adds per site of one evaluation (conv GEMMs and heads; the FLOP model / 2).
    public var multiplyAddsPerSite: Int {
        layers.filter { $0.0 != "t_layer" }.reduce(0) { $0 + $1.1.multiplyAddsPerRow }
    }

    /// Evaluates the network on `rows` = chains * V feature rows ([rows, 8] in `ws.features`):
    /// returns the raw heads [rows, 6] (S_0, S_1, T_0, T_1, Q_0, Q_1 before bias) in `ws.heads`.
    func evaluateRaw(rows: Int, geometry g: LocalGeometry, tau: (Double, Double)?, workspace ws: LocalWorkspace) {
        var input = UnsafePointer(ws.features.pointer)
        var a = ws.hiddenA.pointer, b = ws.hiddenB.pointer
        let kk = kernelSize * kernelSize
        for (i, conv) in convs.enumerated() {
            let cin = channels[i], cout = channels[i + 1]
            let patch: UnsafePointer<Double>
            if kk == 1 {
                patch = input
            } else {
                LocalNetwork.im2col(input, channels: cin, rows: rows, geometry: g, into: ws.patches.pointer)
                patch = UnsafePointer(ws.patches.pointer)
            }
            conv.multiply(patch, ldx: kk * cin, rows: rows, into: a, ldo: cout, accumulate: false, scratch: ws.scratch.pointer)
            let row = ws.row.pointer
            conv.bias.withUnsafeBufferPointer { row.update(from: $0.baseAddress!, count: cout) }
            if i == 0, let t = tLayer, let tau {
                for j in 0..<cout { row[j] += t.bias[j] }
                let tv = [tau.0, tau.1]
                tv.withUnsafeBufferPointer { t.multiply($0.baseAddress!, ldx: 2, rows: 1, into: row, ldo: cout, accumulate: true, scratch: ws.scratch.pointer) }
            }
            l2k_bias_activate(a, rows, cout, row, activation.kernelCode)
            input = UnsafePointer(a)
            swap(&a, &b)
        }
        let width = channels[channels.count - 1]
        let h = UnsafeMutablePointer(mutating: input)
        if let bn = batchNorm {
            bn.scale.withUnsafeBufferPointer { sc in bn.shift.withUnsafeBufferPointer { sh in
                VectorMath.scaleShiftRows(h, rows: rows, cols: width, scale: sc.baseAddress!, shift: sh.baseAddress!)
            } }
        }
        let c = LocalNetworkRules.headChannels
        for (j, head) in heads.enumerated() {
            head.multiply(input, ldx: width, rows: rows, into: ws.heads.pointer + j * c, ldo: 3 * c, accumulate: false, scratch: ws.scratch.pointer)
        }
    }

    /// col[m, (p k + q) C + c] = h[chain(m), neighbor(site(m), p, q), c] for rows m = chain V + site.
    static func im2col(_ h: UnsafePointer<Double>, channels cin: Int, rows: Int, geometry g: LocalGeometry, into col: UnsafeMutablePointer<Double>) {
        let kk = g.kernelSize * g.kernelSize, sites = g.volume, width = kk * cin
        g.neighbors.withUnsafeBufferPointer { nb in
            var m = 0
            while m < rows {
                let chainBase = h + (m / sites) * sites * cin
                for s in 0..<sites {
                    let dst = col + (m + s) * width
                    let taps = nb.baseAddress! + s * kk
                    for j in 0..<kk { (dst + j * cin).update(from: chainBase + Int(taps[j]) * cin, count: cin) }
                }
                m += sites
            }
        }
    }
}

/// Scratch space for local networks evaluated on up to `rows` (chain, site) rows at a time.
final class LocalWorkspace {
    let rows: Int
    let features: Buffer, patches: Buffer, hiddenA: Buffer, hiddenB: Buffer, scratch: Buffer, heads: Buffer, row: Buffer

    init(rows: Int, networks: [LocalNetwork]) {
        self.rows = rows
        let width = max(networks.map(\.maxChannels).max() ?? 1, LocalNetworkRules.inputChannels)
        let patch = networks.map(\.maxPatch).max() ?? 1
        features = Buffer(rows * LocalNetworkRules.inputChannels)
        patches = Buffer(rows * patch)
        hiddenA = Buffer(rows * width)
        hiddenB = Buffer(rows * width)
        scratch = Buffer(rows * width)  // a compressed kernel's rank is below its width
        heads = Buffer(rows * 3 * LocalNetworkRules.headChannels)
        row = Buffer(width)
    }
}
