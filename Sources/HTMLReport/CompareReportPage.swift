import Foundation
import ModelFormat

/// `l2hmc-run report COMPARE.json`: the JSON `l2hmc-run compare --json FILE` writes, as one
/// self-contained HTML page: the verdicts, the settings, the table of every sampler setting
/// (rows that cannot be ranked marked), the best HMC per measure with the gains over it, and
/// plots of tau_int(Q) per HMC setting against the trajectory length and of the cost per force
/// evaluation, with the model and networks-off rows as reference lines.
public enum CompareReportPage {
    /// The `kind` of a compare JSON.
    public static let kind = "l2hmc-run compare"

    /// True when `json` is a compare JSON (an object whose `kind` is ``kind``).
    public static func isCompareReport(_ json: JSONValue) -> Bool {
        ReportJSON.object(json)?["kind"] == .string(kind)
    }

    public static func html(path: String, toolVersion: String) throws -> String {
        let json = try StrictJSONParser.parse(try AtomicFile.read(path, limit: 1 << 28))
        guard isCompareReport(json), let root = ReportJSON.object(json), case let .array(rowValues)? = root["rows"] else {
            throw CompareReportError.notACompareReport(path: path)
        }
        let rows = rowValues.compactMap { ReportJSON.object($0) }
        func text(_ v: JSONValue?) -> String { ReportJSON.text(v ?? .null) }
        func num(_ v: JSONValue?) -> Double? { ReportJSON.number(v) }
        var page = HTMLPage(title: "l2hmc-run compare report: \(URL(fileURLWithPath: path).lastPathComponent)")
        page.paragraph("Report \(path); made by \(toolVersion) from the JSON of \(text(root["tool"])) compare. No script, no network.")
        page.heading("Verdict")
        if let v = ReportJSON.object(root["verdict"]) {
            for key in ["model", "networks_off"] { if case let .string(s)? = v[key] { page.paragraph(s, cssClass: s.contains("INCONCLUSIVE") ? "warn" : nil) } }
        }
        var facts: [[String]] = [["model", text(root["model"])], ["model sha256", text(root["model_sha256"])]]
        if let t = ReportJSON.object(root["target"]) { facts.append(["target", "U(1) lattice \(text(t["lattice"])), beta \(text(t["beta"])) (model trained at \(text(t["model_beta"])))"]) }
        if let d = ReportJSON.object(root["model_dynamics"]) {
            facts.append(["model dynamics", "N_LF \(text(d["n_lf"])), mean eps_x \(text(d["mean_step_size"])), length \(text(d["length"]))"])
        }
        if let s = ReportJSON.object(root["settings"]) {
            for (k, v) in s.sorted(by: { $0.key < $1.key }) { facts.append([k, text(v)]) }
        }
        facts.append(["threads", text(root["threads"])])
        facts.append(["seconds", ReportJSON.fmt(num(root["seconds"]))])
        page.table(["item", "value"], facts)

        page.heading("Settings")
        var cells: [[String]] = [], flags: [Bool] = []
        for r in rows {
            let cpu = num(r["cpu_seconds_per_trajectory"]).map { $0 * 1e6 }
            cells.append([text(r["label"]), ReportJSON.fmt(num(r["length"])), ReportJSON.fmt(num(r["acceptance"])), ReportJSON.fmt(num(r["tunneling_rate"])),
                          ReportJSON.fmt(num(r["tau_int_q"])) + " +- " + ReportJSON.fmt(num(r["tau_int_q_error"])), ReportJSON.fmt(num(r["forces_per_trajectory"])),
                          ReportJSON.fmt(cpu), r["problem"].map { text($0) } ?? ""])
            flags.append(r["usable"] != .bool(true))
        }
        page.table(["sampler", "length", "acceptance", "tunneling rate", "tau_int(Q)", "forces / trajectory", "CPU us / trajectory", "problem"], cells, flagged: flags)
        page.paragraph("Per chain and trajectory. Marked rows cannot be ranked (the Sokal window did not converge, or most chains never changed Q).")

        page.heading("Against the best HMC")
        var gainRows: [[String]] = []
        let best = ReportJSON.object(root["best_hmc"]) ?? [:], gains = ReportJSON.object(root["gains"]) ?? [:]
        for (key, phrase) in [("trajectory", "per trajectory"), ("force_evaluation", "per force evaluation"), ("cpu_second", "per CPU-second")] {
            var row = [phrase, text(best[key])]
            for kind in ["model", "networks_off"] {
                if let g = ReportJSON.object(ReportJSON.object(gains[kind])?[key]) {
                    row.append("\(ReportJSON.fmt(num(g["gain"]))) +- \(ReportJSON.fmt(num(g["error"]))) (\(text(g["outcome"])))")
                } else { row.append("-") }
            }
            gainRows.append(row)
        }
        page.table(["measure", "best HMC", "model gain", "networks-off gain"], gainRows)
        page.paragraph("A gain above 1 means cheaper than the best HMC per independent sample of Q (tau_int(Q) x cost per trajectory).")
        if let share = num(ReportJSON.object(root["non_force_cpu_share"])?["model"]) {
            page.paragraph(String(format: "%.0f %% of the model's CPU time is not force evaluations (networks, their features, the learned updates), pricing a force at HMC's CPU time per force evaluation.", share * 100))
        }

        let hmc = rows.filter { $0["kind"] == .string("hmc") }
        let others = rows.filter { $0["kind"] != .string("hmc") }
        let epsValues = Array(Set(hmc.compactMap { num($0["step_size"]) })).sorted()
        for (title, key, y, unit) in [("tau_int(Q) per HMC setting", nil as String?, "tau_int(Q)", "trajectories"),
                                      ("Cost per independent sample of Q", "forces_per_trajectory", "tau_int(Q) x forces", "force evaluations")] {
            var p = SVGPlot(title: title, xLabel: "trajectory length eps N_LF", yLabel: y)
            for eps in epsValues {
                let points = hmc.filter { num($0["step_size"]) == eps }.compactMap { r -> (Double, Double)? in
                    guard let l = num(r["length"]), let t = num(r["tau_int_q"]) else { return nil }
                    let factor = key.flatMap { num(r[$0]) } ?? 1
                    return (l, t * factor)
                }.sorted { $0.0 < $1.0 }
                if !points.isEmpty { p.series.append(.init(label: "HMC eps \(ReportJSON.fmt(eps))", points: points, style: .points)) }
            }
            for r in others {
                guard let t = num(r["tau_int_q"]) else { continue }
                let factor = key.flatMap { num(r[$0]) } ?? 1
                p.horizontalLines.append((t * factor, text(r["label"])))
            }
            if !p.series.isEmpty {
                page.figure(p.svg(), caption: "Each point is one HMC setting (in \(unit)); the horizontal lines are the model and the model with its networks off.")
            }
        }
        return page.html()
    }
}

/// A JSON file given to the report command that is not a compare JSON.
public enum CompareReportError: Error, CustomStringConvertible {
    case notACompareReport(path: String)

    public var code: String { "report.not_a_report" }
    public var description: String {
        switch self {
        case let .notACompareReport(path):
            return "[\(code)] \(path) is not a compare report (a JSON object with \"kind\": \"\(CompareReportPage.kind)\" and a rows array, as `l2hmc-run compare --json FILE` writes)"
        }
    }
}
