import Foundation
import Inference
import ModelFormat
import Trainer

/// The `crossval` audit of a trained model: two independent implementations (the runtime and
/// the trainer's forward pass) must agree; the kernel must be reversible with the right log-det;
/// long runs must reproduce exact results, also with each learned function switched on alone and
/// with other N_LF and ranks.
///
/// Checks, in order: format, probe, recomputation, reversibility, log-det (numerical Jacobian),
/// exactness with HMC and with the model, net-weight ablation (each of the six functions alone),
/// sensitivity to each extra N_LF and rank. Every deterministic bound comes from
/// ``AuditTolerances``; statistics runs compare |z| against exact values with
/// ``CrossvalSettings/zThreshold``. Single-threaded BLAS (results do not depend on it).
public struct Crossval {
    public let settings: CrossvalSettings
    /// Counts statistics runs (each uses a distinct seed).
    private var statisticsRuns = 0

    public init(settings: CrossvalSettings) { self.settings = settings }

    /// Runs every check on the model at `path`, calling `note` with each check as it completes,
    /// and returns them all. An unreadable model is a failed `format` check (nothing else runs);
    /// errors after that (a model the runtime refuses) are thrown.
    public mutating func run(modelPath path: String, note: (CrossvalCheck) -> Void = { _ in }) throws -> [CrossvalCheck] {
        BLAS.setThreads(1)
        var checks: [CrossvalCheck] = []
        func add(_ c: CrossvalCheck) {
            checks.append(c)
            note(c)
        }
        // 1. Format and probe.
        var loaded: L2ZModel
        do { loaded = try L2ZReader.read(path: path).model } catch {
            add(CrossvalCheck(name: "format", verdict: .fail("\(error)"), detail: "\(error)", data: [:]))
            return checks
        }
        add(CrossvalCheck(name: "format", verdict: .pass, detail: "checksums, manifest and arrays verified", data: [:]))
        if case .flow = loaded.spec {
            try flowChecks(loaded, add: add)
            return checks
        }
        add(Self.probe(loaded, target: makeTarget(try loaded.sampler.target)))   // the probe was stored at the trained lattice
        if let size = settings.lattice { loaded = try Self.transferred(loaded, to: size) }
        let target = makeTarget(try loaded.sampler.target)

        // 2. Independent recomputation by the trainer's forward pass.
        // Thermalized HMC states, the starting points of the recomputation and reversibility checks.
        let start = try thermalizedStates(target: target)
        add(try recomputation(loaded, target: target, start: start))

        // 3. Reversibility and log-det.
        let dyn = try L2HMCDynamics(model: loaded, target: target, capacity: max(settings.chains, 16))
        add(reversibility(dyn, target: target, states: start))
        add(jacobianCheck(dyn, target: target, state: Array(start.prefix(target.stateSize))))

        // 4. Exactness in practice: HMC and the model.
        let baseSteps = try loaded.sampler.dynamics.nLF
        add(try statisticsRun("exactness: HMC", loaded, target: target, schedule: .hmcOnly, hmcSteps: 2 * baseSteps))
        add(try statisticsRun("exactness: model", loaded, target: target, schedule: .l2hmcOnly, hmcSteps: 2 * baseSteps))

        // 5. Net-weight ablation: each of the six functions alone, then all on.
        for (i, key) in NetWeights.keys.enumerated() {
            var values = [Double](repeating: 0, count: 6)
            values[i] = 1
            let w = NetWeights(values: values)
            if try target.isCompact && loaded.sampler.dynamics.xUpdate == .linear && w.xScale != 0 {
                add(CrossvalCheck(name: "ablation: \(key) only", verdict: .skipped("a linear x update cannot take an x-scale on U(1)"),
                                  detail: "skipped: a linear x update cannot take an x-scale on U(1)", data: [:]))
                continue
            }
            add(try statisticsRun("ablation: \(key) only", loaded, target: target, schedule: .l2hmcOnly, hmcSteps: baseSteps, weights: w))
        }
        // 6. Sensitivity to N_LF and rank.
        for n in settings.nLFValues {
            let mapping: StepMapping? = try loaded.sampler.network.layout == .perStep && n != baseSteps ? .cyclic : nil
            add(try statisticsRun("sensitivity: N_LF \(n)", loaded, target: target, schedule: .l2hmcOnly, hmcSteps: baseSteps, nLF: n, mapping: mapping))
        }
        for r in settings.ranks {
            add(try statisticsRun("sensitivity: rank \(r)", loaded, target: target, schedule: .l2hmcOnly, hmcSteps: baseSteps, compression: .rank(r)))
        }
        return checks
    }

