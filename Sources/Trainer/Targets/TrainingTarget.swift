import Foundation
import ModelFormat

/// A target for training owns its physics: U(x) scaled by an inverse temperature (beta annealing
/// for U(1), temperature annealing for mixtures), its gradient F = dU/dx, the Hessian-vector
/// product H w (F enters both the v update and the v-network input), the kinetic energy and
/// momentum refresh, the initialization distribution, the jump metric of the ESJD loss term, any
/// loss terms of its own, and the tunneling measure the trainer reports. The loss and the trainer
/// only call these; they never ask which concrete target they hold.
///
/// The trainer's dynamics assume unit masses: momenta are standard normal and K(v) = |v|^2 / 2
/// (the defaults below, written once). A target that changed them would also change the
/// dynamics, which this protocol does not allow for.
protocol TrainingTarget {
    var stateSize: Int { get }
    /// Positions are angles on [-pi, pi) (wrapped after every x update) rather than points of R^n.
    var isCompact: Bool { get }
    /// U(x) per row at coupling `scale` (beta for U(1), 1/T for mixtures).
    func energy(_ x: Matrix, scale: Double) -> [Double]
    /// F = dU/dx, [rows, n].
    func force(_ x: Matrix, scale: Double) -> Matrix
    /// (d^2 U / dx dx^T) w per row, at x.
    func hessianTimes(_ w: Matrix, at x: Matrix, scale: Double) -> Matrix
    /// K(v) per row.
    func kineticEnergy(_ v: Matrix) -> [Double]
    /// Fresh momenta for the global chain ids `chains` at training step `step`, drawn from
    /// exp(-K) with the counter-based stream of `purpose` (one row per chain).
    func refreshMomenta(_ random: TrainerRandom, step: Int, chains: Range<Int>, _ purpose: TrainerRandom.Purpose) -> Matrix
    /// Fresh positions from the initialization distribution (the chains' start and the
    /// auxiliary batch), one row per global chain id, from the stream of `purpose`.
    func drawInitial(_ random: TrainerRandom, step: Int, chains: Range<Int>, _ purpose: TrainerRandom.Purpose) -> Matrix
    /// The ESJD metric delta(x0, x1) of one row (1 - cos per link on U(1), squared Euclidean in R^D).
    func jumpDistance(from x0: Matrix, to x1: Matrix, row r: Int) -> Double
    /// Adds c d delta(x0, x1) / d x1 of one row into g.
    func addJumpGradient(from x0: Matrix, to x1: Matrix, row r: Int, times c: Double, into g: inout Matrix)
    /// The target's own loss terms on a batch (nil: none), evaluated after the ESJD term.
    func lossTerms(from x0: Matrix, to x1: Matrix, settings: LossSettings) -> TargetLossTerms?
    /// What the trainer reports as tunneling between the chains `before` and `after`
    /// accept/reject, summed over the rows in row order (the trainer divides by the chain count).
    func tunnelingSum(before: Matrix, after: Matrix) -> Double
}

extension TrainingTarget {
    /// K = sum_i v_i^2 / 2 per row (unit masses), summed in coordinate order.
    func kineticEnergy(_ v: Matrix) -> [Double] {
        let n = v.cols
        return (0..<v.rows).map { r in
            var k = 0.0
            for i in 0..<n { k += 0.5 * v.data[r * n + i] * v.data[r * n + i] }
            return k
        }
    }

    /// Standard normal momenta (unit masses): n normals of each chain's stream.
    func refreshMomenta(_ random: TrainerRandom, step: Int, chains: Range<Int>, _ purpose: TrainerRandom.Purpose) -> Matrix {
        random.normals(step: step, chains: chains, n: stateSize, purpose)
    }
}

/// Loss terms a target adds to the ESJD term for one batch (built by
/// ``TrainingTarget/lossTerms(from:to:settings:)``). The loss calls ``add(row:acceptance:weight:loss:dLdA:)``
/// once per row, in row order, after the ESJD term of that row, then adds ``gradient()`` to dl/dx'.
protocol TargetLossTerms {
    /// Adds this row's terms to `loss` and to dl/dA, records their dl/dx' (times `weight`), and
    /// returns the row's topological-charge change (0 where the target has none).
    mutating func add(row r: Int, acceptance a: Double, weight: Double, loss: inout Double, dLdA: inout Double) -> Double
    /// dl/dx' of every row's terms, [rows, n].
    func gradient() -> Matrix
}

/// l_lambda(y) = lambda^2 / (y + floor) - y / lambda^2 and its slope, shared by the loss terms.
func lambdaLoss(_ y: Double, _ lambda: Double, floor: Double) -> (value: Double, slope: Double) {
    let l2 = lambda * lambda, yf = y + floor
    return (l2 / yf - y / l2, -l2 / (yf * yf) - 1 / l2)
}
