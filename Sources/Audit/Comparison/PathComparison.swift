import Foundation
import Inference
import ModelFormat
import Trainer

/// Runs the Trainer path and the Inference path on identical weights and inputs and reports,
/// per quantity, the largest deviation (relative to max(1, |value|) unless stated).
///
/// Bounds (documented with their derivation in ``AuditTolerances``): network heads S, T, Q
/// ``AuditTolerances/heads`` (1e-12); states x (angle-aware) and v after each sub-update
/// ``AuditTolerances/state`` (1e-11); running log-det ``AuditTolerances/logDet`` (1e-10 absolute);
/// acceptance probability ``AuditTolerances/acceptance`` (1e-10 absolute).
public struct PathComparison: Sendable {
    /// The largest deviation of one quantity at one leapfrog step.
    public struct Deviation: CustomStringConvertible, Sendable {
        public let quantity: String
        public let step: Int
        public let maxDifference: Double
        public let tolerance: Double
        public let firstValues: (trainer: Double, inference: Double)
        public var passed: Bool { maxDifference <= tolerance }
        public var description: String {
            String(format: "%@ at step %d: max |diff| %.3e (tolerance %.1e), first differing values trainer %.17g, inference %.17g",
                   quantity, step, maxDifference, tolerance, firstValues.trainer, firstValues.inference)
        }
    }

    public static let headsTolerance = AuditTolerances.heads.bound
    public static let stateTolerance = AuditTolerances.state.bound
    public static let logDetTolerance = AuditTolerances.logDet.bound
    public static let acceptanceTolerance = AuditTolerances.acceptance.bound

    public var deviations: [Deviation] = []
    public var failures: [Deviation] { deviations.filter { !$0.passed } }

    public init() {}

    /// Records the largest deviation between `trainer` (the reference) and `inference`
    /// (angle-aware when `angles`; relative to max(1, |trainer|) when `relative`). A NaN or a
    /// length mismatch is an infinite deviation.
    public mutating func compare(_ quantity: String, step: Int, trainer: [Double], inference: [Double], tolerance: Double, angles: Bool = false, relative: Bool = true) {
        var worst = 0.0, first: (Double, Double)?
        for (a, b) in zip(trainer, inference) {
            var d = angles ? abs(Angles.wrap(a - b)) : abs(a - b)
            if relative { d /= max(1, abs(a)) }
            if !(d <= tolerance) && first == nil { first = (a, b) }
            if d > worst || d.isNaN { worst = d.isNaN ? .infinity : d }
        }
        if trainer.count != inference.count { worst = .infinity }
        deviations.append(Deviation(quantity: quantity, step: step, maxDifference: worst, tolerance: tolerance,
                                    firstValues: first ?? (trainer.first ?? .nan, inference.first ?? .nan)))
    }