    /// A local model moved to another lattice (same arrays, beta and link layout; no probe, which
    /// holds states of the trained size). Every later check then runs at that size, the trainer's
    /// recomputation included. A dense model only at its own lattice (`run.model_target_mismatch`).
    static func transferred(_ model: L2ZModel, to size: LatticeSize) throws -> L2ZModel {
        let lattice = try model.runLattice(size)
        guard case let .u1(trained) = try model.sampler.target, trained != lattice else { return model }
        var moved = model
        try moved.updateSampler { $0.target = .u1(lattice) }
        moved.probe = nil
        moved.arrays = model.arrays.filter { !$0.key.hasPrefix("probe.") }
        return moved
    }

    /// The stored probe reproduced within its own tolerances (skipped when none is stored).
    static func probe(_ loaded: L2ZModel, target: TargetAction) -> CrossvalCheck {
        do {
            if let r = try ProbeVerifier.verify(model: loaded, target: target) {
                let worst = r.maxDifferences.values.max() ?? 0
                return CrossvalCheck(name: "probe", verdict: .pass, detail: String(format: "reproduced (max difference %.2e)", worst),
                                     data: ["max_difference": .double(worst)])
            }
            return CrossvalCheck(name: "probe", verdict: .skipped("no probe stored"), detail: "no probe stored", data: [:])
        } catch {
            return CrossvalCheck(name: "probe", verdict: .fail("\(error)"), detail: "\(error)", data: [:])
        }
    }

    /// Chain states after a short HMC thermalization (start points for the deterministic checks).
    func thermalizedStates(target: TargetAction) throws -> [Double] {
        var run = RunSettings(chains: 16, trajectories: 20, seed: settings.seed, schedule: .hmcOnly, hmcStepSize: settings.hmcEps, hmcSteps: 10)
        run.hmcJitter = settings.hmcJitter
        let engine = try RunEngine(settings: run, target: target, model: nil)
        try engine.run()
        return engine.states
    }

