import ArgumentParser
import Audit
import Foundation
import Inference
import ModelFormat

/// `l2hmc-run crossval`: the command line of the ``Crossval`` audit (target Audit): parses the
/// options, runs the checks, prints the table (or the JSON report) and sets the exit status.
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
    @Option(help: "Largest |z| accepted against exact values (a positive finite number; the default 4 is also l2hmc-run's).")
    var zThreshold = ZScore.defaultThreshold
    @Option(help: "Jitter F of the HMC reference runs' step size: each trajectory uses eps * (1 + F u), u uniform in [-1, 1] (0 <= F < 1; default 0; see docs/RUNTIME.md, HMC resonance).")
    var hmcJitter = 0.0
    @Option(help: "U(1) lattice LTxLX to audit a local model at (default: the lattice it was trained on; a dense model runs only at its own).")
    var lattice: String?
    @Option(help: "Random seed.")
    var seed: UInt64 = 1
    @Option(help: "JSON report path (default: <model name>.crossval.json in the current directory).")
    var report: String?
    @Flag(help: "Print the JSON report on stdout instead of the table.")
    var json = false
    @Flag(help: "Exit 1 when any check is inconclusive, not only when one fails.")
    var strict = false

    mutating func run() throws {
        var settings = CrossvalSettings()
        settings.chains = chains
        settings.trajectories = trajectories
        settings.hmcEps = hmcEps
        settings.zThreshold = zThreshold
        settings.seed = seed
        settings.hmcJitter = hmcJitter
        settings.lattice = try lattice.map { try LatticeSize.option($0) }
        try settings.validate()
        guard let path = model ?? DefaultModel.locate() else { throw UsageError("no model given and \(DefaultModel.relativePath) was not found") }
        settings.nLFValues = try parseList(nlf, "--nlf")
        settings.ranks = try parseList(lowrank, "--lowrank")

        let started = Date()
        var audit = Crossval(settings: settings)
        let quiet = json
        let checks = try audit.run(modelPath: path) { c in
            if !quiet { Console.error(CrossvalReport.progressLine(c)) }
        }

        let status = CrossvalTally(checks.map(\.verdict)).exitStatus(strict: strict)
        let reportValue = CrossvalReport.json(checks, modelPath: path, settings: settings, strict: strict, seconds: Date().timeIntervalSince(started))
        let bytes = try CanonicalJSONWriter.encode(reportValue)
        let reportPath = report ?? (URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent + ".crossval.json")
        try AtomicFile.write(bytes, to: reportPath)
        if json {
            Console.out(bytes)
        } else {
            for line in CrossvalReport.table(checks, modelPath: path, strict: strict, seconds: Date().timeIntervalSince(started), reportPath: reportPath) {
                print(line)
            }
        }
        if status != 0 { Foundation.exit(status) }
    }

    private func parseList(_ text: String?, _ flag: String) throws -> [Int] {
        guard let text else { return [] }
        let values = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == text.split(separator: ",").count, values.allSatisfy({ $0 >= 1 }) else {
            throw InferenceError.invalidOption(name: flag, reason: "must be a comma-separated list of positive integers (got \(text))")
        }
        return values
    }
}
