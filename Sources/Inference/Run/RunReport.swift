import Foundation
import ModelFormat

/// Renders a ``RunSummary`` as a readable table and as JSON.
///
/// **Flagged quantities.** A quantity whose z-score against its exact value is defined and
/// |z| > `zThreshold` (default ``ZScore/defaultThreshold``, the same as crossval's) is flagged:
/// `!` after its z in the table with a legend line, listed in the JSON's `z_flagged`, and named
/// by ``zWarning(_:zThreshold:cause:)`` (printed by l2hmc-run as a `warning:` line) with the
/// likely cause when one is identifiable (``likelyCause(_:zThreshold:resonance:)``).
public enum RunReport {
    /// The flagged quantities (defined |z| > `zThreshold`), in table order.
    public static func flagged(_ s: RunSummary, zThreshold: Double = ZScore.defaultThreshold) -> [(name: String, z: Double)] {
        s.quantities.compactMap { q -> (name: String, z: Double)? in
            guard let z = q.zTest?.value, abs(z) > zThreshold else { return nil }
            return (q.name, z)
        }
    }

    /// The likely cause of the flags, when identifiable, in this order: a resonant HMC
    /// trajectory length (`resonance`, the sentence of ``HMCResonance/sentence(_:options:)``);
    /// a flagged quantity whose Sokal window did not converge (its error is a lower bound); a run
    /// that is not equilibrated. Nil when nothing is flagged or no cause is identified.
    public static func likelyCause(_ s: RunSummary, zThreshold: Double = ZScore.defaultThreshold, resonance: String?) -> String? {
        let names = Set(flagged(s, zThreshold: zThreshold).map(\.name))
        guard !names.isEmpty else { return nil }
        if let resonance { return resonance }
        let unconverged = s.quantities.filter { names.contains($0.name) && !$0.estimate.converged }.map(\.name)
        if !unconverged.isEmpty {
            return "the Sokal window of \(unconverged.joined(separator: ", ")) did not converge, so its error is a lower bound: raise --trajectories"
        }
        if let e = s.equilibration, e.verdict == .notEquilibrated {
            return "the run is not equilibrated (see the verdict line): raise --trajectories or --thermalization"
        }
        return nil
    }

    /// One sentence naming the flagged quantities, e.g. "x[0]^2 deviates from its exact value by
    /// 9.97 error bars (|z| > 4): CAUSE"; nil when nothing is flagged.
    public static func zWarning(_ s: RunSummary, zThreshold: Double = ZScore.defaultThreshold, cause: String?) -> String? {
        let f = flagged(s, zThreshold: zThreshold)
        guard !f.isEmpty else { return nil }
        let names = f.map(\.name), bars = f.map { String(format: "%.2f", abs($0.z)) }
        func list(_ items: [String]) -> String { items.count <= 2 ? items.joined(separator: " and ") : items.dropLast().joined(separator: ", ") + " and " + (items.last ?? "") }
        let verb = f.count == 1 ? "deviates from its exact value" : "deviate from their exact values"
        return "\(list(names)) \(verb) by \(list(bars)) error bars (|z| > \(String(format: "%g", zThreshold)))" + (cause.map { ": " + $0 } ?? "")
    }