    /// The trainer's forward pass (``TrainerRecompute``) against the runtime on 8 thermalized
    /// chains, both directions, within ``AuditTolerances/recomputationState`` and
    /// ``AuditTolerances/recomputationLogDet``; skipped when the trainer cannot rebuild the model.
    private func recomputation(_ m: L2ZModel, target: TargetAction, start: [Double]) throws -> CrossvalCheck {
        let trainerModel: TrainerModel
        do { trainerModel = try TrainerModel(l2z: m) } catch {
            return CrossvalCheck(name: "recomputation", verdict: .skipped("the trainer cannot rebuild this model: \(error)"), detail: "skipped: \(error)", data: [:])
        }
        let rows = 8, n = try m.sampler.stateSize
        let x0 = start.prefix(rows * n)
        let dyn = try L2HMCDynamics(model: m, target: target, capacity: rows)
        var worst = (x: 0.0, v: 0.0, logDet: 0.0)
        var random = SplitMix64(seed: settings.seed ^ 0xABC)
        let v0 = (0..<(rows * n)).map { _ in random.normal() }
        let scale: Double
        if case let .u1(l) = try m.sampler.target { scale = l.beta } else { scale = 1 }
        for forward in [true, false] {
            let reference = TrainerRecompute.trajectory(trainerModel, x0: Array(x0), v0: v0, rows: rows, forward: forward, scale: scale)
            let x = Buffer(Array(x0)), v = Buffer(v0), ld = Buffer(rows)
            if forward { dyn.forward(x: x.pointer, v: v.pointer, rows: rows, logDet: ld.pointer) } else {
                dyn.backward(x: x.pointer, v: v.pointer, rows: rows, logDet: ld.pointer)
            }
            for i in 0..<(rows * n) {
                let dx = target.isCompact ? abs(Angles.wrap(reference.x[i] - x[i])) : abs(reference.x[i] - x[i])
                worst.x = Self.maxKeepingNaN(worst.x, dx / max(1, abs(reference.x[i])))
                worst.v = Self.maxKeepingNaN(worst.v, abs(reference.v[i] - v[i]) / max(1, abs(reference.v[i])))
            }
            for r in 0..<rows { worst.logDet = Self.maxKeepingNaN(worst.logDet, abs(reference.logDet[r] - ld[r])) }
        }
        let state = AuditTolerances.recomputationState, logDet = AuditTolerances.recomputationLogDet
        let ok = worst.x < state.bound && worst.v < state.bound && worst.logDet < logDet.bound
        let finite = worst.x.isFinite && worst.v.isFinite && worst.logDet.isFinite
        return CrossvalCheck(name: "recomputation", verdict: ok ? .pass : .fail(finite ? "the trainer and the runtime disagree beyond \(state.text) (log-det \(logDet.text))"
                                                                                 : "a deviation is not finite: the trainer or the runtime gives NaN or infinity"),
                             detail: String(format: "trainer vs runtime on %d chains, both directions: max deviation x %.1e, v %.1e, log-det %.1e", rows, worst.x, worst.v, worst.logDet),
                             data: ["max_dx": .double(worst.x), "max_dv": .double(worst.v), "max_dlogdet": .double(worst.logDet)])
    }

    /// F L F L on 16 thermalized chains returns the start within ``AuditTolerances/reversibility``.
    private func reversibility(_ dyn: L2HMCDynamics, target: TargetAction, states: [Double]) -> CrossvalCheck {
        let rev = ReversibilityCheck.run(l2hmc: dyn, hmc: nil, target: target, states: states, count: 16, random: ChainRandom(seed: settings.seed))
        let limit = AuditTolerances.reversibility
        let ok = rev.maxDx < limit.bound && rev.maxDv < limit.bound && rev.maxLogDetSum < limit.bound
        let finite = rev.maxDx.isFinite && rev.maxDv.isFinite && rev.maxLogDetSum.isFinite
        return CrossvalCheck(name: "reversibility", verdict: ok ? .pass : .fail(finite ? "a deviation exceeds \(limit.text)" : "a deviation is not finite (NaN or infinity)"),
                             detail: String(format: "F L F L on %d chains: max |dx| %.1e, |dv| %.1e, |logdet sum| %.1e (limit %@)",
                                            rev.chains, rev.maxDx, rev.maxDv, rev.maxLogDetSum, limit.text),
                             data: ["max_dx": .double(rev.maxDx), "max_dv": .double(rev.maxDv), "max_logdet_sum": .double(rev.maxLogDetSum)])
    }

