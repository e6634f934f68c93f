import Foundation

/// The U(1) target's own loss terms on one batch: with delta_P = sum_P 1 - cos(phi'_P - phi_P)
/// and dQ_sin = sum_P (sin phi'_P - sin phi_P) / 2 pi,
/// l += w_P l_lambdaP(delta_P A) - w_Q (dQ_sin / lambda_Q)^2 A (seed 001 eq. 77, 80-81).
/// Gradients with respect to the plaquettes are collected per plaquette and scattered onto the
/// links once, in ``gradient()``.
struct U1LossTerms: TargetLossTerms {
    let target: U1TrainingTarget
    let settings: LossSettings
    /// [rows, V] plaquette angles before and after the trajectory.
    let phi0: Matrix
    let phi1: Matrix
    /// [rows, V] dl/dphi'_P, already multiplied by the batch weight.
    var plaquetteWeights: Matrix

    init(target: U1TrainingTarget, settings: LossSettings, phi0: Matrix, phi1: Matrix) {
        self.target = target; self.settings = settings; self.phi0 = phi0; self.phi1 = phi1
        plaquetteWeights = Matrix(zeros: phi0.rows, phi0.cols)
    }

    mutating func add(row r: Int, acceptance a: Double, weight: Double, loss: inout Double, dLdA: inout Double) -> Double {
        let v = target.links.count
        var deltaP = 0.0, q0 = 0.0, q1 = 0.0
        for p in 0..<v {
            deltaP += 1 - cos(phi1.data[r * v + p] - phi0.data[r * v + p])
            q0 += sin(phi0.data[r * v + p]); q1 += sin(phi1.data[r * v + p])
        }
        let chargeChange = (q1 - q0) / (2 * .pi)
        if settings.plaquetteWeight != 0 {
            let (lp, sp) = lambdaLoss(deltaP * a, settings.lambdaPlaquette, floor: settings.denominatorFloor)
            loss += settings.plaquetteWeight * lp
            dLdA += settings.plaquetteWeight * sp * deltaP
            let dLdDeltaP = settings.plaquetteWeight * sp * a
            for p in 0..<v { plaquetteWeights.data[r * v + p] += weight * dLdDeltaP * sin(phi1.data[r * v + p] - phi0.data[r * v + p]) }
        }
        if settings.chargeWeight != 0 {
            let l2 = settings.lambdaCharge * settings.lambdaCharge
            loss -= settings.chargeWeight * chargeChange * chargeChange / l2 * a
            dLdA -= settings.chargeWeight * chargeChange * chargeChange / l2
            let dLdQ1 = -settings.chargeWeight * 2 * chargeChange / l2 * a
            for p in 0..<v { plaquetteWeights.data[r * v + p] += weight * dLdQ1 * cos(phi1.data[r * v + p]) / (2 * .pi) }
        }
        return chargeChange
    }

    func gradient() -> Matrix { target.scatter(plaquetteWeights) }
}
