import Foundation
import Inference
import ModelFormat
import Trainer

/// `crossval` of a flow model (family `flow`): the probe at the trained lattice, then at the run
/// lattice (`--lattice`, default the trained one) the inverse, the log-det against the numerical
/// Jacobian of f, the reverse-mode force against central differences of S~, FT-HMC
/// reversibility, and exactness runs of HMC, FT-HMC (also at each `--nlf`) and the independence
/// sampler against the exact values. Deterministic bounds from ``AuditTolerances``.
extension Crossval {
    mutating func flowChecks(_ model: L2ZModel, add: (CrossvalCheck) -> Void) throws {
        let spec = try model.spec.flow()
        add(Self.probe(model, target: makeTarget(model.spec.target)))
        let lattice = try settings.lattice.map { try model.runLattice($0) } ?? spec.target
        let target = makeTarget(.u1(lattice))
        let flow = try FlowMap(model: model, lattice: lattice, capacity: 16)
        let n = flow.stateSize
        var rng = SplitMix64(seed: settings.seed ^ 0xF10)
        let z = (0..<(16 * n)).map { _ in 2 * .pi * rng.uniform() - .pi }
        add(Self.flowRecomputation(model, flow: flow, z: Array(z.prefix(4 * n))))
        add(Self.flowInverse(flow, z: z))
        add(Self.flowJacobian(flow, z: Array(z.prefix(n))))
        add(Self.flowForce(flow, z: Array(z.prefix(n))))
        let start = try thermalizedStates(target: target)
        add(Self.flowReversibility(model, flow: flow, target: target, states: start))
        let fthmc = Schedule(pattern: [(.fthmc, 1)])
        add(try statisticsRun("exactness: HMC", model, target: target, schedule: .hmcOnly, hmcSteps: 2 * spec.hmc.nLF))
        add(try statisticsRun("exactness: fthmc", model, target: target, schedule: fthmc, hmcSteps: spec.hmc.nLF))
        add(try statisticsRun("exactness: flow (independence)", model, target: target, schedule: Schedule(pattern: [(.flow, 1)]), hmcSteps: spec.hmc.nLF))
        for k in settings.nLFValues {
            add(try statisticsRun("sensitivity: N_LF \(k)", model, target: target, schedule: fthmc, hmcSteps: spec.hmc.nLF, nLF: k))
        }
        for r in settings.ranks {
            add(CrossvalCheck(name: "sensitivity: rank \(r)", verdict: .skipped("flows have no dense kernels to compress"), detail: "skipped: flows have no dense kernels to compress", data: [:]))
        }
    }

    /// The trainer's flow (``TrainerFlowRecompute``) against the runtime's on 4 random z: x, the
    /// log-det and the force within ``AuditTolerances/flowRecomputation``.
    static func flowRecomputation(_ model: L2ZModel, flow: FlowMap, z: [Double]) -> CrossvalCheck {
        let rows = z.count / flow.stateSize, l = flow.lattice
        let reference: TrainerFlowRecompute.Result
        do { reference = try TrainerFlowRecompute.run(model: model, z: z, rows: rows, lt: l.lt, lx: l.lx, beta: l.beta) } catch {
            return CrossvalCheck(name: "recomputation", verdict: .skipped("the trainer cannot rebuild this flow: \(error)"), detail: "skipped: \(error)", data: [:])
        }
        var x = [Double](repeating: 0, count: z.count), ld = [Double](repeating: 0, count: rows), force = x, action = ld
        flow.forward(z: z, rows: rows, x: &x, logDet: &ld)
        flow.tildeAction(z: z, rows: rows, force: &force, action: &action)
        var dx = 0.0, dl = 0.0, df = 0.0
        for i in z.indices {
            dx = maxKeepingNaN(dx, abs(Angles.wrap(x[i] - reference.x[i])))
            if let f = reference.force { df = maxKeepingNaN(df, abs(force[i] - f[i]) / max(1, abs(f[i]))) }
        }
        for r in 0..<rows { dl = maxKeepingNaN(dl, abs(ld[r] - reference.logDet[r]) / max(1, abs(reference.logDet[r]))) }
        let limit = AuditTolerances.flowRecomputation
        let ok = dx < limit.bound && dl < limit.bound && df < limit.bound
        return CrossvalCheck(name: "recomputation", verdict: ok ? .pass : .fail(dx.isFinite && dl.isFinite && df.isFinite ? "the trainer and the runtime disagree beyond \(limit.text)" : "a deviation is not finite"),
                             detail: String(format: "trainer vs runtime flow on %d configurations: max deviation x %.1e, log-det %.1e, force %.1e (limit %@)", rows, dx, dl, df, limit.text),
                             data: ["max_dx": .double(dx), "max_dlogdet": .double(dl), "max_dforce": .double(df)])
    }

