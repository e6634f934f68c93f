import Foundation
import ModelFormat

/// A flow model x = f(z) on one lattice, for batches of chains (docs/FORMAT.md section 13):
/// ``forward(z:rows:x:logDet:)``, its inverse ``inverse(x:rows:z:logDet:)`` and the FT-HMC force
/// ``tildeAction(z:rows:force:action:)`` of S~(z) = S(f(z)) - log|det df/dz| by the runtime's
/// own reverse-mode pass (independent of the trainer's).
///
/// Numerical contract: float64 throughout (float32 weights are widened). Angles in [-pi, pi)
/// (inputs are wrapped first). The inverse solves each layer's mixture by safeguarded Newton to
/// a few ulp (``NCPMixture/solve(_:s:count:)``), so f^{-1}(f(z)) = z to about 1e-14 per link.
/// The lattice is any the mask rule allows (both sides multiples of 4): the weights do not
/// depend on it. Not thread-safe: one object per thread (``replica(capacity:)``).
public final class FlowMap {
    public let spec: FlowSpec
    /// The lattice this object runs on (may differ from the trained one).
    public let lattice: U1Lattice
    public let capacity: Int
    /// Links per chain, 2 lt lx.
    public let stateSize: Int
    private let masks: [FlowLayerMasks]
    private let networks: [FlowConvNetwork]
    private let action: TargetAction
    private let nMix: Int
    /// Per-layer input links of the last forward pass kept for the backward one [layers][capacity n].
    private let layerInputs: [Buffer]
    private let plaquettes: Buffer
    private let netGradOut: Buffer, netGradIn: Buffer
    private let grad: Buffer, scratch: Buffer, plaquetteGradient: Buffer, logDetScratch: Buffer

    /// Builds the flow of `model` (family `flow`) on `lattice` (nil: the trained one) for up to
    /// `capacity` chains per call. Throws `model.wrong_family` for another family and
    /// `run.model_target_mismatch` for a lattice the mask rule does not allow. `action`, when
    /// given, is the Wilson action S used for S~ (a run's target, so its force evaluations are
    /// counted); it must be that of `lattice` in link layout `mu_t_x`.
    public convenience init(model: L2ZModel, lattice: U1Lattice? = nil, capacity: Int, action: TargetAction? = nil) throws {
        let spec = try model.spec.flow()
        var l = lattice ?? spec.target
        l.linkLayout = .muTX
        do { try FlowRules.validate(lattice: l, rule: spec.coupling.maskRule, path: "lattice") } catch {
            throw InferenceError.modelTargetMismatch("the flow's masks (rule \(spec.coupling.maskRule.rawValue)) need both lattice sides to be multiples of 4, not \(l.lt)x\(l.lx)")
        }
        let c = spec.coupling, k = c.kernelSize
        var nets: [FlowConvNetwork] = []
        var workspace: FlowConvNetwork.Workspace?
        for i in 0..<c.layers {
            var convs: [FlowConvNetwork.Convolution] = []
            for (j, ch) in c.convolutionChannels.enumerated() {
                let kernel = try model.doubles(FlowRules.kernelName(layer: i, conv: j))
                let width = k * k * ch.cIn
                var transposed = [Double](repeating: 0, count: kernel.count)
                for r in 0..<width { for o in 0..<ch.cOut { transposed[o * width + r] = kernel[r * ch.cOut + o] } }
                convs.append(.init(cIn: ch.cIn, cOut: ch.cOut, kernel: Buffer(kernel), kernelTransposed: Buffer(transposed),
                                   bias: try model.doubles(FlowRules.biasName(layer: i, conv: j))))
            }
            let net = FlowConvNetwork(convolutions: convs, activation: c.activation, kernelSize: k, lt: l.lt, lx: l.lx, capacity: capacity, workspace: workspace)
            workspace = net.workspace   // every layer has the same architecture: one workspace for all
            nets.append(net)
        }
        if let a = action, a.u1Lattice != l {
            throw InferenceError.modelTargetMismatch("the flow's action must be the Wilson action of its \(l.lt)x\(l.lx) lattice in link layout mu_t_x")
        }
        self.init(spec: spec, lattice: l, capacity: capacity, networks: nets, action: action ?? U1Action(lattice: l))
    }

    private init(spec: FlowSpec, lattice: U1Lattice, capacity: Int, networks: [FlowConvNetwork], action: TargetAction) {
        self.spec = spec; self.lattice = lattice; self.capacity = capacity; self.networks = networks
        nMix = spec.coupling.nMix
        let n = 2 * lattice.lt * lattice.lx
        stateSize = n
        masks = (0..<spec.coupling.layers).map { FlowLayerMasks(layer: $0, lt: lattice.lt, lx: lattice.lx) }
        self.action = action
        let v = lattice.lt * lattice.lx
        layerInputs = (0..<spec.coupling.layers).map { _ in Buffer(capacity * n) }
        plaquettes = Buffer(capacity * v)
        netGradOut = Buffer(capacity * v * (spec.coupling.nMix + 1)); netGradIn = Buffer(capacity * v * 2)
        grad = Buffer(capacity * n); scratch = Buffer(capacity * n)
        plaquetteGradient = Buffer(capacity * v); logDetScratch = Buffer(capacity)
    }

