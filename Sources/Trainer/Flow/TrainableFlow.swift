import Foundation
import ModelFormat

/// The trainer's own U(1) plaquette-coupling flow x = f(z) (/work/flow-contract.md), batched
/// over chains, with a hand-written reverse mode; independent of the runtime's implementation
/// (the golden tests compare the two).
///
/// State: [chains, n] in the link layout `mu_t_x`, n = 2 lt lx. Layer i (mask
/// ``FlowLattice/mask(layer:)``):
/// 1. P = plaquettes of z_in; network input per site (cos(m_f P), sin(m_f P)), m_f the frozen mask;
/// 2. (s_0..s_{nMix-1}, t) = the layer's ``FlowConvNet``;
/// 3. at each active site theta = wrap(P), P' = ``NCPMixture`` of (theta, s, t),
///    delta = P' - theta; the active link becomes wrap(link + sign delta) (sign +1 for mu = 0,
///    -1 for mu = 1); log|det| gains logJ_site. Other links are unchanged (not re-wrapped).
/// f = layer_{N-1} o ... o layer_0, log|det J_f| = sum of the layers' logJ.
///
/// Parameters live in a ``ParameterStore`` under `layer<i>.conv<j>.kernel` [k, k, c_in, c_out]
/// and `layer<i>.conv<j>.bias` [c_out] (the `.l2z` family `flow` array names).
public struct TrainableFlow: Sendable {
    public let architecture: FlowArchitecture
    public var params: ParameterStore

    /// PyTorch's default Conv2d initialization (what upstream's flows start from): every kernel
    /// entry and bias uniform in +-scale/sqrt(fan_in), fan_in = k^2 c_in, drawn from SplitMix64(seed)
    /// in parameter order (layer, conv, kernel then bias, row-major).
    public init(architecture a: FlowArchitecture, seed: UInt64, scale: Double = 1) {
        architecture = a
        var rng = SplitMix64(seed: seed)
        var store = ParameterStore()
        let c = a.channels, k = a.kernelSize
        for i in 0..<a.layers {
            for j in 0..<(c.count - 1) {
                let limit = scale / Double(k * k * c[j]).squareRoot()
                func draw(_ count: Int) -> [Double] { (0..<count).map { _ in limit * (2 * rng.uniform() - 1) } }
                store.add(FlowArchitecture.kernelName(layer: i, conv: j), shape: [k, k, c[j], c[j + 1]], values: draw(k * k * c[j] * c[j + 1]))
                store.add(FlowArchitecture.biasName(layer: i, conv: j), shape: [c[j + 1]], values: draw(c[j + 1]))
            }
        }
        params = store
    }

    func network(layer i: Int) -> FlowConvNet {
        FlowConvNet(layer: i, channels: architecture.channels, kernelSize: architecture.kernelSize, activation: architecture.activation)
    }

    /// What one layer's backward pass needs: the plaquettes of its input and its network's cache.
    struct LayerTape {
        let plaquettes: [Double]
        let net: FlowConvNet.Cache
    }

    struct Tape {
        let rows: Int
        var layers: [LayerTape]
    }

    /// x = f(z) and log|det J_f(z)| per chain, with the tape for ``backward(_:gx:gLogDet:lattice:grads:)``.
    func forward(_ z: Matrix, lattice: FlowLattice) -> (x: Matrix, logDet: [Double], tape: Tape) {
        var x = z, logDet = [Double](repeating: 0, count: z.rows)
        var tape = Tape(rows: z.rows, layers: [])
        for i in 0..<architecture.layers { tape.layers.append(forwardLayer(i, &x, logDet: &logDet, lattice: lattice)) }
        return (x, logDet, tape)
    }

