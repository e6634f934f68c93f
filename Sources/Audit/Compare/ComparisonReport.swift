import Foundation
import Inference
import ModelFormat

/// The human table and the JSON (`compare.json`) of a ``ComparisonResult``.
///
/// The JSON has `"kind": "l2hmc-run compare"` (the marker the report command and `--force`
/// recognize). Every number in it is a function of the settings and the seed except the
/// timing ones, all under keys containing `cpu` or `seconds`, and the `verdict` lines (which
/// quote the per-CPU-second gain); non-finite numbers are null.
public enum ComparisonReport {
    public static let kind = "l2hmc-run compare"

    /// Facts about the run that the report states (not computed from the rows).
    public struct Context: Sendable {
        public var modelPath: String
        public var modelSHA256: String
        public var lattice: U1Lattice
        public var modelBeta: Double
        public var modelStepSize: Double
        public var modelLength: Double
        public var modelSteps: Int
        public var threads: Int
        public var toolVersion: String
        public var seconds: Double
        /// True when the model is a flow: its row is FT-HMC, its step size is in z.
        public var modelIsFlow = false
        public init(modelPath: String, modelSHA256: String, lattice: U1Lattice, modelBeta: Double, modelStepSize: Double, modelLength: Double,
                    modelSteps: Int, threads: Int, toolVersion: String, seconds: Double) {
            self.modelPath = modelPath; self.modelSHA256 = modelSHA256; self.lattice = lattice; self.modelBeta = modelBeta
            self.modelStepSize = modelStepSize; self.modelLength = modelLength; self.modelSteps = modelSteps
            self.threads = threads; self.toolVersion = toolVersion; self.seconds = seconds
        }
    }

    static func number(_ x: Double?) -> JSONValue {
        guard let x, x.isFinite else { return .null }
        return .double(x)
    }

    public static func json(_ r: ComparisonResult, settings s: ComparisonSettings, context c: Context) -> JSONValue {
        var rows: [JSONValue] = []
        for row in r.rows {
            var o: [String: JSONValue] = [
                "label": .string(row.label), "kind": .string(row.kind.rawValue),
                "step_size": number(row.stepSize), "n_lf": .int(Int64(row.steps)), "length": number(row.length),
                "acceptance": number(row.acceptance),
                "tunneling_rate": number(row.tunneling.rate), "tunneling_events": .int(Int64(row.tunneling.events)),
                "tau_int_q": number(row.tau.tau), "tau_int_q_error": number(row.tau.error),
                "tau_int_q_window_error": number(row.tau.windowError), "tau_int_q_scatter": number(row.tau.scatterTau),
                "window": .int(Int64(row.tau.window)), "window_converged": .bool(row.tau.converged),
                "frozen_chains": .int(Int64(row.tau.frozenChains)), "usable": .bool(row.tau.usable),
                "forces_per_trajectory": number(row.forcesPerTrajectory),
                "cpu_seconds_per_trajectory": number(row.cpuSecondsPerTrajectory),
            ]
            if let p = row.tau.problem { o["problem"] = .string(p) }
            var cost: [String: JSONValue] = [:]
            for m in CostMeasure.allCases { cost[m.rawValue] = number(row.cost(m)) }
            o["cost"] = .object(cost)
            rows.append(.object(o))
        }
        var best: [String: JSONValue] = [:]
        var edges: [String: JSONValue] = [:]
        for m in CostMeasure.allCases {
            best[m.rawValue] = r.best[m].map { .string(r.rows[$0].label) } ?? .null
            edges[m.rawValue] = .array(r.edges(m).map { .string($0) })
        }
        var gains: [String: JSONValue] = [:]
        var verdicts: [String: JSONValue] = [:]
        var bounds: [String: JSONValue] = [:]
        var shares: [String: JSONValue] = [:]
        for kind in [ComparisonRow.Kind.model, .networksOff] {
            var g: [String: JSONValue] = [:]
            for m in CostMeasure.allCases {
                if let x = r.gains[kind]?[m] {
                    g[m.rawValue] = .object(["gain": number(x.value), "error": number(x.error), "outcome": .string(x.outcome.rawValue)])
                } else { g[m.rawValue] = .null }
            }
            gains[kind.rawValue] = .object(g)
            var b: [String: JSONValue] = [:]
            for m in CostMeasure.allCases { b[m.rawValue] = number(r.gainBounds[kind]?[m]) }
            bounds[kind.rawValue] = r.gainBounds[kind] == nil ? .null : .object(b)
            shares[kind.rawValue] = number(r.nonForceShare(kind))
            verdicts[kind.rawValue] = r.verdict(kind).map { .string($0) } ?? .null
        }
        let settings: [String: JSONValue] = [
            "chains": .int(Int64(s.chains)), "trajectories": .int(Int64(s.trajectories)), "thermalization": number(s.thermalization),
            "seed": .string(String(s.seed)), "hmc_jitter": number(s.hmcJitter), "cold_start": .bool(s.coldStart),
            "hmc_eps": s.hmcStepSizes.map { .array($0.map { number($0) }) } ?? .string("default"),
            "hmc_length": s.hmcLengths.map { .array($0.map { number($0) }) } ?? .string("default"),
        ]
        return .object([
            "kind": .string(kind), "version": .int(1), "tool": .string(c.toolVersion),
            "model": .string(c.modelPath), "model_sha256": .string(c.modelSHA256),
            "target": .object(["lattice": .array([.int(Int64(c.lattice.lt)), .int(Int64(c.lattice.lx))]), "beta": number(c.lattice.beta),
                               "model_beta": number(c.modelBeta)]),
            "model_dynamics": .object(["n_lf": .int(Int64(c.modelSteps)), "mean_step_size": number(c.modelStepSize), "length": number(c.modelLength)]),
            "settings": .object(settings), "rows": .array(rows), "best_hmc": .object(best), "best_hmc_edges": .object(edges), "gains": .object(gains),
            "gain_lower_bounds": .object(bounds), "non_force_cpu_share": .object(shares),
            "verdict": .object(verdicts), "threads": .int(Int64(c.threads)), "seconds": number(c.seconds),
        ])
    }

