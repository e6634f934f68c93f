import Foundation
import ModelFormat

/// `l2hmc-train report RUN`: one self-contained HTML page of a training run from its CSV log
/// (`RUN.log.csv`, one row per step) and, when present, its model (`RUN.l2z`): the model's
/// description, the last row, and one plot per logged column against the step (loss,
/// acceptance, ESJD, tunneling or mode switches, step sizes, learning rate, beta or
/// temperature, gradient norm, whatever the header names). Columns are found by the header,
/// so logs of older versions read too. Deterministic: the same files give the same bytes.
public enum TrainingReportPage {
    /// What a column holds, for titles (unknown columns are shown by their name).
    static let meanings: [String: String] = [
        "loss": "loss (mean over chains)",
        "acceptance": "acceptance probability (mean over chains)",
        "esjd": "expected squared jump distance",
        "tunneling": "tunneling (U(1)) or mode-switch (mixture) rate",
        "tunneling_rate": "tunneling rate (U(1))",
        "mode_switch_rate": "mode-switch rate (mixture)",
        "learning_rate": "learning rate",
        "scale": "annealing parameter: beta (U(1)) or temperature (mixture)",
        "beta": "coupling beta (annealed)",
        "temperature": "temperature (annealed)",
        "gradient_norm": "global gradient norm (before clipping)",
        "eps_x": "x step size (mean over steps)",
        "eps_v": "v step size (mean over steps)",
    ]

    public static func html(logPath: String, modelPath: String?, toolVersion: String) throws -> String {
        let text = String(decoding: try AtomicFile.read(logPath, limit: 1 << 30), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard !lines.isEmpty else { throw ReportError.notATrainingLog(path: logPath, reason: "it is empty") }
        let header = lines.removeFirst().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard header.first == "step", header.count >= 2 else {
            throw ReportError.notATrainingLog(path: logPath, reason: "its first line is not a header starting with step")
        }
        var columns = [[Double]](repeating: [], count: header.count)
        for (i, line) in lines.enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == header.count else {
                throw ReportError.notATrainingLog(path: logPath, reason: "row \(i + 1) has \(cells.count) cells, the header \(header.count)")
            }
            for (c, cell) in cells.enumerated() {
                guard let v = Double(cell.trimmingCharacters(in: .whitespaces)) else {
                    throw ReportError.notATrainingLog(path: logPath, reason: "row \(i + 1), column \(header[c]) is not a number")
                }
                columns[c].append(v)
            }
        }
        var page = HTMLPage(title: "l2hmc-train report: \(URL(fileURLWithPath: logPath).lastPathComponent)")
        page.paragraph("Training log \(logPath)\(modelPath.map { " and model \($0)" } ?? ""); made by \(toolVersion). No script, no network.")
        if let modelPath, let model = try? L2ZReader.read(path: modelPath).model {
            page.heading("Model")
            page.table(["", "description"], ModelDescription.lines(model.spec).map { line in
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                return [parts.first ?? "", parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""]
            })
        }
        page.heading("Last step")
        page.table(["column", "value"], header.indices.map { c in [header[c], ReportJSON.fmt(columns[c].last)] })
        page.heading("Per step")
        let steps = columns[0]
        for c in 1..<header.count {
            let name = header[c]
            var plot = SVGPlot(title: meanings[name] ?? name, xLabel: "step", yLabel: name)
            plot.series.append(.init(label: "", points: zip(steps, columns[c]).map { ($0, $1) }))
            page.figure(plot.svg(), caption: "Column \(name) of the log, one value per training step.")
        }
        return page.html()
    }
}
