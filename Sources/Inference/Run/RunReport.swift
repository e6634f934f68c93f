import Foundation
import ModelFormat

/// Renders a ``RunSummary`` as a readable table and as JSON.
public enum RunReport {
    public static func text(_ s: RunSummary) -> String {
        var lines: [String] = []
        lines.append("summary     \(s.trajectoriesUsed) trajectories x \(s.chains) chains after dropping \(s.trajectoriesDropped) for thermalization")
        let header = ["quantity", "estimate", "error", "from", "tau_int", "exact", "z"]
        var rows: [[String]] = []
        for q in s.quantities {
            rows.append([q.name, fmt(q.estimate.mean), fmt(q.estimate.error), sourceLabel(q.estimate.errorSource),
                         fmt(q.estimate.tauInt) + (q.estimate.converged ? "" : "*"),
                         q.exact.map(fmt) ?? "-", q.zTest.map { $0.value.map { String(format: "%+.2f", $0) } ?? "undefined" } ?? "-"])
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
        if s.quantities.contains(where: { !$0.estimate.converged }) {
            lines.append("(* the Sokal window did not converge: the run is too short for this tau_int; the window error is a lower bound)")
        }
        if let e = s.equilibration {
            lines.append("verdict     \(e.verdict.rawValue)" + (e.evidence.isEmpty ? "" : ": " + e.evidence.joined(separator: "; ")))
        }
        for kind in Schedule.Kind.allCases {
            if let a = s.acceptance[kind] { lines.append("acceptance  \(kind.rawValue): \(fmt(a)) over \(s.trajectoriesBySampler[kind] ?? 0) trajectories") }
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

    public static func json(_ s: RunSummary) -> JSONValue {
        var o: [String: JSONValue] = [
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