    public static func text(_ s: RunSummary, zThreshold: Double = ZScore.defaultThreshold) -> String {
        var lines: [String] = []
        lines.append("summary     \(s.trajectoriesUsed) trajectories x \(s.chains) chains after dropping \(s.trajectoriesDropped) for thermalization")
        let header = ["quantity", "estimate", "error", "from", "tau_int", "exact", "z"]
        var rows: [[String]] = []
        for q in s.quantities {
            rows.append([q.name, fmt(q.estimate.mean), fmt(q.estimate.error), sourceLabel(q.estimate.errorSource),
                         fmt(q.estimate.tauInt) + (q.estimate.converged ? "" : "*"),
                         q.exact.map(fmt) ?? "-",
                         q.zTest.map { $0.value.map { String(format: "%+.2f", $0) + (abs($0) > zThreshold ? "!" : "") } ?? "undefined" } ?? "-"])
        }
        let widths = header.indices.map { c in max(header[c].count, rows.map { $0[c].count }.max() ?? 0) }
        func line(_ r: [String]) -> String {
            r.enumerated().map { $0.offset == 0 ? $0.element.padding(toLength: widths[0], withPad: " ", startingAt: 0)
                                                : String(repeating: " ", count: widths[$0.offset] - $0.element.count) + $0.element }
                .joined(separator: "  ")
        }
        lines.append(line(header))
        lines += rows.map(line)
        if !s.quantities.isEmpty {
            lines.append("(error: the larger of the Sokal-window estimate and, with >= \(MeanEstimate.minimumChainsForScatter) chains, the scatter of the chain means; \"from\" says which)")
        }
        for q in s.quantities {
            if let reason = q.zTest?.reason { lines.append("(z undefined: \(reason))") }
        }
        if !flagged(s, zThreshold: zThreshold).isEmpty {
            lines.append("(! |z| > \(String(format: "%g", zThreshold)) (--z-threshold): the estimate deviates from the exact value beyond its errors; see the warning)")
        }
        if s.quantities.contains(where: { !$0.estimate.converged }) {
            lines.append("(* the Sokal window did not converge: the run is too short for this tau_int; the window error is a lower bound)")
        }
        if let e = s.equilibration {
            lines.append("verdict     \(e.verdict.rawValue)" + (e.evidence.isEmpty ? "" : ": " + e.evidence.joined(separator: "; ")))
        }
        for kind in Schedule.Kind.allCases {
            if let a = s.acceptance[kind] { lines.append("acceptance  \(kind.rawValue): \(fmt(a)) over \(s.trajectoriesBySampler[kind] ?? 0) trajectories") }
        }
        if let a = s.acceptance[.l2hmc], a < stuckAcceptance {
            lines.append("(the learned sampler accepted almost nothing: its step sizes were learned at equilibrium; from a random start on a lattice larger than its own, or at a beta far from its training, start it with --cold-start or --hmc-start N)")
        }
        if let t = s.tunneling {
            lines.append("tunneling   rate \(fmt(t.rate)) per trajectory and chain (\(t.events) events); tau_int(Q) \(s.tauQ.map(fmt) ?? "-"), tau_int(plaquette) \(s.tauPlaquette.map(fmt) ?? "-")")
        }
        if let r = s.modeSwitchRate {
            lines.append("modes       switch rate \(fmt(r)) per trajectory and chain; occupancy \((s.occupancy ?? []).map(fmt).joined(separator: ", "))")
        }
        lines.append("exactness   <exp(-dH + logdet)> = \(fmt(s.meanBoltzmannFactor)) (1 for an exact kernel)")
        return lines.joined(separator: "\n")
    }

    /// Mean L2HMC acceptance below which the text summary explains how to start a learned sampler
    /// that does not move (the shipped local model accepts 3e-12 from a random start on 16x16 at
    /// beta 5, and 0.72 from a cold one).
    public static let stuckAcceptance = 0.01

