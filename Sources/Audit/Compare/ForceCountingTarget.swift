import Foundation
import Inference
import ModelFormat

/// A target that passes every call to another one and counts the rows of every force
/// evaluation: `compare` reads the force evaluations per trajectory from what the samplers
/// actually compute (``LeapfrogDynamics`` evaluates N_LF + 1 forces per trajectory, the L2HMC
/// v updates one per step plus the first), not from an assumption. Thread-safe (tiles run on
/// several threads).
final class ForceCountingTarget: TargetAction {
    let base: TargetAction
    private let lock = NSLock()
    private var rows = 0

    init(_ base: TargetAction) { self.base = base }

    /// Force rows evaluated since the last ``reset()``.
    var forceRows: Int { lock.lock(); defer { lock.unlock() }; return rows }
    func reset() { lock.lock(); rows = 0; lock.unlock() }

    var stateSize: Int { base.stateSize }
    var isCompact: Bool { base.isCompact }
    func action(_ x: UnsafePointer<Double>, rows: Int, into out: UnsafeMutablePointer<Double>) { base.action(x, rows: rows, into: out) }
    func force(_ x: UnsafePointer<Double>, rows count: Int, into out: UnsafeMutablePointer<Double>) {
        base.force(x, rows: count, into: out)
        lock.lock(); rows += count; lock.unlock()
    }
    func refreshMomentum(_ random: ChainRandom, trajectory: UInt32, chain: UInt32, into v: UnsafeMutablePointer<Double>) {
        base.refreshMomentum(random, trajectory: trajectory, chain: chain, into: v)
    }
    func kineticEnergy(_ v: UnsafePointer<Double>) -> Double { base.kineticEnergy(v) }
    var observables: [Observable] { base.observables }
    func measure(_ x: UnsafePointer<Double>, rows: Int) -> [[Double]] { base.measure(x, rows: rows) }
    var estimators: [Estimator] { base.estimators }
    var u1Lattice: U1Lattice? { base.u1Lattice }
}