    /// log|det| of the numerical Jacobian of one forward trajectory (``NumericalJacobian``)
    /// against the accumulated log-det, within ``AuditTolerances/numericalJacobian`` (relative to
    /// max(1, |accumulated|)); skipped above 256 variables (a 512 x 512 Jacobian is 1024 trajectories).
    private func jacobianCheck(_ dyn: L2HMCDynamics, target: TargetAction, state: [Double]) -> CrossvalCheck {
        let n = target.stateSize
        guard n <= 256 else { return CrossvalCheck(name: "log-det", verdict: .skipped("n = \(n) > 256"), detail: "skipped: n = \(n) > 256", data: [:]) }
        var random = SplitMix64(seed: settings.seed ^ 0x1AC)
        let v0 = (0..<n).map { _ in random.normal() }
        func run(_ x: [Double], _ v: [Double]) -> (x: [Double], v: [Double], logDet: Double) {
            let xb = Buffer(x), vb = Buffer(v), ld = Buffer(1)
            dyn.forward(x: xb.pointer, v: vb.pointer, rows: 1, logDet: ld.pointer)
            return (xb.array, vb.array, ld[0])
        }
        let accumulated = run(state, v0).logDet
        let logDet = NumericalJacobian.logAbsDeterminant(x: state, v: v0, step: 1e-6, angles: target.isCompact) { x, v in
            let r = run(x, v)
            return (r.x, r.v)
        }
        let limit = AuditTolerances.numericalJacobian, m = 2 * n
        let ok = abs(logDet - accumulated) < limit.bound * max(1, abs(accumulated))
        let finite = logDet.isFinite && accumulated.isFinite
        return CrossvalCheck(name: "log-det", verdict: ok ? .pass : .fail(finite ? "the numerical and accumulated log-dets differ by more than \(limit.text) (relative)"
                                                                           : "a log-det is not finite (a singular Jacobian, NaN or infinity)"),
                             detail: String(format: "numerical Jacobian (%dx%d) log|det| %.8f vs accumulated %.8f", m, m, logDet, accumulated),
                             data: ["numerical": .double(logDet), "accumulated": .double(accumulated)])
    }

    /// The larger of `a` and `b`, NaN when either is NaN (`Swift.max(0, .nan)` is 0: a NaN
    /// deviation must fail a check, not vanish).
    static func maxKeepingNaN(_ a: Double, _ b: Double) -> Double { a.isNaN || b.isNaN ? .nan : max(a, b) }

    /// A run of `chains` x `trajectories` (first 25 % dropped) whose observables with exact
    /// values must lie within |z| <= zThreshold. Inconclusive when the run is not equilibrated,
    /// or when a large |z| comes with an unconverged autocorrelation window.
    mutating func statisticsRun(_ name: String, _ m: L2ZModel, target: TargetAction, schedule: Schedule, hmcSteps: Int,
                                        weights: NetWeights? = nil, nLF: Int? = nil, mapping: StepMapping? = nil,
                                        compression: L2HMCDynamics.CompressionTarget? = nil) throws -> CrossvalCheck {
        // Each statistics run gets its own seed so the verdicts are independent tests.
        statisticsRuns += 1
        var run = RunSettings(chains: settings.chains, trajectories: settings.trajectories, seed: settings.seed &+ UInt64(statisticsRuns) &* 0x9E37_79B9,
                              schedule: schedule, hmcStepSize: settings.hmcEps, hmcSteps: hmcSteps)
        run.netWeights = weights
        run.l2hmcSteps = nLF
        run.stepMapping = mapping
        run.compression = compression
        run.hmcJitter = settings.hmcJitter
        // A resonant trajectory length is the cause to name (and more trajectories cannot help).
        var resonance: String?
        if schedule.usesHMC, case let .gaussianMixture(g) = m.spec.target {
            resonance = HMCResonance.sentence(HMCResonance.find(mixture: g, stepSize: settings.hmcEps, steps: hmcSteps, jitter: settings.hmcJitter),
                                              options: "--hmc-eps")
        }
        if schedule.usesFlow { run.flowSteps = nLF; run.l2hmcSteps = nil }
        let engine = try RunEngine(settings: run, target: target, model: schedule.needsModel ? m : nil)
        try engine.run()
        let summary = RunSummary(record: engine.record, target: target, thermalization: 0.25)
        let tested = summary.quantities.filter { $0.exact != nil && !$0.name.hasPrefix("weight") && $0.name != "Q" }
        let scores = tested.compactMap { q in q.zTest.map { (name: q.name, score: $0) } }
        let verdict = Self.statisticsVerdict(scores: scores, converged: !tested.contains { !$0.estimate.converged },
                                             equilibration: summary.equilibration, zThreshold: settings.zThreshold, resonance: resonance)
        let acceptance = summary.acceptance.values.first ?? 0
        var detail = scores.map { s in s.score.value.map { String(format: "%@ z %+.2f", s.name, $0) } ?? "\(s.name) z undefined" }.joined(separator: ", ")
        detail += String(format: "; acceptance %.3f", acceptance)
        if let t = summary.tunneling { detail += String(format: "; tunneling %.4f", t.rate) }
        if let s = summary.modeSwitchRate { detail += String(format: "; mode switches %.4f", s) }
        if let e = summary.equilibration { detail += "; \(e.verdict.rawValue)" }
        var data: [String: JSONValue] = ["summary": RunReport.json(summary, zThreshold: settings.zThreshold,
                                                                    cause: RunReport.likelyCause(summary, zThreshold: settings.zThreshold, resonance: resonance))]
        let defined = scores.compactMap { $0.score.value.map(abs) }
        data["max_abs_z"] = defined.max().map { .double($0) } ?? .null
        let undefined = scores.compactMap { s in s.score.reason.map { (s.name, JSONValue.string($0)) } }
        if !undefined.isEmpty { data["z_undefined"] = .object(Dictionary(undefined) { a, _ in a }) }
        if case let .inconclusive(reason) = verdict { detail += "; inconclusive: " + reason }
        if case .fail = verdict, let resonance { detail += "; likely cause: " + resonance }
        // A pass at a resonant length tested less than it seems (the chains barely move).
        if verdict == .pass, let resonance { detail += "; note: " + resonance }
        return CrossvalCheck(name: name, verdict: verdict, detail: detail, data: data)
    }

