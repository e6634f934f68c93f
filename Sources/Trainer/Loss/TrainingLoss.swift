import Foundation
import ModelFormat

/// The per-chain loss and its gradient with respect to the trajectory's end point.
///
/// With dH = U(x') + |v'|^2/2 - U(x) - |v|^2/2 and A = min(1, exp(-dH + logdet)):
/// l = w_E l_lambda(delta A) + w_P l_lambdaP(delta_P A) - w_Q (dQ_sin / lambda_Q)^2 A, with
/// l_lambda(y) = lambda^2 / (y + floor) - y / lambda^2. Gradients flow through A (zero where it
/// is clipped at 1), the distances, and the log-det.
struct TrainingLoss {
    let settings: LossSettings
    let target: TrainingTarget

    struct Evaluation {
        var loss: [Double]
        var acceptance: [Double]
        /// The metric distance delta(x, x') per chain (before weighting by A).
        var distance: [Double]
        var chargeChange: [Double]
        /// dl/dx', dl/dv', dl/dlogdet per chain, already multiplied by `weight`.
        var gx: Matrix
        var gv: Matrix
        var gLogDet: [Double]
    }

    private func lambdaLoss(_ y: Double, _ lambda: Double) -> (value: Double, slope: Double) {
        let l2 = lambda * lambda, yf = y + settings.denominatorFloor
        return (l2 / yf - y / l2, -l2 / (yf * yf) - 1 / l2)
    }

    /// `weight` multiplies every chain's loss (1/chains for a mean; lambda_b/chains for the
    /// auxiliary batch).
    func evaluate(x0: Matrix, v0: Matrix, x1: Matrix, v1: Matrix, logDet: [Double], scale: Double, weight: Double) -> Evaluation {
        let rows = x0.rows, n = target.stateSize
        let u0 = target.energy(x0, scale: scale), u1 = target.energy(x1, scale: scale)
        let f1 = target.force(x1, scale: scale)
        let u1Target = target as? U1TrainingTarget
        let phi0 = u1Target?.plaquettes(x0), phi1 = u1Target?.plaquettes(x1)
        var e = Evaluation(loss: [], acceptance: [], distance: [], chargeChange: [], gx: Matrix(zeros: rows, n), gv: Matrix(zeros: rows, n), gLogDet: [])
        // Per-plaquette gradient weights for the plaquette and charge terms, scattered later.
        var plaquetteWeights = phi0.map { Matrix(zeros: rows, $0.cols) }
        for r in 0..<rows {
            var kinetic0 = 0.0, kinetic1 = 0.0
            for i in 0..<n { kinetic0 += 0.5 * v0.data[r * n + i] * v0.data[r * n + i]; kinetic1 += 0.5 * v1.data[r * n + i] * v1.data[r * n + i] }
            let arg = -(u1[r] + kinetic1 - u0[r] - kinetic0) + logDet[r]
            let clipped = !(arg < 0)
            let a = clipped ? 1 : exp(arg)
            // Distance and its gradient direction.
            var delta = 0.0
            for i in 0..<n {
                let d = x1.data[r * n + i] - x0.data[r * n + i]
                delta += target.isCompact ? 1 - cos(d) : d * d
            }
            var loss = 0.0, dLdA = 0.0
            let (le, se) = lambdaLoss(delta * a, settings.lambda)
            loss += settings.esjdWeight * le
            dLdA += settings.esjdWeight * se * delta
            let dLdDelta = settings.esjdWeight * se * a
            for i in 0..<n {
                let d = x1.data[r * n + i] - x0.data[r * n + i]
                e.gx.data[r * n + i] += weight * dLdDelta * (target.isCompact ? sin(d) : 2 * d)
            }
            var chargeChange = 0.0
            if let phi0, let phi1, let ut = u1Target {
                let v = ut.links.count
                var deltaP = 0.0, q0 = 0.0, q1 = 0.0
                for p in 0..<v {
                    deltaP += 1 - cos(phi1.data[r * v + p] - phi0.data[r * v + p])
                    q0 += sin(phi0.data[r * v + p]); q1 += sin(phi1.data[r * v + p])
                }
                chargeChange = (q1 - q0) / (2 * .pi)
                if settings.plaquetteWeight != 0 {
                    let (lp, sp) = lambdaLoss(deltaP * a, settings.lambdaPlaquette)
                    loss += settings.plaquetteWeight * lp
                    dLdA += settings.plaquetteWeight * sp * deltaP
                    let dLdDeltaP = settings.plaquetteWeight * sp * a
                    for p in 0..<v { plaquetteWeights?.data[r * v + p] += weight * dLdDeltaP * sin(phi1.data[r * v + p] - phi0.data[r * v + p]) }
                }
                if settings.chargeWeight != 0 {
                    let l2 = settings.lambdaCharge * settings.lambdaCharge
                    loss -= settings.chargeWeight * chargeChange * chargeChange / l2 * a
                    dLdA -= settings.chargeWeight * chargeChange * chargeChange / l2
                    let dLdQ1 = -settings.chargeWeight * 2 * chargeChange / l2 * a
                    for p in 0..<v { plaquetteWeights?.data[r * v + p] += weight * dLdQ1 * cos(phi1.data[r * v + p]) / (2 * .pi) }
                }
            }
            // Through A = exp(arg) when not clipped: dA/dx' = -A F(x'), dA/dv' = -A v', dA/dlogdet = A.
            let gA = clipped ? 0 : weight * dLdA * a
            for i in 0..<n {
                e.gx.data[r * n + i] -= gA * f1.data[r * n + i]
                e.gv.data[r * n + i] = -gA * v1.data[r * n + i]
            }
            e.gLogDet.append(gA)
            e.loss.append(loss)
            e.acceptance.append(a)
            e.distance.append(delta)
            e.chargeChange.append(chargeChange)
        }
        if let w = plaquetteWeights, let ut = u1Target {
            let g = ut.scatter(w)
            for i in 0..<g.data.count { e.gx.data[i] += g.data[i] }
        }
        return e
    }
}
