import Foundation
import ModelFormat

/// The per-chain loss and its gradient with respect to the trajectory's end point.
///
/// With dH = U(x') + |v'|^2/2 - U(x) - |v|^2/2 and A = min(1, exp(-dH + logdet)):
/// l = w_E l_lambda(delta A) - w_A A plus the target's own terms (U(1): ``U1LossTerms``), with
/// l_lambda(y) = lambda^2 / (y + floor) - y / lambda^2. Gradients flow through A (zero where it
/// is clipped at 1), the distances, and the log-det. Every target-specific quantity (energies,
/// kinetic energy, jump metric, the U(1) plaquette and charge terms) comes from the target.
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

    /// `weight` multiplies every chain's loss (1/chains for a mean; lambda_b/chains for the
    /// auxiliary batch).
    func evaluate(x0: Matrix, v0: Matrix, x1: Matrix, v1: Matrix, logDet: [Double], scale: Double, weight: Double) -> Evaluation {
        let rows = x0.rows, n = target.stateSize
        let u0 = target.energy(x0, scale: scale), u1 = target.energy(x1, scale: scale)
        let k0 = target.kineticEnergy(v0), k1 = target.kineticEnergy(v1)
        let f1 = target.force(x1, scale: scale)
        var terms = target.lossTerms(from: x0, to: x1, settings: settings)
        var e = Evaluation(loss: [], acceptance: [], distance: [], chargeChange: [], gx: Matrix(zeros: rows, n), gv: Matrix(zeros: rows, n), gLogDet: [])
        for r in 0..<rows {
            let arg = -(u1[r] + k1[r] - u0[r] - k0[r]) + logDet[r]
            let clipped = !(arg < 0)
            let a = clipped ? 1 : exp(arg)
            // The ESJD term: distance and its gradient direction.
            let delta = target.jumpDistance(from: x0, to: x1, row: r)
            var loss = 0.0, dLdA = 0.0
            let (le, se) = lambdaLoss(delta * a, settings.lambda, floor: settings.denominatorFloor)
            loss += settings.esjdWeight * le
            dLdA += settings.esjdWeight * se * delta
            let dLdDelta = settings.esjdWeight * se * a
            target.addJumpGradient(from: x0, to: x1, row: r, times: weight * dLdDelta, into: &e.gx)
            // The target's own terms (U(1): plaquette and charge).
            let chargeChange = terms?.add(row: r, acceptance: a, weight: weight, loss: &loss, dLdA: &dLdA) ?? 0
            // The acceptance reward -w_A A.
            loss -= settings.acceptanceWeight * a
            dLdA -= settings.acceptanceWeight
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
        if let g = terms?.gradient() {
            for i in 0..<g.data.count { e.gx.data[i] += g.data[i] }
        }
        return e
    }
}
