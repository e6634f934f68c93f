import ArgumentParser
import CLISupport
import Foundation
import HTMLReport
import RunHTMLReport
import Inference
import ModelFormat

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report (inline SVG plots, no script, no network) of a run directory, a crossval report or a compare JSON.",
        discussion: """
            Reads the run directory an `l2hmc-run --out DIR` run wrote (params.json, summary.json \
            when the run finished, the per-trajectory .npy series) and writes one HTML file: the \
            parameters, the summary table with z-scores (|z| > 3 marked), and plots: for U(1), \
            Q_int(t) of the first chains, the Q_int histogram against the exact finite-volume \
            distribution, the plaquette history against the exact value, autocorrelation functions \
            of Q_int and the plaquette with the Sokal window and tau_int, cumulative tunneling \
            events; for every run, acceptance and dH per trajectory by sampler and the running \
            mean of exp(-dH + log det). The same directory gives the same bytes.
            Given a crossval report (`l2hmc-run crossval --report FILE.json`): the verdict, every \
            check (failed and inconclusive ones marked), and plots of acceptance, tunneling and the \
            largest |z| per sampling check (exactness, ablation, sensitivity) and of the \
            sensitivity to N_LF and rank; written to FILE.html by default.
            Given a compare JSON (`l2hmc-run compare --json FILE.json`): the verdicts, every sampler \
            setting, the best HMC per measure with the gains over it, and plots of tau_int(Q) and of \
            its cost per force evaluation against the HMC trajectory length; written to FILE.html by default.
            Output: DIR/report.html by default (replaced when it is a report this command wrote); \
            -o FILE.html elsewhere (an existing FILE is replaced only with --force). Written atomically. \
            --compare FILE.json adds a compare JSON's tables and plots to a run directory's report.
            Exit codes: 0 success, 1 unreadable or damaged run directory, 64 usage.
            """)

    @Argument(help: "The run directory (l2hmc-run --out DIR), a crossval report (crossval --report FILE.json) or a compare JSON (compare --json FILE.json).")
    var directory: String
    @Option(name: [.short, .customLong("output")], help: "Output HTML file (default: DIR/report.html).")
    var output: String?
    @Option(name: .customLong("compare"), help: "With a run directory: add the tables and plots of this compare JSON (l2hmc-run compare --json FILE.json) to the run report as a last section.")
    var compare: String?
    @Flag(help: "Replace an existing output file that this command did not write.")
    var force = false

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw UsageError("\(directory) does not exist: give a run directory (l2hmc-run --out DIR), a crossval report (crossval --report FILE.json) or a compare JSON (compare --json FILE.json)")
        }
        let crossval = !isDirectory.boolValue
        if compare != nil && crossval { throw UsageError("--compare adds a compare JSON to a run directory's report; \(directory) is a file") }
        if !crossval && !FileManager.default.fileExists(atPath: directory + "/params.json") {
            throw UsageError("\(directory) holds no params.json: not a run directory (l2hmc-run --out DIR writes one)")
        }
        let defaultPath = crossval ? (directory.hasSuffix(".json") ? String(directory.dropLast(5)) : directory) + ".html" : directory + "/report.html"
        let path = output ?? defaultPath
        if FileManager.default.fileExists(atPath: path) && !force {
            let head = (try? AtomicFile.readPrefix(path, count: 64)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            guard head.contains(HTMLPage.marker) else {
                throw UsageError("\(path) exists and is not a report this command wrote; pass --force to replace it, or -o another path")
            }
        }
        let version = "l2hmc-run \(ToolVersion.current)"
        let html: String
        if !crossval {
            var comparison: (path: String, json: JSONValue)?
            if let c = compare {
                let json = try StrictJSONParser.parse(AtomicFile.read(c, limit: 1 << 28))
                guard CompareReportPage.isCompareReport(json) else { throw CompareReportError.notACompareReport(path: c) }
                comparison = (c, json)
            }
            html = try RunReportPage.html(directory: directory, toolVersion: version, compare: comparison)
        } else if let json = try? StrictJSONParser.parse(AtomicFile.read(directory, limit: 1 << 28)), CompareReportPage.isCompareReport(json) {
            html = try CompareReportPage.html(path: directory, toolVersion: version)
        } else {
            html = try CrossvalReportPage.html(path: directory, toolVersion: version)
        }
        try AtomicFile.write(Array(html.utf8), to: path, replaceExisting: true)
        print("wrote \(path)")
    }
}