    /// The verdict of a statistics run from its z-scores (``ZScore``, one per quantity with an
    /// exact value), whether every Sokal window converged, and its equilibration verdict, in
    /// this order:
    /// 1. not equilibrated: inconclusive (its averages are those of its starting points, so it
    ///    tests nothing either way);
    /// 2. a defined |z| above `zThreshold` with a window that did not converge: inconclusive (the
    ///    window error is only a lower bound, run longer);
    /// 3. a defined |z| above `zThreshold`: fail, naming the largest;
    /// 4. any undefined z (zero variance, a non-finite number): inconclusive, with each reason: a
    ///    z-score without a positive finite error is no evidence for or against exactness;
    /// 5. otherwise pass.
    /// The reasons of 1 and 2 also carry those of 4. The remedy of 1 and 2 is "raise
    /// --trajectories", unless `resonance` (``HMCResonance/sentence(_:options:)``) names a resonant
    /// HMC trajectory length: then that sentence replaces it (more trajectories cannot help), and
    /// a failure (3) names it as the likely cause. (A zero-variance `Q^2` comes with a frozen
    /// charge, which the equilibration evidence of 1 already counts: "8 of 8 chains (100%) never
    /// changed Q".)
    static func statisticsVerdict(scores: [(name: String, score: ZScore)], converged: Bool, equilibration: Equilibration?,
                                  zThreshold: Double, resonance: String? = nil) -> CrossvalVerdict {
        let remedy = resonance ?? "raise --trajectories"
        let undefined = scores.compactMap(\.score.reason)
        let undefinedNote = undefined.isEmpty ? "" : "; " + undefined.joined(separator: "; ")
        if let e = equilibration, e.verdict == .notEquilibrated {
            return .inconclusive("not equilibrated (" + e.evidence.joined(separator: "; ") + "); " + remedy + undefinedNote)
        }
        let worst = scores.compactMap { s in s.score.value.map { (name: s.name, z: $0) } }.max { abs($0.z) < abs($1.z) }
        if let w = worst, abs(w.z) > zThreshold {
            if !converged {
                return .inconclusive((resonance.map { "the autocorrelation window did not converge: " + $0 } ?? "the run is shorter than the autocorrelation window needs, raise --trajectories") + undefinedNote)
            }
            return .fail(String(format: "|z| = %.2f on %@ exceeds --z-threshold %g", abs(w.z), w.name, zThreshold) + (resonance.map { "; likely cause: " + $0 } ?? ""))
        }
        if !undefined.isEmpty { return .inconclusive(undefined.joined(separator: "; ")) }
        return .pass
    }
}