    /// The same flow (weights shared, read-only) with its own workspace for `capacity` chains.
    public func replica(capacity: Int) -> FlowMap {
        var workspace: FlowConvNetwork.Workspace?
        let nets = networks.map { n -> FlowConvNetwork in
            let copy = n.replica(capacity: capacity, workspace: workspace)
            workspace = copy.workspace
            return copy
        }
        return FlowMap(spec: spec, lattice: lattice, capacity: capacity, networks: nets, action: action)
    }

    /// The Wilson action of this lattice (link layout `mu_t_x`).
    public var target: TargetAction { action }

    // MARK: Forward

    /// x = f(z) and log|det df/dz| per chain (`x` may equal `z`). Keeps each layer's input for a
    /// following reverse-mode pass.
    public func forward(z: UnsafePointer<Double>, rows: Int, x: UnsafeMutablePointer<Double>, logDet: UnsafeMutablePointer<Double>) {
        precondition(rows <= capacity)
        let n = stateSize
        for i in 0..<(rows * n) { x[i] = Angles.wrap(z[i]) }
        for r in 0..<rows { logDet[r] = 0 }
        for (i, m) in masks.enumerated() {
            layerInputs[i].pointer.update(from: x, count: rows * n)
            applyLayer(i, m, links: x, rows: rows, logDet: logDet)
        }
    }

    /// One coupling layer in place on `links`, adding its log-det.
    private func applyLayer(_ i: Int, _ m: FlowLayerMasks, links: UnsafeMutablePointer<Double>, rows: Int, logDet: UnsafeMutablePointer<Double>) {
        let n = stateSize, v = lattice.lt * lattice.lx, out = nMix + 1
        evaluateNetwork(i, m, links: links, rows: rows)
        let net = networks[i].output, p = plaquettes.pointer
        for r in 0..<rows {
            var sum = 0.0
            for (a, site) in m.activeSites.enumerated() {
                let theta = Angles.wrap(p[r * v + site])
                let o = net + (r * v + site) * out
                let (g, logJ) = NCPMixture.valueAndLogJacobian(theta, s: o, count: nMix)
                let newP = Angles.wrap(g + o[nMix])
                let link = r * n + m.activeLinks[a]
                links[link] = Angles.wrap(links[link] + m.sign * (newP - theta))
                sum += logJ
            }
            logDet[r] += sum
        }
    }

    /// Plaquettes of `links` into ``plaquettes`` and the network of layer i evaluated on the
    /// frozen ones: input (cos(m_f P), sin(m_f P)).
    private func evaluateNetwork(_ i: Int, _ m: FlowLayerMasks, links: UnsafePointer<Double>, rows: Int) {
        let v = lattice.lt * lattice.lx, p = plaquettes.pointer
        computePlaquettes(links, rows: rows, into: p)
        let input = networks[i].input
        for r in 0..<rows {
            for s in 0..<v {
                let angle = m.frozen[s] * p[r * v + s]
                input[(r * v + s) * 2] = cos(angle); input[(r * v + s) * 2 + 1] = sin(angle)
            }
        }
        networks[i].forward(chains: rows)
    }

    /// P(t, x) = z0(t, x) + z1(t+1, x) - z0(t, x+1) - z1(t, x), not wrapped, per chain and site.
    private func computePlaquettes(_ links: UnsafePointer<Double>, rows: Int, into p: UnsafeMutablePointer<Double>) {
        let lt = lattice.lt, lx = lattice.lx, n = stateSize, v = lt * lx
        for r in 0..<rows {
            let z = links + r * n
            for t in 0..<lt {
                let tp = (t + 1) % lt
                for x in 0..<lx {
                    let xp = (x + 1) % lx
                    p[r * v + t * lx + x] = z[t * lx + x] + z[v + tp * lx + x] - z[t * lx + xp] - z[v + t * lx + x]
                }
            }
        }
    }

    // MARK: Inverse

    /// z = f^{-1}(x) and log|det df/dz| at that z, per chain (`z` may equal `x`).
    public func inverse(x: UnsafePointer<Double>, rows: Int, z: UnsafeMutablePointer<Double>, logDet: UnsafeMutablePointer<Double>) {
        precondition(rows <= capacity)
        let n = stateSize, v = lattice.lt * lattice.lx, out = nMix + 1
        for i in 0..<(rows * n) { z[i] = Angles.wrap(x[i]) }
        for r in 0..<rows { logDet[r] = 0 }
        for i in stride(from: masks.count - 1, through: 0, by: -1) {
            let m = masks[i]
            // The frozen plaquettes are the layer's own, so the network sees what it saw forward.
            evaluateNetwork(i, m, links: z, rows: rows)
            let net = networks[i].output, p = plaquettes.pointer
            for r in 0..<rows {
                var sum = 0.0
                for (a, site) in m.activeSites.enumerated() {
                    let o = net + (r * v + site) * out
                    let current = Angles.wrap(p[r * v + site])
                    let theta = NCPMixture.solve(Angles.wrap(current - o[nMix]), s: o, count: nMix)
                    let link = r * n + m.activeLinks[a]
                    z[link] = Angles.wrap(z[link] - m.sign * (current - theta))
                    sum += NCPMixture.logJacobian(theta, s: o, count: nMix)
                }
                logDet[r] += sum
            }
        }
    }

