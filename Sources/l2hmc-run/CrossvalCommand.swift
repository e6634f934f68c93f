import ArgumentParser
import Foundation
import Inference
import ModelFormat
import Trainer

/// `l2hmc-run crossval`: an audit of a trained model. Two independent implementations (this
/// runtime and the trainer's forward pass) must agree; the kernel must be reversible with the
/// right log-det; long runs must reproduce exact results, also with each learned function
/// switched on alone and with other N_LF and ranks.
struct CrossvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crossval",
        abstract: "Audit a model: probe, independent recomputation, reversibility and log-det, exactness, net-weight ablation, sensitivity.",
        discussion: """
            Prints a verdict table (pass, FAIL, inconclusive, skipped, with reasons) and the counts of each, \
            writes a JSON report, and exits 1 when any check fails (with --strict also when any is \
            inconclusive), 64 on invalid options.
            """)

    @Argument(help: "The .l2z model (default fixtures/default.l2z).")
    var model: String?
    @Option(help: "Chains per statistics run.")
    var chains = 32
    @Option(help: "Trajectories per statistics run (the first 25 % are dropped).")
    var trajectories = 300
    @Option(help: "Extra N_LF values to test, comma separated (per-step models use the cyclic mapping).")
    var nlf: String?
    @Option(help: "Ranks to test, comma separated.")
    var lowrank: String?
    @Option(help: "HMC step size and steps for the reference run (default 0.1 and the model's N_LF x 2).")
    var hmcEps = 0.1
    @Option(help: "Largest |z| accepted against exact values (positive).")
    var zThreshold = 4.0
    @Option(help: "Random seed.")
    var seed: UInt64 = 1
    @Option(help: "JSON report path (default: <model name>.crossval.json in the current directory).")
    var report: String?
    @Flag(help: "Print the JSON report on stdout instead of the table.")
    var json = false
    @Flag(help: "Exit 1 when any check is inconclusive, not only when one fails.")
    var strict = false

    /// Counts statistics runs (each uses a distinct seed).
    private var statisticsRuns = 0

    struct Check {
        let name: String
        let verdict: CrossvalVerdict
        let detail: String
        let data: [String: JSONValue]
    }

    /// Refuses options outside their domain (exit 64, `run.invalid_option`), before any work.
    private func validateOptions() throws {
        for (flag, value) in [("--z-threshold", zThreshold), ("--hmc-eps", hmcEps)] where !(value.isFinite && value > 0) {
            throw InferenceError.invalidOption(name: flag, reason: "must be a positive finite number (got \(value))")
        }
        guard chains >= 2 else { throw InferenceError.invalidOption(name: "--chains", reason: "must be >= 2 (got \(chains))") }
        guard trajectories >= 20 else { throw InferenceError.invalidOption(name: "--trajectories", reason: "must be >= 20 (got \(trajectories))") }
    }

    mutating func run() throws {
        try validateOptions()
        guard let path = model ?? DefaultModel.locate() else { throw UsageError("no model given and \(DefaultModel.relativePath) was not found") }
        let nlfValues = try parseList(nlf, "--nlf")
        let rankValues = try parseList(lowrank, "--lowrank")
        BLAS.setThreads(1)
        var checks: [Check] = []
        let started = Date()
        func note(_ c: Check) {
            checks.append(c)
            if !json { Console.error("  \(c.verdict.tableLabel)  \(c.name): \(c.detail)\n") }
        }

        // 1. Format and probe.
        let loaded: L2ZModel
        do { loaded = try L2ZReader.read(path: path).model } catch {
            note(Check(name: "format", verdict: .fail("\(error)"), detail: "\(error)", data: [:]))
            return try finish(checks, path: path, started: started)
        }
        let target = makeTarget(loaded.sampler.target)
        note(Check(name: "format", verdict: .pass, detail: "checksums, manifest and arrays verified", data: [:]))
        do {
            if let r = try ProbeVerifier.verify(model: loaded, target: target) {
                let worst = r.maxDifferences.values.max() ?? 0
                note(Check(name: "probe", verdict: .pass, detail: String(format: "reproduced (max difference %.2e)", worst), data: ["max_difference": .double(worst)]))
            } else {
                note(Check(name: "probe", verdict: .skipped("no probe stored"), detail: "no probe stored", data: [:]))
            }
        } catch {
            note(Check(name: "probe", verdict: .fail("\(error)"), detail: "\(error)", data: [:]))
        }

        // 2. Independent recomputation by the trainer's forward pass.
        note(try recomputation(loaded, target: target))

        // 3. Reversibility and log-det.
        let dyn = try L2HMCDynamics(model: loaded, target: target, capacity: max(chains, 16))
        let start = try thermalizedStates(loaded, target: target)
        let rev = ReversibilityCheck.run(l2hmc: dyn, hmc: nil, target: target, states: start, count: 16, random: ChainRandom(seed: seed))
        let revOK = rev.maxDx < 1e-10 && rev.maxDv < 1e-10 && rev.maxLogDetSum < 1e-10
        note(Check(name: "reversibility", verdict: revOK ? .pass : .fail("a deviation exceeds 1e-10"),
                   detail: String(format: "F L F L on %d chains: max |dx| %.1e, |dv| %.1e, |logdet sum| %.1e (limit 1e-10)", rev.chains, rev.maxDx, rev.maxDv, rev.maxLogDetSum),
                   data: ["max_dx": .double(rev.maxDx), "max_dv": .double(rev.maxDv), "max_logdet_sum": .double(rev.maxLogDetSum)]))
        note(jacobianCheck(dyn, target: target, state: Array(start.prefix(target.stateSize))))

        // 4. Exactness in practice: HMC and the model.
        let baseSteps = loaded.sampler.dynamics.nLF
        note(try statisticsRun("exactness: HMC", loaded, target: target, schedule: .hmcOnly, hmcSteps: 2 * baseSteps))
        note(try statisticsRun("exactness: model", loaded, target: target, schedule: .l2hmcOnly, hmcSteps: 2 * baseSteps))

        // 5. Net-weight ablation: each of the six functions alone, then all on.
        for (i, key) in NetWeights.keys.enumerated() {
            var values = [Double](repeating: 0, count: 6)
            values[i] = 1
            let w = NetWeights(values: values)
            if target.isCompact && loaded.sampler.dynamics.xUpdate == .linear && w.xScale != 0 {
                note(Check(name: "ablation: \(key) only", verdict: .skipped("a linear x update cannot take an x-scale on U(1)"),
                           detail: "skipped: a linear x update cannot take an x-scale on U(1)", data: [:]))
                continue
            }
            note(try statisticsRun("ablation: \(key) only", loaded, target: target, schedule: .l2hmcOnly, hmcSteps: baseSteps, weights: w))
        }
        // 6. Sensitivity to N_LF and rank.
        for n in nlfValues {
            let mapping: StepMapping? = loaded.sampler.network.layout == .perStep && n != baseSteps ? .cyclic : nil
            note(try statisticsRun("sensitivity: N_LF \(n)", loaded, target: target, schedule: .l2hmcOnly, hmcSteps: baseSteps, nLF: n, mapping: mapping))
        }
        for r in rankValues {
            note(try statisticsRun("sensitivity: rank \(r)", loaded, target: target, schedule: .l2hmcOnly, hmcSteps: baseSteps, compression: .rank(r)))
        }
        try finish(checks, path: path, started: started)
    }

    private func parseList(_ text: String?, _ flag: String) throws -> [Int] {
        guard let text else { return [] }
        let values = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == text.split(separator: ",").count, values.allSatisfy({ $0 >= 1 }) else {
            throw InferenceError.invalidOption(name: flag, reason: "must be a comma-separated list of positive integers (got \(text))")
        }
        return values
    }

    /// Chain states after a short HMC thermalization (start points for the deterministic checks).
    private func thermalizedStates(_ m: L2ZModel, target: TargetAction) throws -> [Double] {
        let settings = RunSettings(chains: 16, trajectories: 20, seed: seed, schedule: .hmcOnly, hmcStepSize: hmcEps, hmcSteps: 10)
        let engine = try RunEngine(settings: settings, target: target, model: nil)
        engine.run()
        return engine.states
    }

    private func recomputation(_ m: L2ZModel, target: TargetAction) throws -> Check {
        let trainerModel: TrainerModel
        do { trainerModel = try TrainerModel(l2z: m) } catch {
            return Check(name: "recomputation", verdict: .skipped("the trainer cannot rebuild this model: \(error)"), detail: "skipped: \(error)", data: [:])
        }
        let rows = 8, n = m.sampler.stateSize
        let x0 = try thermalizedStates(m, target: target).prefix(rows * n)
        let dyn = try L2HMCDynamics(model: m, target: target, capacity: rows)
        var worst = (x: 0.0, v: 0.0, logDet: 0.0)
        var random = SplitMix64(seed: seed ^ 0xABC)
        let v0 = (0..<(rows * n)).map { _ in random.normal() }
        let scale: Double
        if case let .u1(l) = m.sampler.target { scale = l.beta } else { scale = 1 }
        for forward in [true, false] {
            let reference = TrainerRecompute.trajectory(trainerModel, x0: Array(x0), v0: v0, rows: rows, forward: forward, scale: scale)
            let x = Buffer(Array(x0)), v = Buffer(v0), ld = Buffer(rows)
            if forward { dyn.forward(x: x.pointer, v: v.pointer, rows: rows, logDet: ld.pointer) } else {
                dyn.backward(x: x.pointer, v: v.pointer, rows: rows, logDet: ld.pointer)
            }
            for i in 0..<(rows * n) {
                let dx = target.isCompact ? abs(Angles.wrap(reference.x[i] - x[i])) : abs(reference.x[i] - x[i])
                worst.x = max(worst.x, dx / max(1, abs(reference.x[i])))
                worst.v = max(worst.v, abs(reference.v[i] - v[i]) / max(1, abs(reference.v[i])))
            }
            for r in 0..<rows { worst.logDet = max(worst.logDet, abs(reference.logDet[r] - ld[r])) }
        }
        let ok = worst.x < 1e-10 && worst.v < 1e-10 && worst.logDet < 1e-9
        return Check(name: "recomputation", verdict: ok ? .pass : .fail("the trainer and the runtime disagree beyond 1e-10 (log-det 1e-9)"),
                     detail: String(format: "trainer vs runtime on %d chains, both directions: max deviation x %.1e, v %.1e, log-det %.1e", rows, worst.x, worst.v, worst.logDet),
                     data: ["max_dx": .double(worst.x), "max_dv": .double(worst.v), "max_dlogdet": .double(worst.logDet)])
    }

    /// log|det| of the numerical Jacobian of one trajectory against the accumulated log-det.
    private func jacobianCheck(_ dyn: L2HMCDynamics, target: TargetAction, state: [Double]) -> Check {
        let n = target.stateSize
        guard n <= 256 else { return Check(name: "log-det", verdict: .skipped("n = \(n) > 256"), detail: "skipped: n = \(n) > 256", data: [:]) }
        var random = SplitMix64(seed: seed ^ 0x1AC)
        let v0 = (0..<n).map { _ in random.normal() }
        func run(_ x: [Double], _ v: [Double]) -> ([Double], [Double], Double) {
            let xb = Buffer(x), vb = Buffer(v), ld = Buffer(1)
            dyn.forward(x: xb.pointer, v: vb.pointer, rows: 1, logDet: ld.pointer)
            return (xb.array, vb.array, ld[0])
        }
        let (_, _, accumulated) = run(state, v0)
        let h = 1e-6, m = 2 * n
        var jac = [Double](repeating: 0, count: m * m)
        for j in 0..<m {
            var xp = state, vp = v0, xm = state, vm = v0
            if j < n { xp[j] += h; xm[j] -= h } else { vp[j - n] += h; vm[j - n] -= h }
            let up = run(xp, vp), down = run(xm, vm)
            for i in 0..<n {
                jac[i * m + j] = (target.isCompact ? Angles.wrap(up.0[i] - down.0[i]) : up.0[i] - down.0[i]) / (2 * h)
                jac[(n + i) * m + j] = (up.1[i] - down.1[i]) / (2 * h)
            }
        }
        // log|det| by LU with partial pivoting.
        var logDet = 0.0
        for c in 0..<m {
            let p = (c..<m).max { abs(jac[$0 * m + c]) < abs(jac[$1 * m + c]) }!
            if p != c { for k in 0..<m { jac.swapAt(c * m + k, p * m + k) } }
            let pivot = jac[c * m + c]
            logDet += log(abs(pivot))
            for r in (c + 1)..<m {
                let f = jac[r * m + c] / pivot
                if f != 0 { for k in c..<m { jac[r * m + k] -= f * jac[c * m + k] } }
            }
        }
        // Central differences are accurate to ~1e-9 per entry; the log-det of a 2n x 2n
        // well-conditioned matrix then to ~1e-6.
        let ok = abs(logDet - accumulated) < 1e-5 * max(1, abs(accumulated))
        return Check(name: "log-det", verdict: ok ? .pass : .fail("the numerical and accumulated log-dets differ by more than 1e-5 (relative)"),
                     detail: String(format: "numerical Jacobian (%dx%d) log|det| %.8f vs accumulated %.8f", m, m, logDet, accumulated),
                     data: ["numerical": .double(logDet), "accumulated": .double(accumulated)])
    }

    private mutating func statisticsRun(_ name: String, _ m: L2ZModel, target: TargetAction, schedule: Schedule, hmcSteps: Int,
                               weights: NetWeights? = nil, nLF: Int? = nil, mapping: StepMapping? = nil,
                               compression: L2HMCDynamics.CompressionTarget? = nil) throws -> Check {
        // Each statistics run gets its own seed so the verdicts are independent tests.
        statisticsRuns += 1
        var settings = RunSettings(chains: chains, trajectories: trajectories, seed: seed &+ UInt64(statisticsRuns) &* 0x9E37_79B9,
                                   schedule: schedule, hmcStepSize: hmcEps, hmcSteps: hmcSteps)
        settings.netWeights = weights
        settings.l2hmcSteps = nLF
        settings.stepMapping = mapping
        settings.compression = compression
        let engine = try RunEngine(settings: settings, target: target, model: schedule.usesL2HMC ? m : nil)
        engine.run()
        let summary = RunSummary(record: engine.record, target: target, thermalization: 0.25)
        let tested = summary.quantities.filter { $0.exact != nil && !$0.name.hasPrefix("weight") && $0.name != "Q" }
        let zs = tested.map { ($0.name, $0.zScore ?? 0) }
        let worst = zs.map { abs($0.1) }.max() ?? 0
        let acceptance = summary.acceptance.values.first ?? 0
        var detail = zs.map { String(format: "%@ z %+.2f", $0.0, $0.1) }.joined(separator: ", ")
        detail += String(format: "; acceptance %.3f", acceptance)
        if let t = summary.tunneling { detail += String(format: "; tunneling %.4f", t.rate) }
        if let s = summary.modeSwitchRate { detail += String(format: "; mode switches %.4f", s) }
        var data: [String: JSONValue] = ["summary": RunReport.json(summary)]
        data["max_abs_z"] = .double(worst)
        if let e = summary.equilibration { detail += "; \(e.verdict.rawValue)" }
        // A Sokal window that did not converge means the window error is only a lower bound: a
        // large |z| is then inconclusive (run longer), not evidence of a bias. A run that is not
        // equilibrated tests nothing either way: its averages are those of its starting points.
        let unconverged = tested.contains { !$0.estimate.converged }
        if let e = summary.equilibration, e.verdict == .notEquilibrated {
            let reason = "not equilibrated (" + e.evidence.joined(separator: "; ") + "); raise --trajectories"
            return Check(name: name, verdict: .inconclusive(reason), detail: detail + "; inconclusive: " + reason, data: data)
        }
        if worst > zThreshold && unconverged {
            let reason = "the run is shorter than the autocorrelation window needs, raise --trajectories"
            return Check(name: name, verdict: .inconclusive(reason), detail: detail + "; inconclusive: " + reason, data: data)
        }
        if worst > zThreshold, let w = zs.max(by: { abs($0.1) < abs($1.1) }) {
            return Check(name: name, verdict: .fail(String(format: "|z| = %.2f on %@ exceeds --z-threshold %g", abs(w.1), w.0, zThreshold)), detail: detail, data: data)
        }
        return Check(name: name, verdict: .pass, detail: detail, data: data)
    }

    private func finish(_ checks: [Check], path: String, started: Date) throws {
        let tally = CrossvalTally(checks.map(\.verdict))
        let status = tally.exitStatus(strict: strict)
        let reportValue: JSONValue = .object([
            "model": .string(path),
            "verdict": .string(tally.overall.lowercased()),
            "passed": .bool(status == 0),
            "strict": .bool(strict),
            "counts": .object(["pass": .int(Int64(tally.pass)), "fail": .int(Int64(tally.fail)),
                               "inconclusive": .int(Int64(tally.inconclusive)), "skipped": .int(Int64(tally.skipped))]),
            "seconds": .double(Date().timeIntervalSince(started)),
            "settings": .object(["chains": .int(Int64(chains)), "trajectories": .int(Int64(trajectories)), "seed": .string(String(seed)),
                                 "z_threshold": .double(zThreshold), "hmc_eps": .double(hmcEps)]),
            "checks": .array(checks.map { c in
                .object(["name": .string(c.name), "result": .string(c.verdict.name), "reason": c.verdict.reason.map { .string($0) } ?? .null,
                         "detail": .string(c.detail), "data": .object(c.data)])
            }),
        ])
        let bytes = try CanonicalJSONWriter.encode(reportValue)
        let reportPath = report ?? (URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + ".crossval.json")
        try AtomicFile.write(bytes, to: reportPath)
        if json {
            Console.out(bytes)
        } else {
            print("crossval    \(path)")
            let width = max(6, checks.map(\.name.count).max() ?? 6)
            let verdictWidth = checks.map(\.verdict.tableLabel.count).max() ?? 4
            for c in checks {
                print(c.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                      + c.verdict.tableLabel.padding(toLength: verdictWidth, withPad: " ", startingAt: 0) + "  " + c.detail)
            }
            let strictNote = strict && tally.fail == 0 && tally.inconclusive > 0 ? ", a failure under --strict" : ""
            print(String(format: "verdict     %@%@ (%@; %.1f s); report %@", tally.overall, strictNote, tally.summary,
                         Date().timeIntervalSince(started), reportPath))
        }
        if status != 0 { Foundation.exit(status) }
    }
}