    /// The summary as JSON; `z_threshold`, `z_flagged` (names, in table order) and, when any is
    /// flagged, `z_warning` (``zWarning(_:zThreshold:cause:)`` with `cause`).
    public static func json(_ s: RunSummary, zThreshold: Double = ZScore.defaultThreshold, cause: String? = nil) -> JSONValue {
        let flags = flagged(s, zThreshold: zThreshold)
        var o: [String: JSONValue] = [
            "z_threshold": .double(zThreshold),
            "z_flagged": .array(flags.map { .string($0.name) }),
            "trajectories_used": .int(Int64(s.trajectoriesUsed)),
            "trajectories_dropped": .int(Int64(s.trajectoriesDropped)),
            "chains": .int(Int64(s.chains)),
            "mean_boltzmann_factor": number(s.meanBoltzmannFactor),
            "quantities": .array(s.quantities.map { q -> JSONValue in
                var row: [String: JSONValue] = ["name": .string(q.name), "mean": number(q.estimate.mean), "error": number(q.estimate.error),
                         "error_source": .string(q.estimate.errorSource.rawValue),
                         "error_autocorrelation": number(q.estimate.autocorrelationError),
                         "error_chain_scatter": q.estimate.chainScatterError.map(number) ?? .null,
                         "tau_int": number(q.estimate.tauInt), "window": .int(Int64(q.estimate.window)),
                         "window_converged": .bool(q.estimate.converged), "samples": .int(Int64(q.estimate.samples)),
                         "exact": q.exact.map(number) ?? .null, "z": q.zTest?.value.map(number) ?? .null]
                if let reason = q.zTest?.reason { row["z_undefined"] = .string(reason) }
                return .object(row)
            }),
            "acceptance": .object(Dictionary(uniqueKeysWithValues: s.acceptance.map { ($0.key.rawValue, number($0.value)) })),
            "trajectories_by_sampler": .object(Dictionary(uniqueKeysWithValues: s.trajectoriesBySampler.map { ($0.key.rawValue, .int(Int64($0.value))) })),
        ]
        if let t = s.tunneling {
            o["tunneling_rate"] = number(t.rate)
            o["tunneling_events"] = .int(Int64(t.events))
        }
        if let q = s.tauQ { o["tau_int_q"] = number(q) }
        if let p = s.tauPlaquette { o["tau_int_plaquette"] = number(p) }
        if let r = s.modeSwitchRate { o["mode_switch_rate"] = number(r) }
        if let occ = s.occupancy { o["occupancy"] = .array(occ.map(number)) }
        if let e = s.equilibration { o["equilibration"] = equilibration(e) }
        if let w = zWarning(s, zThreshold: zThreshold, cause: cause) { o["z_warning"] = .string(w) }
        return .object(o)
    }

    /// The verdict, its evidence as sentences, and every number behind it.
    static func equilibration(_ e: Equilibration) -> JSONValue {
        var o: [String: JSONValue] = [
            "verdict": .string(e.verdict.rawValue),
            "equilibrated": e.verdict == .notAssessed ? .null : .bool(e.verdict == .equilibrated),
            "evidence": .array(e.evidence.map { .string($0) }),
            "drift_threshold": .double(Equilibration.driftThreshold),
            "frozen_fraction_threshold": .double(Equilibration.frozenFractionThreshold),
            "drifts": .array(e.drifts.map { d in
                .object(["name": .string(d.name), "z": number(d.drift.z), "significant": .bool(abs(d.drift.z) > Equilibration.driftThreshold),
                         "first_half_mean": number(d.drift.first.mean), "first_half_error": number(d.drift.first.error),
                         "second_half_mean": number(d.drift.second.mean), "second_half_error": number(d.drift.second.error),
                         "samples_per_half": .int(Int64(d.drift.first.samples))])
            }),
            "significant_drifts": .array(e.significantDrifts.map { .string($0.name) }),
            "topology_frozen": .bool(e.topologyFrozen),
        ]
        if let d = e.largestDrift { o["largest_drift"] = .object(["name": .string(d.name), "z": number(d.drift.z)]) }
        if let f = e.frozenCharge {
            o["frozen_chains"] = .int(Int64(f.frozenChains))
            o["frozen_fraction"] = number(f.fraction)
        }
        return .object(o)
    }

    /// The table's short name of an error source.
    static func sourceLabel(_ source: MeanEstimate.ErrorSource) -> String {
        switch source {
        case .autocorrelation: return "window"
        case .chainScatter: return "chains"
        }
    }

    /// JSON has no NaN or infinity: those become null (a quantity's `z` is null with its reason
    /// in `z_undefined` when ``ZScore`` is undefined).
    static func number(_ x: Double) -> JSONValue { x.isFinite ? .double(x) : .null }

    static func fmt(_ x: Double) -> String {
        guard x.isFinite else { return "\(x)" }
        if x == 0 { return "0" }
        let a = abs(x)
        return a >= 1e-3 && a < 1e5 ? String(format: "%.6g", x) : String(format: "%.3e", x)
    }
}