    // MARK: FT-HMC action and force

    /// S~(z) = S(f(z)) - log|det df/dz| per chain into `action` (S = beta sum_P (1 - cos P)),
    /// its gradient dS~/dz into `force`, and f(z) into `x` when given. Reverse mode: dS/dx from
    /// the Wilson force, then back through each layer (the link update, the mixture, the
    /// network and its cos/sin input, the plaquettes).
    public func tildeAction(z: UnsafePointer<Double>, rows: Int, force: UnsafeMutablePointer<Double>, action out: UnsafeMutablePointer<Double>,
                            x xOut: UnsafeMutablePointer<Double>? = nil) {
        let n = stateSize
        precondition(rows <= capacity)
        let x = scratch.pointer, logDet = logDetScratch.pointer
        forward(z: z, rows: rows, x: x, logDet: logDet)
        action.action(x, rows: rows, into: out)
        for r in 0..<rows { out[r] -= logDet[r] }
        if let xOut { xOut.update(from: x, count: rows * n) }
        let g = grad.pointer
        action.force(x, rows: rows, into: g)   // dS/dx
        for i in stride(from: masks.count - 1, through: 0, by: -1) {
            backLayer(i, masks[i], gradient: g, rows: rows)
        }
        force.update(from: g, count: rows * n)
    }

    /// Replaces dL/d(output links of layer i) in `g` by dL/d(input links), L = S(x) - log det.
    private func backLayer(_ i: Int, _ m: FlowLayerMasks, gradient g: UnsafeMutablePointer<Double>, rows: Int) {
        let n = stateSize, lt = lattice.lt, lx = lattice.lx, v = lt * lx, out = nMix + 1
        let links = layerInputs[i].pointer
        evaluateNetwork(i, m, links: links, rows: rows)   // the forward values of this layer
        let net = networks[i].output, p = plaquettes.pointer
        let gOut = netGradOut.pointer
        gOut.update(repeating: 0, count: rows * v * out)
        // dL/dP per (chain, site): the active plaquettes through the transform, the frozen ones
        // through the network input.
        let gP = plaquetteGradient.pointer
        gP.update(repeating: 0, count: rows * v)
        let dgds = UnsafeMutablePointer<Double>.allocate(capacity: nMix), dlds = UnsafeMutablePointer<Double>.allocate(capacity: nMix)
        defer { dgds.deallocate(); dlds.deallocate() }
        for r in 0..<rows {
            for (a, site) in m.activeSites.enumerated() {
                let theta = Angles.wrap(p[r * v + site])
                let o = net + (r * v + site) * out
                let up = m.sign * g[r * n + m.activeLinks[a]]   // dL/d delta
                let (slope, dLdTheta) = NCPMixture.derivatives(theta, s: o, count: nMix, dgds: dgds, dlds: dlds)
                gP[r * v + site] += up * (slope - 1) - dLdTheta
                let go = gOut + (r * v + site) * out
                for k in 0..<nMix { go[k] = up * dgds[k] - dlds[k] }
                go[nMix] = up
            }
        }
        networks[i].backward(chains: rows, gradOut: gOut, gradInput: netGradIn.pointer)
        let gIn = netGradIn.pointer
        for r in 0..<rows {
            for s in 0..<v where m.frozen[s] != 0 {
                let angle = p[r * v + s]
                gP[r * v + s] += -sin(angle) * gIn[(r * v + s) * 2] + cos(angle) * gIn[(r * v + s) * 2 + 1]
            }
        }
        // P(t, x) = z0(t, x) + z1(t+1, x) - z0(t, x+1) - z1(t, x).
        for r in 0..<rows {
            let row = g + r * n
            for t in 0..<lt {
                let tp = (t + 1) % lt
                for x in 0..<lx {
                    let d = gP[r * v + t * lx + x]
                    if d == 0 { continue }
                    let xp = (x + 1) % lx
                    row[t * lx + x] += d; row[v + tp * lx + x] += d
                    row[t * lx + xp] -= d; row[v + t * lx + x] -= d
                }
            }
        }
    }
}

extension FlowMap {
    /// log w = log p(x) - log q(x) + const = -S(f(z)) + log|det df/dz| per row of z (the prior is
    /// uniform, so log r(z) is a constant): the importance weights of flow samples.
    public func logWeights(z: UnsafePointer<Double>, rows: Int) -> [Double] {
        var x = [Double](repeating: 0, count: rows * stateSize), logDet = [Double](repeating: 0, count: rows), s = logDet
        forward(z: z, rows: rows, x: &x, logDet: &logDet)
        target.action(x, rows: rows, into: &s)
        return (0..<rows).map { logDet[$0] - s[$0] }
    }
}
