import Foundation
import ModelFormat

/// `l2hmc-run report CROSSVAL.json`: the report `l2hmc-run crossval --report FILE` writes, as one
/// self-contained HTML page: the verdict and its counts, the table of every check (failed and
/// inconclusive rows marked), and plots of the sampling checks (exactness, ablation, sensitivity):
/// acceptance, tunneling rate and the largest |z| per check against the threshold, and for the
/// sensitivity checks acceptance and |z| against N_LF and against the rank.
public enum CrossvalReportPage {
    public static func html(path: String, toolVersion: String) throws -> String {
        let json = try StrictJSONParser.parse(try AtomicFile.read(path, limit: 1 << 28))
        guard let root = ReportJSON.object(json), case let .array(checks)? = root["checks"] else {
            throw ReportError.notACrossvalReport(path: path)
        }
        var page = HTMLPage(title: "l2hmc-run crossval report: \(URL(fileURLWithPath: path).lastPathComponent)")
        page.paragraph("Report \(path); made by \(toolVersion) from the crossval report's JSON. No script, no network.")
        let verdict = ReportJSON.text(root["verdict"] ?? .null)
        page.heading("Verdict: \(verdict.uppercased())")
        var facts: [[String]] = [["model", ReportJSON.text(root["model"] ?? .null)]]
        if let counts = ReportJSON.object(root["counts"]) {
            facts.append(["checks", ["pass", "fail", "inconclusive", "skipped"].map { "\($0) \(ReportJSON.text(counts[$0] ?? .int(0)))" }.joined(separator: ", ")])
        }
        if let settings = ReportJSON.object(root["settings"]) {
            for (k, v) in settings.sorted(by: { $0.key < $1.key }) { facts.append([k, ReportJSON.text(v)]) }
        }
        page.table(["item", "value"], facts)
        if verdict == "inconclusive" {
            page.paragraph("Inconclusive checks are not evidence either way: their reasons say what would decide them.", cssClass: "warn")
        }

        page.heading("Checks")
        var rows: [[String]] = [], flags: [Bool] = []
        var sampling: [(name: String, acceptance: Double?, tunneling: Double?, z: Double?)] = []
        let threshold = ReportJSON.number(ReportJSON.object(root["settings"])?["z_threshold"]) ?? 4
        for case let .object(c) in checks {
            let name = ReportJSON.text(c["name"] ?? .null), result = ReportJSON.text(c["result"] ?? .null)
            rows.append([name, result, ReportJSON.text(c["detail"] ?? .null)])
            flags.append(result == "fail" || result == "inconclusive")
            if let data = ReportJSON.object(c["data"]), let summary = ReportJSON.object(data["summary"]) {
                var acceptance: Double?
                if let a = ReportJSON.object(summary["acceptance"]) { acceptance = a.values.compactMap { ReportJSON.number($0) }.first }
                sampling.append((name, acceptance, ReportJSON.number(summary["tunneling_rate"]), ReportJSON.number(data["max_abs_z"])))
            }
        }
        page.table(["check", "result", "detail"], rows, flagged: flags)

        if !sampling.isEmpty {
            page.heading("Sampling checks")
            let names = sampling.map(\.name)
            func bars(_ title: String, _ y: String, _ values: [Double?]) -> SVGPlot {
                var p = SVGPlot(title: title, xLabel: "", yLabel: y)
                p.xCategories = names
                p.height = 380
                p.bars = values.enumerated().compactMap { i, v in v.map { SVGPlot.Bar(x0: Double(i) - 0.35, x1: Double(i) + 0.35, y: $0) } }
                return p
            }
            page.figure(bars("Acceptance", "acceptance", sampling.map(\.acceptance)).svg(), caption: "Mean acceptance of each sampling run.")
            page.figure(bars("Tunneling rate (per trajectory and chain)", "rate", sampling.map(\.tunneling)).svg(),
                        caption: "Topological tunneling events per trajectory and chain (U(1)).")
            var z = bars("Largest |z| against the exact values", "|z|", sampling.map(\.z))
            z.horizontalLines.append((threshold, "threshold \(ReportJSON.fmt(threshold))"))
            page.figure(z.svg(), caption: "The largest |z| over the quantities with exact values; above the threshold a check fails (or is inconclusive when the run is too short).")
            for (prefix, axis) in [("sensitivity: N_LF ", "N_LF"), ("sensitivity: rank ", "rank")] {
                let points = sampling.compactMap { s -> (Double, Double?, Double?)? in
                    guard s.name.hasPrefix(prefix), let k = Double(s.name.dropFirst(prefix.count)) else { return nil }
                    return (k, s.acceptance, s.z)
                }.sorted { $0.0 < $1.0 }
                guard !points.isEmpty else { continue }
                var p = SVGPlot(title: "Sensitivity to \(axis)", xLabel: axis, yLabel: "acceptance, |z| / threshold")
                p.series.append(.init(label: "acceptance", points: points.compactMap { k, a, _ in a.map { (k, $0) } }, style: .points))
                p.series.append(.init(label: "|z| / threshold", points: points.compactMap { k, _, z in z.map { (k, $0 / threshold) } }, style: .points))
                p.horizontalLines.append((1, "threshold"))
                page.figure(p.svg(), caption: "Each point is one sensitivity run of crossval.")
            }
        }
        return page.html()
    }
}

/// Inputs the report commands refuse.
public enum ReportError: Error, CustomStringConvertible {
    case notACrossvalReport(path: String)
    case notATrainingLog(path: String, reason: String)

    public var code: String {
        switch self {
        case .notACrossvalReport: return "report.not_a_report"
        case .notATrainingLog: return "report.not_a_training_log"
        }
    }
    public var description: String {
        switch self {
        case let .notACrossvalReport(path):
            return "[\(code)] \(path) is not a crossval report (a JSON object with a checks array, as `l2hmc-run crossval --report FILE` writes)"
        case let .notATrainingLog(path, reason):
            return "[\(code)] \(path) is not an l2hmc-train log: \(reason)"
        }
    }
}