    /// The table `compare` prints on stdout.
    public static func table(_ r: ComparisonResult, settings s: ComparisonSettings, context c: Context) -> [String] {
        let l = c.lattice
        var lines = ["compare     U(1) \(l.lt)x\(l.lx), beta \(fmt(l.beta))\(l.beta != c.modelBeta ? " (model trained at \(fmt(c.modelBeta)))" : ""); model \(c.modelPath) (\(c.modelIsFlow ? "FT-HMC in z: " : "")N_LF \(c.modelSteps), \(c.modelIsFlow ? "eps" : "mean eps_x") \(fmt(c.modelStepSize)), length \(fmt(c.modelLength)))",
                     "budget      \(s.chains) chains x \(s.trajectories) trajectories per setting (first \(fmt(s.thermalization * 100)) % dropped), seed \(s.seed), threads \(c.threads)\(s.hmcJitter != 0 ? ", HMC jitter \(fmt(s.hmcJitter))" : "")\(s.coldStart ? ", cold start" : "")"]
        let header = ["sampler", "eps", "N_LF", "length", "accept", "tunnel", "tau_int(Q)", "+-", "forces", "CPU us", "tau x forces"]
        var cells: [[String]] = []
        for row in r.rows {
            let flag = row.tau.frozenChains * 2 > row.tau.chains ? "!" : (row.tau.converged ? "" : "*")
            cells.append([row.label.hasPrefix("hmc") ? "hmc" : row.label, String(format: "%.4g", row.stepSize), "\(row.steps)", String(format: "%.3g", row.length),
                          String(format: "%.3f", row.acceptance), String(format: "%.4f", row.tunneling.rate), String(format: "%.3g", row.tau.tau) + flag,
                          String(format: "%.2g", row.tau.error), String(format: "%.3g", row.forcesPerTrajectory),
                          String(format: "%.3g", row.cpuSecondsPerTrajectory * 1e6), String(format: "%.4g", row.cost(.forceEvaluation))])
        }
        lines += columns([header] + cells)
        lines.append("(per chain and trajectory: tunneling events, force evaluations, process CPU microseconds; * window not converged (run too short), ! more than half the chains frozen: such rows are not ranked)")
        for m in CostMeasure.allCases {
            let text = r.best[m].map { i -> String in
                let b = r.rows[i]
                return "\(b.label) (tau_int \(String(format: "%.3g", b.tau.tau)) +- \(String(format: "%.2g", b.tau.error)), cost \(String(format: "%.4g", m == .cpuSecond ? b.cost(m) * 1e6 : b.cost(m)))\(m == .cpuSecond ? " us" : ""))"
            } ?? "none (no HMC setting has a usable tau_int)"
            let edges = r.edges(m)
            lines.append(pad(m == .trajectory ? "best HMC" : "", 12) + pad(m.phrase, 22) + text + (edges.isEmpty ? "" : "; at the grid's edge: " + edges.joined(separator: ", ")))
        }
        if CostMeasure.allCases.contains(where: { !r.edges($0).isEmpty }) {
            lines.append("(a best HMC at the grid's edge may be beaten outside it: widen --hmc-eps or --hmc-length to be sure)")
        }
        var gainCells = [["gain over best HMC", CostMeasure.trajectory.phrase, CostMeasure.forceEvaluation.phrase, CostMeasure.cpuSecond.phrase]]
        for kind in [ComparisonRow.Kind.model, .networksOff] {
            guard let g = r.gains[kind] else { continue }
            gainCells.append([kind == .model ? "model" : "networks off"] + CostMeasure.allCases.map { m in
                g[m].map { String(format: "%.3g +- %.2g", $0.value, $0.error) } ?? "-"
            })
        }
        if gainCells.count > 1 { lines += columns(gainCells) }
        if let share = r.nonForceShare(.model) {
            lines.append(pad("cost", 12) + String(format: "%.0f %% of the model's CPU time is not force evaluations (networks, features, learned updates; forces priced at HMC's CPU per force)", share * 100))
        }
        for kind in [ComparisonRow.Kind.model, .networksOff] {
            if let v = r.verdict(kind) { lines.append(pad(kind == .model ? "verdict" : "", 12) + v) }
        }
        lines.append(String(format: "time        %.1f s", c.seconds))
        return lines
    }

    /// The progress line of one finished setting.
    public static func progressLine(index: Int, count: Int, row: ComparisonRow) -> String {
        String(format: "compare     %d/%d %@: acceptance %.3f, tau_int(Q) %.3g +- %.2g%@, %.3g forces/trajectory\n", index + 1, count, row.label,
               row.acceptance, row.tau.tau, row.tau.error, row.tau.problem.map { " (\($0))" } ?? "", row.forcesPerTrajectory)
    }

    static func fmt(_ x: Double) -> String { String(format: "%.6g", x) }

    static func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }

    /// Left-aligned columns two spaces apart.
    static func columns(_ rows: [[String]]) -> [String] {
        let widths = (0..<(rows.map(\.count).max() ?? 0)).map { i in rows.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
        return rows.map { r in r.enumerated().map { i, s in i == r.count - 1 ? s : pad(s, widths[i] + 2) }.joined() }
    }
}
