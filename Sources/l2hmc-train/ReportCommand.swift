import ArgumentParser
import CLISupport
import Foundation
import HTMLReport
import ModelFormat

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report (inline SVG plots, no script) of a training run.",
        discussion: """
            RUN is the training's --out model path (u1.l2z) or its log (u1.log.csv): the report \
            reads the CSV log (one row per step) and, when present, the model, and plots every \
            logged column against the step (loss, acceptance, ESJD, tunneling or mode switches, \
            step sizes, learning rate, beta or temperature, gradient norm). Output: the log path \
            with .html (u1.log.html) unless -o; an existing file is replaced only when it is a \
            report this command wrote, or with --force. The same files give the same bytes.
            Exit codes: 0 success, 1 unreadable log, 64 usage.
            """)

    @Argument(help: "The training's model path (RUN.l2z) or its log (RUN.log.csv).")
    var path: String
    @Option(name: [.short, .customLong("output")], help: "Output HTML file (default: the log path with .html).")
    var output: String?
    @Flag(help: "Replace an existing output file that this command did not write.")
    var force = false

    func run() throws {
        let base = path.hasSuffix(".log.csv") ? String(path.dropLast(".log.csv".count)) : path.hasSuffix(".l2z") ? String(path.dropLast(4)) : path
        let logPath = path.hasSuffix(".csv") ? path : base + ".log.csv"
        guard FileManager.default.fileExists(atPath: logPath) else {
            throw UsageError("no training log at \(logPath): give the --out model path or the --log path of an l2hmc-train run")
        }
        let modelPath = FileManager.default.fileExists(atPath: base + ".l2z") ? base + ".l2z" : nil
        let out = output ?? String(logPath.dropLast(4)) + ".html"
        if FileManager.default.fileExists(atPath: out) && !force {
            let head = (try? AtomicFile.readPrefix(out, count: 64)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard head.contains(HTMLPage.marker) else {
                throw UsageError("\(out) exists and is not a report this command wrote; pass --force to replace it, or -o another path")
            }
        }
        let html = try TrainingReportPage.html(logPath: logPath, modelPath: modelPath, toolVersion: "l2hmc-train \(ToolVersion.current)")
        try AtomicFile.write(Array(html.utf8), to: out, replaceExisting: true)
        print("wrote \(out)")
    }
}