    /// Coupling layer i applied to `z` in place; its logJ is added to `logDet`.
    func forwardLayer(_ i: Int, _ z: inout Matrix, logDet: inout [Double], lattice: FlowLattice) -> LayerTape {
        let mask = lattice.mask(layer: i), rows = z.rows, n = z.cols, sites = lattice.sites, nMix = architecture.nMix, width = nMix + 1
        let plaq = lattice.plaquettes(z)
        var input = Matrix(zeros: rows * sites, 2)
        for r in 0..<rows {
            for s in 0..<sites {
                let p = plaq[r * sites + s], frozen = mask.frozen[s]
                input.data[(r * sites + s) * 2] = frozen ? cos(p) : 1
                input.data[(r * sites + s) * 2 + 1] = frozen ? sin(p) : 0
            }
        }
        let net = network(layer: i).forward(input, lattice: lattice, params: params)
        net.output.data.withUnsafeBufferPointer { out in
            guard let base = out.baseAddress else { return }
            for r in 0..<rows {
                for (a, s) in mask.activeSites.enumerated() {
                    let row = base + (r * sites + s) * width, theta = NCPMixture.wrap(plaq[r * sites + s])
                    let site = NCPMixture.evaluate(theta: theta, s: row, t: row[nMix], nMix: nMix, dPds: nil, dLogJds: nil)
                    let l = r * n + mask.activeLinks[a]
                    z.data[l] = NCPMixture.wrap(z.data[l] + mask.sign * (site.pPrime - theta))
                    logDet[r] += site.logJ
                }
            }
        }
        return LayerTape(plaquettes: plaq, net: net)
    }

    /// Given gx = dL/dx ([chains, n]) and gLogDet = dL/d(log|det J_f|) per chain, returns dL/dz
    /// and adds dL/d(every kernel and bias) to `grads` (indexed like ``params``).
    func backward(_ tape: Tape, gx: Matrix, gLogDet: [Double], lattice: FlowLattice, grads: inout [Double]) -> Matrix {
        var g = gx
        for i in stride(from: architecture.layers - 1, through: 0, by: -1) {
            backwardLayer(i, tape.layers[i], &g, gLogDet: gLogDet, lattice: lattice, grads: &grads)
        }
        return g
    }

    /// Turns dL/dz_out into dL/dz_in in place for layer i. z_out = z_in + sign delta at the
    /// active links, so dL/dz_out passes through unchanged and each active site adds
    /// gDelta = sign dL/dz_out[link] times d(delta) plus gLogDet times d(logJ_site), through
    /// theta (the plaquette, four links) and through s, t (the network, the frozen plaquettes).
    func backwardLayer(_ i: Int, _ tape: LayerTape, _ g: inout Matrix, gLogDet: [Double], lattice: FlowLattice, grads: inout [Double]) {
        let mask = lattice.mask(layer: i), rows = g.rows, n = g.cols, sites = lattice.sites, nMix = architecture.nMix, width = nMix + 1
        var gPlaq = [Double](repeating: 0, count: rows * sites)
        var dOut = Matrix(zeros: rows * sites, width)
        var dPds = [Double](repeating: 0, count: nMix), dLds = dPds
        tape.net.output.data.withUnsafeBufferPointer { out in
            dPds.withUnsafeMutableBufferPointer { dp in dLds.withUnsafeMutableBufferPointer { dl in
                guard let base = out.baseAddress, let dpb = dp.baseAddress, let dlb = dl.baseAddress else { return }
                for r in 0..<rows {
                    for (a, s) in mask.activeSites.enumerated() {
                        let row = base + (r * sites + s) * width, theta = NCPMixture.wrap(tape.plaquettes[r * sites + s])
                        let site = NCPMixture.evaluate(theta: theta, s: row, t: row[nMix], nMix: nMix, dPds: dpb, dLogJds: dlb)
                        let gDelta = mask.sign * g.data[r * n + mask.activeLinks[a]], gL = gLogDet[r]
                        gPlaq[r * sites + s] += gDelta * (site.dPdTheta - 1) + gL * site.dLogJdTheta
                        let o = (r * sites + s) * width
                        for k in 0..<nMix { dOut.data[o + k] = gDelta * dpb[k] + gL * dlb[k] }
                        dOut.data[o + nMix] = gDelta
                    }
                }
            } }
        }
        let dIn = network(layer: i).backward(tape.net, dOut: dOut, lattice: lattice, params: params, grads: &grads)
        for r in 0..<rows {
            for s in 0..<sites where mask.frozen[s] {
                let p = tape.plaquettes[r * sites + s], o = (r * sites + s) * 2
                gPlaq[r * sites + s] += -sin(p) * dIn.data[o] + cos(p) * dIn.data[o + 1]
            }
        }
        lattice.addPlaquetteGradient(gPlaq, to: &g)
    }
}
