import ModelFormat

/// The network of one sub-update, of either kind, with its inputs: it maps positions x (read
/// through the update's read mask, x-networks), the other input (momenta v for x-networks, the
/// force F for v-networks) and tau_k to S, T, Q per coordinate, and back.
///
/// dense: ``TrainEncoder`` of x, then ``TrainableNetwork`` on (encoded x, other, tau);
/// local: ``LocalSiteFeatures`` of (x, read, other), then ``TrainableLocalNetwork``.
/// The sub-update rules (``VHalfStep``, ``MaskedXUpdate``) see only this seam, so both kinds
/// run the same trajectory, loss and training.
enum SubUpdateNetwork {
    case dense(TrainableNetwork, encoder: TrainEncoder)
    case local(TrainableLocalNetwork)

    var name: String {
        switch self {
        case let .dense(net, _): return net.name
        case let .local(net): return net.name
        }
    }

    /// The dense network (nil for a local one).
    var dense: TrainableNetwork? {
        if case let .dense(net, _) = self { return net }
        return nil
    }

    /// The local network (nil for a dense one).
    var local: TrainableLocalNetwork? {
        if case let .local(net) = self { return net }
        return nil
    }

    func addParameters(to store: inout ParameterStore, rng: inout SplitMix64, kernelScale: Double) {
        switch self {
        case let .dense(net, _): net.addParameters(to: &store, rng: &rng, kernelScale: kernelScale)
        case let .local(net): net.addParameters(to: &store, rng: &rng, kernelScale: kernelScale)
        }
    }

    /// S, T, Q ([rows, n], net weights applied) of positions `x` read through `read` (nil: all),
    /// the other input `other` ([rows, n]) and tau.
    func forward(x: Matrix, read: [Double]?, other: Matrix, tau: [Double]?, weights: (s: Double, t: Double, q: Double),
                 params: ParameterStore) -> NetworkCall {
        switch self {
        case let .dense(net, encoder):
            return .dense(net.forward(xIn: encoder.encode(x, read: read), vIn: other, tau: tau, weights: weights, params: params), x: x, read: read)
        case let .local(net):
            return .local(net.forward(x: x, read: read, other: other, tau: tau, weights: weights, params: params))
        }
    }

    /// Accumulates parameter gradients into `grads`; returns dL/dx (through the inputs only)
    /// and dL/d(other), [rows, n] each.
    func backward(_ call: NetworkCall, dS: Matrix, dT: Matrix, dQ: Matrix, params: ParameterStore, grads: inout [Double]) -> (gx: Matrix, gOther: Matrix) {
        switch (self, call) {
        case let (.dense(net, encoder), .dense(cache, x, read)):
            let (gEnc, gOther) = net.backward(cache, dS: dS, dT: dT, dQ: dQ, params: params, grads: &grads)
            return (encoder.backward(gEnc, at: x, read: read), gOther)
        case let (.local(net), .local(cache)):
            return net.backward(cache, dS: dS, dT: dT, dQ: dQ, params: params, grads: &grads)
        default:
            preconditionFailure("a network call replayed through the other network kind")
        }
    }
}

/// One network evaluation on the tape: outputs, exact inputs and what the backward rule needs.
enum NetworkCall {
    /// A dense network's cache, and the positions and read mask its encoded input came from.
    case dense(TrainableNetwork.Cache, x: Matrix, read: [Double]?)
    case local(TrainableLocalNetwork.Cache)

    /// Outputs with the net weights applied, [rows, n].
    var s: Matrix {
        switch self { case let .dense(c, _, _): return c.s; case let .local(c): return c.s }
    }
    var t: Matrix {
        switch self { case let .dense(c, _, _): return c.t; case let .local(c): return c.t }
    }
    var q: Matrix {
        switch self { case let .dense(c, _, _): return c.q; case let .local(c): return c.q }
    }
    var tau: [Double]? {
        switch self { case let .dense(c, _, _): return c.tau; case let .local(c): return c.tau }
    }
    var weights: (s: Double, t: Double, q: Double) {
        switch self { case let .dense(c, _, _): return c.weights; case let .local(c): return c.weights }
    }
    /// The network's exact first input: dense, the encoded x [rows, xWidth]; local, the per-site
    /// features [rows, sites * 8] (site s = t lx + x, the 8 channels innermost).
    var xIn: Matrix {
        switch self {
        case let .dense(c, _, _): return c.xIn
        case let .local(c): return Matrix(rows: c.rows, cols: c.input.data.count / max(c.rows, 1), data: c.input.data)
        }
    }
    /// The network's exact second input: dense, v or F [rows, n]; local, empty [rows, 0] (the
    /// momenta or force are channels 6 and 7 of ``xIn``).
    var vIn: Matrix {
        switch self {
        case let .dense(c, _, _): return c.vIn
        case let .local(c): return Matrix(zeros: c.rows, 0)
        }
    }
}
