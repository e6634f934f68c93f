import ArgumentParser
import Audit
import CLISupport
import Foundation
import HTMLReport
import Inference
import ModelFormat

extension CompareReportError: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { ToolFailure.badData }
}

extension ComparisonError: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { ToolFailure.usage }
}

/// `l2hmc-run compare`: the command line of ``SamplerComparison`` (target Audit): the model
/// against plain HMC tuned over a grid, and against itself with its networks off.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare a U(1) model with plain HMC tuned over step sizes and trajectory lengths, and with its networks off.",
        discussion: """
            Runs, at the model's lattice and beta (or --beta), each with the same chains, trajectories and \
            seed as l2hmc-run would: plain HMC at every point of a grid of step sizes eps x trajectory \
            lengths L (N_LF = round(L / eps)), the model, and the model with its six net weights 0 \
            (learned step sizes only). Default grid: eps in {0.25, 0.5, 0.75, 1} x the model's mean x step \
            size, L in {1, 2, 3, 4} x its trajectory length (the sum of its x step sizes), three \
            significant digits: 16 HMC runs. Per setting: acceptance, tunneling rate, tau_int(Q) with its \
            error (Madras-Sokal, widened to the chain-scatter estimate when that is larger), force \
            evaluations (counted) and process CPU time per chain and trajectory. The best HMC per \
            trajectory, per force evaluation and per CPU-second is the usable row (converged window, \
            at most half the chains frozen) with the smallest tau_int x cost; the model's gain over it \
            comes with an error bar and a verdict (INCONCLUSIVE when the errors or a too short run \
            cannot decide); a best HMC at the grid's edge is named as such. All numbers but the CPU times are the same for every --threads. \
            Default budget: 64 chains x 4000 trajectories per setting (about 1.5 minutes for the \
            shipped 8x8 model on 2 cores, release build; docs/RUNTIME.md).
            Exit codes: 0 success, 1 unreadable model or failed write, 64 invalid options or a model \
            without a topological charge, 130/143 interrupted (nothing written).
            """)

    @Argument(help: "The .l2z model (default fixtures/default.l2z).")
    var model: String?
    @Option(help: "U(1) lattice LTxLX (default the model's; must match a dense model's, any size for a local model).")
    var lattice: String?
    @Option(help: "Inverse coupling beta > 0 (default: the model's).")
    var beta: Double?
    @Option(help: "Chains per setting.")
    var chains = 64
    @Option(help: "Trajectories per setting.")
    var trajectories = 4000
    @Option(name: [.customLong("thermalization"), .customLong("therm")], help: "Fraction of trajectories dropped before statistics.")
    var thermalization = Thermalization.defaultFraction
    @Option(help: "Random seed (every setting uses it, as l2hmc-run --seed does).")
    var seed: UInt64 = 1
    @Option(help: "Threads (default: the cores this process may use, at most each run's tiles). The numbers do not depend on it, except CPU times.")
    var threads: Int?
    @Option(name: .customLong("hmc-eps"), help: "HMC step sizes, comma separated (default: 0.25,0.5,0.75,1 x the model's mean x step size).")
    var hmcEps: String?
    @Option(name: .customLong("hmc-length"), help: "HMC trajectory lengths eps x N_LF, comma separated (default: 1,2,3,4 x the model's length, the sum of its x step sizes).")
    var hmcLength: String?
    @Option(help: "Jitter F of the HMC step sizes: eps (1 + F u), u uniform in [-1, 1], per chain and trajectory (0 <= F < 1; default 0).")
    var hmcJitter = 0.0
    @Flag(name: .customLong("cold-start"), help: "Start every run from all links 0 instead of a random configuration (a learned sampler may not leave a random start on a lattice larger than its training one).")
    var coldStart = false
    @Option(help: "Write the comparison as JSON to this path (created; an existing file is refused unless --force and it is a compare JSON).")
    var json: String?
    @Flag(help: "Replace an existing --json file, only if it is a JSON this command wrote.")
    var force = false
    @OptionGroup var quietOption: QuietOption

    func run() throws {
        Interrupt.install()
        var settings = ComparisonSettings()
        settings.chains = chains
        settings.trajectories = trajectories
        settings.thermalization = thermalization
        settings.seed = seed
        settings.hmcJitter = hmcJitter
        settings.coldStart = coldStart
        settings.hmcStepSizes = try hmcEps.map { try Self.parseList($0, "--hmc-eps") }
        settings.hmcLengths = try hmcLength.map { try Self.parseList($0, "--hmc-length") }
        try settings.validate()
        if let t = threads, t < 1 { throw UsageError("--threads must be >= 1 (got \(t))") }
        if json == nil && force { throw UsageError("--force applies to --json") }
        if let path = json { try Self.checkOutput(path, force: force) }

        guard let path = model ?? DefaultModel.locate() else { throw UsageError("no model given and \(DefaultModel.relativePath) was not found; run from the repository root or give MODEL") }
        let bytes = try AtomicFile.read(path, limit: ReadLimits().maxFileBytes)
        let loaded = try L2ZReader.read(bytes: bytes).model
        guard case let .u1(trained) = loaded.spec.target else {
            throw ComparisonError.unsupportedTarget("compare ranks samplers by tau_int of the topological charge, which only U(1) models have; \(path) is a Gaussian-mixture model")
        }
        _ = try ProbeVerifier.verify(model: loaded, target: makeTarget(loaded.spec.target))
        var lattice = try self.lattice.map { try loaded.runLattice(LatticeSize.option($0)) } ?? trained
        if let b = beta {
            guard b > 0 && b.isFinite else { throw UsageError("--beta must be > 0 (got \(b))") }
            lattice.beta = b
        }
        let comparison = try SamplerComparison(settings: settings, model: loaded, lattice: lattice)
        let step = try comparison.modelStep()
        let plan = try comparison.plan()
        let threadCount = threads ?? AvailableCores.count
        // The largest run's memory (the model's record and networks), as l2hmc-run checks it.
        _ = try MemoryBudget.check(settings: comparison.runSettings(kind: .model, point: nil), target: .u1(lattice), model: loaded, limit: MemoryBudget.defaultLimit)

        let quiet = quietOption.quiet
        if !quiet {
            Console.error("compare     \(plan.count) runs of \(chains) chains x \(trajectories) trajectories: \(plan.count - (comparison.isFlow ? 1 : 2)) HMC settings, \(comparison.isFlow ? "the flow (FT-HMC)" : "the model, networks off")\n")
        }
        let started = Date()
        let bar = ProgressBar(label: "trajectories", quiet: quiet)
        let terminal = isatty(STDERR_FILENO) != 0
        let result = try comparison.run(threads: threadCount, note: { i, n, row in
            // On a terminal the line replaces the progress bar's (which is redrawn after it).
            if !quiet { Console.error((terminal ? "\r\u{1B}[K" : "") + ComparisonReport.progressLine(index: i, count: n, row: row)) }
        }, progress: { done, total in bar.update(done: done, total: total) }, shouldStop: { Interrupt.isRequested })
        guard let result else {
            Console.error(Interrupt.stoppedMessage)
            Foundation.exit(Interrupt.exitStatus)
        }
        var context = ComparisonReport.Context(modelPath: path, modelSHA256: SHA256Digest.hex(bytes), lattice: lattice, modelBeta: trained.beta,
                                               modelStepSize: step.stepSize, modelLength: step.length, modelSteps: step.steps,
                                               threads: threadCount, toolVersion: "l2hmc-run \(Inference.version)", seconds: Date().timeIntervalSince(started))
        context.modelIsFlow = comparison.isFlow
        if let out = json {
            let bytes = try CanonicalJSONWriter.encode(ComparisonReport.json(result, settings: settings, context: context))
            try Interrupt.critical { try AtomicFile.write(bytes, to: out, replaceExisting: force) }
        }
        for line in ComparisonReport.table(result, settings: settings, context: context) { print(line) }
        if let out = json { print("json        \(out)") }
    }

    /// A comma-separated list of numbers (their range is checked by ``ComparisonSettings``).
    static func parseList(_ text: String, _ flag: String) throws -> [Double] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == parts.count, !values.isEmpty else {
            throw ComparisonError.invalidOption(name: flag, reason: "must be a comma-separated list of numbers (got \(text))")
        }
        return values
    }

    /// Before any work: an existing `path` is refused (`io.output_exists`) unless `force` and
    /// it is a compare JSON (an object whose `kind` is ``ComparisonReport/kind``); a missing directory is refused.
    static func checkOutput(_ path: String, force: Bool) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw L2ZError.ioFailure(path: path, operation: "write", reason: "directory \(directory) does not exist")
        }
        guard fm.fileExists(atPath: path) else { return }
        guard force else { throw L2ZError.outputExists(path: path) }
        let existing = try? StrictJSONParser.parse(AtomicFile.read(path, limit: 1 << 26))
        guard case let .object(o)? = existing, o["kind"] == .string(ComparisonReport.kind) else {
            throw UsageError("\(path) exists and is not a JSON `l2hmc-run compare` wrote; --force replaces only those: choose another --json path")
        }
    }
}