    /// Compares a trainer model (the reference) with an inference model (possibly the same
    /// weights, or a mutated export) on `rows` chains in one direction, from random states and
    /// momenta drawn with `seed`: every sub-update's state and log-det, every network
    /// evaluation, and the acceptance.
    public static func run(trainerModel: TrainerModel, inferenceModel: L2ZModel, rows: Int, forward: Bool, seed: UInt64) throws -> PathComparison {
        let spec = try inferenceModel.sampler
        let n = spec.stateSize
        let target = makeTarget(spec.target)
        var rng = SplitMix64(seed: seed)
        let x0 = (0..<(rows * n)).map { _ in target.isCompact ? Angles.wrap(2 * .pi * rng.uniform() - .pi) : rng.normal() }
        let v0 = (0..<(rows * n)).map { _ in rng.normal() }
        let scale: Double
        if case let .u1(l) = trainerModel.spec.target { scale = l.beta } else { scale = 1 }

        let reference = TrainerRecompute.trajectory(trainerModel, x0: x0, v0: v0, rows: rows, forward: forward, scale: scale)
        let dyn = try L2HMCDynamics(model: inferenceModel, target: target, nLF: nil, mapping: nil, capacity: rows)
        var c = PathComparison()

        // Every sub-update: the runtime reports its state after each one (v', x', x'', v'').
        var observed: [(step: Int, stage: String, x: [Double], v: [Double], logDet: [Double])] = []
        dyn.subUpdateObserver = { k, stage, xp, vp, lp in
            observed.append((k, stage, Array(UnsafeBufferPointer(start: xp, count: rows * n)),
                             Array(UnsafeBufferPointer(start: vp, count: rows * n)), Array(UnsafeBufferPointer(start: lp, count: rows))))
        }
        let x = Buffer(x0), v = Buffer(v0), ld = Buffer(rows)
        if forward { dyn.forward(x: x.pointer, v: v.pointer, rows: rows, logDet: ld.pointer) } else {
            dyn.backward(x: x.pointer, v: v.pointer, rows: rows, logDet: ld.pointer)
        }
        dyn.subUpdateObserver = nil
        if observed.count != reference.subUpdates.count {
            c.deviations.append(Deviation(quantity: "number of sub-updates", step: -1, maxDifference: .infinity, tolerance: 0,
                                          firstValues: (Double(reference.subUpdates.count), Double(observed.count))))
        }
        for (sub, obs) in zip(reference.subUpdates, observed) {
            let label = "\(sub.stage) (\(obs.stage))"
            if sub.stage != obs.stage || sub.step != obs.step {
                c.deviations.append(Deviation(quantity: "sub-update order \(label)", step: sub.step, maxDifference: .infinity, tolerance: 0,
                                              firstValues: (Double(sub.step), Double(obs.step))))
            }
            c.compare("x after \(label)", step: sub.step, trainer: sub.x, inference: obs.x, tolerance: stateTolerance, angles: target.isCompact)
            c.compare("v after \(label)", step: sub.step, trainer: sub.v, inference: obs.v, tolerance: stateTolerance)
            c.compare("log-det after \(label)", step: sub.step, trainer: sub.logDet, inference: obs.logDet, tolerance: logDetTolerance, relative: false)
        }
        // Every network evaluation of the trainer's trajectory, recomputed by the runtime's
        // network on the same encoded inputs (runtime outputs times the same net weights).
        // Local networks are compared through every sub-update's state above (each head value
        // moves x, v or the log-det); their per-site inputs have no dense-network entry point.
        for sub in reference.subUpdates where spec.network.kind.local == nil {
            let out = try dyn.evaluateNetwork(sub.network, xIn: sub.xIn, vIn: sub.vIn, tau: sub.tau, rows: rows)
            c.compare("S (\(sub.stage), \(sub.network))", step: sub.step, trainer: sub.s, inference: out.s.map { $0 * sub.weights[0] }, tolerance: headsTolerance)
            c.compare("T (\(sub.stage), \(sub.network))", step: sub.step, trainer: sub.t, inference: out.t.map { $0 * sub.weights[1] }, tolerance: headsTolerance)
            c.compare("Q (\(sub.stage), \(sub.network))", step: sub.step, trainer: sub.q, inference: out.q.map { $0 * sub.weights[2] }, tolerance: headsTolerance)
        }
        // Acceptance from each side's own energies.
        let h0 = energies(target, x0, v0, rows: rows)
        let h1 = energies(target, x.array, v.array, rows: rows)
        let accInference = (0..<rows).map { min(1, exp(h0[$0] - h1[$0] + ld[$0])) }
        // The trainer's side: its own Hamiltonian (its target's energy and kinetic energy).
        let t0 = TrainerRecompute.hamiltonian(trainerModel, x: x0, v: v0, rows: rows, scale: scale)
        let t1 = TrainerRecompute.hamiltonian(trainerModel, x: reference.x, v: reference.v, rows: rows, scale: scale)
        let accTrainer = (0..<rows).map { min(1, exp(t0[$0] - t1[$0] + reference.logDet[$0])) }
        c.compare("acceptance", step: spec.dynamics.nLF - 1, trainer: accTrainer, inference: accInference, tolerance: acceptanceTolerance, relative: false)
        return c
    }

    /// The runtime's Hamiltonian U(x) + K(v) per row, both from the target action.
    static func energies(_ target: TargetAction, _ x: [Double], _ v: [Double], rows: Int) -> [Double] {
        let n = target.stateSize
        var u = [Double](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xp in
            u.withUnsafeMutableBufferPointer { up in
                guard let xb = xp.baseAddress, let ub = up.baseAddress else { return }
                target.action(xb, rows: rows, into: ub)
            }
        }
        var h = u
        v.withUnsafeBufferPointer { vp in
            guard let vb = vp.baseAddress else { return }
            for r in 0..<rows { h[r] += target.kineticEnergy(vb + r * n) }
        }
        return h
    }
}
