import Foundation

/// The reverse-KL loss of a flow (seed 004 eqs. 3-4) on one batch of prior draws z (uniform on
/// [-pi, pi)^n): x = f(z), log q(x) = -n log(2 pi) - log|det J_f(z)|, log p(x) = -S(x) (up to
/// log Z), loss = mean_batch [log q(x) - log p(x)] = mean[-n log(2 pi) - logdet + S(x)], and its
/// gradient w.r.t. every kernel and bias: dL/dx = (1/B) dS/dx, dL/dlogdet = -1/B per chain,
/// through ``TrainableFlow/backward(_:gx:gLogDet:lattice:grads:)``. The importance log-weights
/// log w = log p - log q are minus the per-chain losses.
struct FlowReverseKL {
    let action: FlowGaugeAction

    struct Evaluation {
        /// The batch mean.
        var loss: Double
        /// log q - log p per chain.
        var perChain: [Double]
        var logDet: [Double]
        var actionValues: [Double]
        /// ``FlowESS`` of the batch.
        var ess: Double
    }

    /// The loss of batch z; with `grads` non-nil, its gradient is added there.
    func evaluate(_ flow: TrainableFlow, z: Matrix, grads: inout [Double]?) -> Evaluation {
        let lattice = action.lattice, rows = z.rows
        let f = flow.forward(z, lattice: lattice)
        let s = action.action(f.x)
        let logPrior = -Double(z.cols) * log(2 * Double.pi)
        let perChain = (0..<rows).map { logPrior - f.logDet[$0] + s[$0] }
        if var g = grads {
            grads = nil  // g is then the only reference: accumulated in place
            let w = 1 / Double(rows)
            let gx = action.gradient(f.x, weights: [Double](repeating: w, count: rows))
            _ = flow.backward(f.tape, gx: gx, gLogDet: [Double](repeating: -w, count: rows), lattice: lattice, grads: &g)
            grads = g
        }
        return Evaluation(loss: perChain.reduce(0, +) / Double(rows), perChain: perChain, logDet: f.logDet, actionValues: s,
                          ess: FlowESS.perSample(logWeights: perChain.map { -$0 }))
    }
}