    /// f^-1(f(z)) = z on 16 random configurations, and the log-dets of both directions agree.
    static func flowInverse(_ flow: FlowMap, z: [Double]) -> CrossvalCheck {
        let rows = z.count / flow.stateSize
        var x = [Double](repeating: 0, count: z.count), back = x, ld = [Double](repeating: 0, count: rows), ldBack = ld
        flow.forward(z: z, rows: rows, x: &x, logDet: &ld)
        flow.inverse(x: x, rows: rows, z: &back, logDet: &ldBack)
        var dz = 0.0, dl = 0.0
        for i in z.indices { dz = maxKeepingNaN(dz, abs(Angles.wrap(back[i] - z[i]))) }
        for r in 0..<rows { dl = maxKeepingNaN(dl, abs(ld[r] - ldBack[r])) }
        let limit = AuditTolerances.flowInverse
        let ok = dz < limit.bound && dl < limit.bound
        return CrossvalCheck(name: "inverse", verdict: ok ? .pass : .fail(dz.isFinite && dl.isFinite ? "a deviation exceeds \(limit.text)" : "a deviation is not finite"),
                             detail: String(format: "f^-1(f(z)) on %d random configurations: max |dz| %.1e, |log-det difference| %.1e (limit %@)", rows, dz, dl, limit.text),
                             data: ["max_dz": .double(dz), "max_dlogdet": .double(dl)])
    }

    /// log|det| of the central-difference Jacobian of f (h = 1e-6) against the accumulated
    /// log-det; skipped above 256 links.
    static func flowJacobian(_ flow: FlowMap, z: [Double]) -> CrossvalCheck {
        let n = flow.stateSize
        guard n <= 256 else { return CrossvalCheck(name: "log-det", verdict: .skipped("n = \(n) > 256"), detail: "skipped: n = \(n) > 256", data: [:]) }
        func apply(_ zz: [Double]) -> (x: [Double], logDet: Double) {
            var x = [Double](repeating: 0, count: n), ld = [0.0]
            flow.forward(z: zz, rows: 1, x: &x, logDet: &ld)
            return (x, ld[0])
        }
        let accumulated = apply(z).logDet, h = 1e-6
        var jac = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var up = z, down = z
            up[j] += h; down[j] -= h
            let xu = apply(up).x, xd = apply(down).x
            for i in 0..<n { jac[i * n + j] = Angles.wrap(xu[i] - xd[i]) / (2 * h) }
        }
        let numerical = NumericalJacobian.logAbsDeterminant(jac, size: n)
        let limit = AuditTolerances.numericalJacobian
        let ok = abs(numerical - accumulated) < limit.bound * max(1, abs(accumulated))
        return CrossvalCheck(name: "log-det", verdict: ok ? .pass : .fail(numerical.isFinite && accumulated.isFinite ? "the numerical and accumulated log-dets differ by more than \(limit.text) (relative)" : "a log-det is not finite"),
                             detail: String(format: "numerical Jacobian of f (%dx%d) log|det| %.8f vs accumulated %.8f", n, n, numerical, accumulated),
                             data: ["numerical": .double(numerical), "accumulated": .double(accumulated)])
    }

    /// The reverse-mode force dS~/dz against central differences of S~ (h = 1e-5) on 16 links
    /// spread over the lattice.
    static func flowForce(_ flow: FlowMap, z: [Double]) -> CrossvalCheck {
        let n = flow.stateSize
        func tilde(_ zz: [Double]) -> (value: Double, force: [Double]) {
            var f = [Double](repeating: 0, count: n), a = [0.0]
            flow.tildeAction(z: zz, rows: 1, force: &f, action: &a)
            return (a[0], f)
        }
        let force = tilde(z).force, h = 1e-5
        var worst = 0.0
        for j in stride(from: 0, to: n, by: max(1, n / 16)) {
            var up = z, down = z
            up[j] += h; down[j] -= h
            let fd = (tilde(up).value - tilde(down).value) / (2 * h)
            worst = maxKeepingNaN(worst, abs(fd - force[j]) / max(1, abs(fd)))
        }
        let limit = AuditTolerances.flowForce
        return CrossvalCheck(name: "force", verdict: worst < limit.bound ? .pass : .fail(worst.isFinite ? "the force and the finite differences differ by more than \(limit.text) (relative)" : "a force is not finite"),
                             detail: String(format: "dS~/dz by reverse mode vs central differences on %d links: max relative deviation %.1e (limit %@)", (n + max(1, n / 16) - 1) / max(1, n / 16), worst, limit.text),
                             data: ["max_relative_deviation": .double(worst)])
    }

    /// F L F L of the model's FT-HMC trajectory on 16 thermalized chains.
    static func flowReversibility(_ model: L2ZModel, flow: FlowMap, target: TargetAction, states: [Double]) -> CrossvalCheck {
        let f = flow.spec.hmc
        let p = FieldTransformedHMC(flow: flow, stepSize: f.stepSize, stepCount: f.nLF)
        let rev = ReversibilityCheck.run(l2hmc: nil, hmc: nil, fthmc: p, target: target, states: states, count: 16, random: ChainRandom(seed: 1))
        let limit = AuditTolerances.reversibility
        let ok = rev.maxDx < limit.bound && rev.maxDv < limit.bound && rev.maxLogDetSum < limit.bound
        return CrossvalCheck(name: "reversibility", verdict: ok ? .pass : .fail(rev.maxDx.isFinite ? "a deviation exceeds \(limit.text)" : "a deviation is not finite (NaN or infinity)"),
                             detail: String(format: "FT-HMC F L F L on %d chains: max |dx| %.1e, |dv| %.1e, |logdet sum| %.1e (limit %@)",
                                            rev.chains, rev.maxDx, rev.maxDv, rev.maxLogDetSum, limit.text),
                             data: ["max_dx": .double(rev.maxDx), "max_dv": .double(rev.maxDv), "max_logdet_sum": .double(rev.maxLogDetSum)])
    }
}
