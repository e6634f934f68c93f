import ArgumentParser
import CLISupport
import Foundation
import DistributedKit
import Ensemble
import Inference
import ModelFormat

extension Schedule.Kind: ExpressibleByArgument {}
extension StepMapping: ExpressibleByArgument {}
extension NetworkPrecision: ExpressibleByArgument {}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Sample with a trained model (L2HMC), plain HMC, or a mixed schedule, and summarize the physics.",
        discussion: """
            Examples:
              l2hmc-run                                   # the model in fixtures/, its trained N_LF
              l2hmc-run --model m.l2z --nlf 4 --lowrank 16 --trajectories 2000
              l2hmc-run --model m.l2z --schedule l2hmc:1,hmc:4 --hmc-eps 0.1 --hmc-nlf 10
              l2hmc-run --sampler hmc --lattice 6x10 --beta 2 --eps 0.2 --nlf 10
              l2hmc-run --model flow.l2z --lattice 16x16 --eps 0.1 --nlf 8          # FT-HMC with a flow model (fthmc is its default)
              l2hmc-run --sampler hmc --target gmm --mixture-means="-2,0;2,0" --mixture-variance 0.1 --eps 0.1 --nlf 5
              l2hmc-run --sampler hmc --target gmm --mixture-variance 0.1 --eps 0.1 --nlf 10 --hmc-jitter 0.3   # a resonant length, jittered
              l2hmc-run --model m.l2z --out run1 --trajectories 500; l2hmc-run --resume run1 --trajectories 1000
            Statistics drop the first --thermalization fraction of trajectories, then give means with \
            errors corrected by the integrated autocorrelation time (Sokal window, c = 5), and for \
            U(1) the exact finite-volume plaquette and <Q^2> with z-scores.
            """)

    @Option(help: "Model (.l2z). Default: fixtures/default.l2z when the schedule uses L2HMC.")
    var model: String?
    @Option(help: "Main sampler: l2hmc, hmc, fthmc (HMC in a flow model's latent field) or flow (independence Metropolis with flow proposals). Default l2hmc, or fthmc for a flow model; hmc needs no model.")
    var sampler: Schedule.Kind?
    @Option(help: "Target without a model: u1 or gmm (default u1).")
    var target: String?
    @Option(help: "U(1) lattice LTxLX (default 8x8 without a model; must match a dense model's, any size for a local model).")
    var lattice: String?
    @Option(help: "U(1) inverse coupling beta > 0 (default 2 without a model; with a model, the model's).")
    var beta: Double?
    @Option(help: "Mixture means, ';'-separated vectors (default \"-2,0;2,0\").")
    var mixtureMeans: String?
    @Option(help: "Variance sigma^2 of every component's isotropic covariance (default 0.1, the seed's example).")
    var mixtureVariance: Double?
    @Option(help: "Mixture weights, comma separated (default equal).")
    var mixtureWeights: String?
    @Option(help: "Number of chains (default 64).")
    var chains: Int?
    @Option(help: "Number of trajectories (default 1000; with --resume, the new total).")
    var trajectories: Int?
    @Option(help: "Leapfrog steps: L2HMC N_LF (default the model's), FT-HMC steps (default the flow model's), or HMC steps with --sampler hmc (default 10).")
    var nlf: Int?
    @Option(help: "HMC step size with --sampler hmc (default 0.1), or the FT-HMC step size in z with a flow model (default the model's).")
    var eps: Double?
    @Option(help: "Step size of HMC trajectories in a mixed schedule (default 0.1).")
    var hmcEps: Double?
    @Option(help: "Steps of HMC trajectories in a mixed schedule (default: the L2HMC N_LF).")
    var hmcNlf: Int?
    @Option(help: "Jitter F of plain-HMC step sizes: each trajectory of each chain uses eps * (1 + F u), u uniform in [-1, 1] (0 <= F < 1; default 0, a fixed eps). Breaks the resonance of a trajectory length near a multiple of half an oscillation period (docs/RUNTIME.md).")
    var hmcJitter: Double?
    @Option(help: "Flag quantities whose |z| against their exact value exceeds this (a positive finite number; default 4, as crossval's): `!` in the table, a warning line, z_flagged in the JSON.")
    var zThreshold: Double?
    @Option(help: "Per-step networks with --nlf != trained N_LF: cyclic or stretch.")
    var stepMapping: StepMapping?
    @Option(help: "Replace every dense kernel by its rank-R truncated SVD.")
    var lowrank: Int?
    @Option(help: "Per layer, the smallest rank keeping this fraction of sum s_i^2 (e.g. 0.99).")
    var lowrankEnergy: Double?
    @Option(help: "Network arithmetic: float64 (default) or float32 (SGEMM networks; states, energies, log-dets and Metropolis-Hastings stay float64; see docs/RUNTIME.md).")
    var precision: NetworkPrecision?
    @Option(help: "Repeating pattern, e.g. l2hmc:1,hmc:4 (default: the --sampler alone).")
    var schedule: String?
    @Option(help: "Thermalize with this many HMC trajectories first (default 0).")
    var hmcStart: Int?
    @Option(help: "Six net weights x_scale,x_translation,x_transformation,v_scale,v_translation,v_transformation (default: the model's).")
    var netWeights: String?
    @Option(help: "Random seed (default 1).")
    var seed: UInt64?
    @Option(help: "Fraction of trajectories dropped before statistics (default 0.25).")
    var thermalization: Double?
    @Flag(help: "Start from all links 0 (or x = 0) instead of a random start.")
    var coldStart = false
    @Option(help: "Write the run to this directory as it goes: params.json, the .npy records and observables.csv (appended at each checkpoint), state.json (the checkpoint), then summary.json and final_states.npy. Created whole and never over an existing path (see --force); a kill loses at most the last checkpoint interval.")
    var out: String?
    @Flag(help: "Replace an existing --out directory, only if l2hmc-run wrote it (its state.json and no other files); anything else is refused.")
    var force = false
    @Option(help: "Checkpoint the --out directory every N trajectories (default: every 10 s of work).")
    var checkpointEvery: Int?
    @Option(help: "Save the link configurations of every chain every N trajectories to DIR/ensemble.h5 (HDF5, readable with h5py; needs --out; U(1) only; written at each checkpoint and consistent with it after an interruption). Measure them with `l2hmc-run measure DIR/ensemble.h5`.")
    var saveConfigs: Int?
    @Option(help: "Refuse runs whose estimated memory exceeds this (bytes, or with K/M/G/T; default 80% of the memory available).")
    var maxMemory: String?
    @Option(help: "Continue the run saved in this directory (same numbers as one uninterrupted run).")
    var resume: String?
    @Flag(help: "Print the summary as JSON on stdout (parameters go to stderr).")
    var json = false
    @OptionGroup var quietOption: QuietOption
    private var quiet: Bool { quietOption.quiet }
    @Flag(help: "Run F L F L on a sample of chains at the end and report max |dx| and |dv|.")
    var checkReversibility = false
    @Option(help: "Threads, each running whole tiles of chains with single-threaded GEMMs (default: the cores this process may use, at most the number of tiles). The numbers do not depend on it.")
    var threads: Int?
    @Option(help: "Chains per tile, the unit of every batched call (default 32, or 128 for networks over 2 MiB or under 256 KiB of weights; at most --chains). The numbers depend on it at the rounding level, never on --threads or the MPI process count; fixed when resuming.")
    var tile: Int?

    func run() throws {
        Interrupt.install()
        // Under mpirun: one rank of a run whose chains are split over the ranks (docs/DISTRIBUTED.md).
        let processes = try ProcessGroups.current()
        let group = processes.size > 1 ? MPIRunGroup(processes) : nil
        if group != nil {
            ToolFailure.terminate = { processes.abort(code: $0, message: processes.rank > 0 ? "note: the error above is MPI rank \(processes.rank)'s; every rank stops" : "") }
        }
        let isRoot = processes.isRoot
        let limit = try memoryLimit()
        if let k = checkpointEvery, k < 1 { throw UsageError("--checkpoint-every must be >= 1 trajectory (got \(k))") }
        if let t = threads, t < 1 { throw UsageError("--threads must be >= 1 (got \(t))") }
        if let t = tile, t < 1 { throw UsageError("--tile must be >= 1 (got \(t))") }
        if let z = zThreshold { try ZScore.validate(threshold: z) }
        if let f = hmcJitter { try RunSettings.validate(hmcJitter: f) }
        if let o = out, o == resume { throw UsageError("--out names the directory being resumed; leave --out out to continue it in place") }
        if out == nil && force { throw UsageError("--force applies to --out") }
        if let k = saveConfigs {
            guard k >= 1 else { throw UsageError("--save-configs must be >= 1 trajectory (got \(k))") }
            guard resume == nil else { throw UsageError("--save-configs cannot change when resuming (the saved params.json fixes it)") }
            guard out != nil else { throw UsageError("--save-configs needs --out DIR (the ensemble is written to DIR/ensemble.h5, in step with the directory's checkpoints)") }
        }
        // The root resolves the options and reads every file; the other ranks get the result.
        var root: Resolved?
        if isRoot {
            root = try resolve(limit: limit)
            if let o = out { try OutputDirectory.checkTarget(o, replace: force ? RunDirectory.ownership : nil) }
        }
        let resolved: Resolved
        if let group { resolved = try share(root, group: group) } else if let root { resolved = root } else {
            preconditionFailure("a single process is its own root")
        }
        let params = resolved.params, model = resolved.model, resumed = resolved.resumed
        // Threads split this process's tiles; every GEMM runs on one OpenBLAS thread (docs/RUNTIME.md).
        BLAS.setThreads(1)
        let s = params.settings
        let localTiles = TileSplit.tiles(rank: processes.rank, size: processes.size, tileCount: s.tileCount).count
        if processes.size > s.tileCount {
            throw UsageError("mpirun -np \(processes.size) is more than the \(s.tileCount) tile(s) of \(s.effectiveTile) chains; use at most \(s.tileCount) processes\(resume == nil ? ", or a smaller --tile" : " (the tile is fixed when resuming)")")
        }
        if let t = threads, t > localTiles {
            throw UsageError("--threads \(t) is more than the \(localTiles) tile(s) of \(s.effectiveTile) chains\(processes.size > 1 ? " of this MPI rank" : ""); use --threads \(localTiles) or fewer\(resume == nil ? ", or a smaller --tile" : " (the tile is fixed when resuming)")")
        }
        let threadCount = threads ?? min(AvailableCores.count, localTiles)
        let memory = try MemoryBudget.check(settings: s, target: params.target, model: model, limit: limit)

        let targetAction = makeTarget(params.target)
        let engine = try RunEngine(settings: s, target: targetAction, model: model, threads: threadCount, group: group)
        if let r = resumed { try engine.resume(states: r.states, trajectoryIndex: r.trajectoryIndex, record: r.record) }
        let startStates = try engine.gatheredStates()

        var header = parameterLines(params, model: model, engine: engine)
        header.append("memory      estimated \(MemoryBudget.format(memory.bytes)) (limit \(MemoryBudget.format(limit)), --max-memory)")
        if let r = resumed { header.append("resume      from \(resume ?? "") after \(r.trajectoryIndex) trajectories") }
        var provenance: [String: JSONValue] = ["tool": .string("l2hmc-run \(Inference.version)"), "threads": .int(Int64(threadCount))]
        if processes.size > 1 { provenance["processes"] = .int(Int64(processes.size)) }
        let paramsJSON = params.json(extra: provenance)

        // The output (root only): the resumed directory itself, or a new one (also for a
        // version-1 directory, whose continuation replaces it as version 2).
        var output = resolved.output
        var ensemble: EnsembleWriter?
        if let o = output {
            // The ensemble is checked (and cut back to the checkpoint) before params.json changes.
            ensemble = try openEnsemble(params: params, output: o, resumed: resumed)
            try Interrupt.critical { try o.updateParams(paramsJSON) }
        } else if isRoot, let path = out ?? resume, let startStates {
            let (created, warning) = try Interrupt.critical {
                try RunOutput.create(at: path, replace: force || out == nil, params: paramsJSON, layout: RunDirectory.Layout(params.target),
                                     chains: s.chains, stateSize: targetAction.stateSize, seed: s.seed,
                                     record: engine.record, states: startStates)
            }
            if let warning { Console.error("warning: \(warning)\n") }
            output = created
            ensemble = try openEnsemble(params: params, output: created, resumed: resumed)
        }
        if let o = output { header.append("output      \(o.path) (checkpoint every \(checkpointEvery.map { "\($0) trajectories" } ?? "10 s"))") }
        if let e = ensemble { header.append("ensemble    \(e.path) (every \(e.header.every) trajectories, \(e.written) saved)") }
        if isRoot {
            emit(header.joined(separator: "\n") + "\n")
            if let w = BLASKernel.current().warning { Console.error("warning: \(w)\n") }
        }

        // The loop: every rank runs the same trajectories; after each one the ranks agree on
        // stopping (a signal to any of them) and on checkpointing (the root's clock).
        let progress = ProgressBar(label: "trajectories", quiet: quiet || !isRoot)
        let batchLog = isRoot && !quiet && isatty(STDERR_FILENO) == 0
        let started = Date()
        let startCount = engine.trajectoriesDone
        var lastCheckpoint = Date(), lastCount = engine.trajectoriesDone
        var interrupted = false
        while !engine.isFinished {
            try engine.step()
            let done = engine.trajectoriesDone
            // Saved configurations: every rank takes part in the gather (collective).
            if let every = params.saveConfigs, done % every == 0 {
                let states = try engine.gatheredStates()
                if let e = ensemble, let states {
                    try e.add(trajectory: done, states: states)
                    // Rows beyond the last commit are harmless (a resume cuts them): write early
                    // when many are waiting, so memory stays bounded between checkpoints.
                    if e.pendingBytes > Self.ensembleBuffer { try Interrupt.critical { try e.flush() } }
                }
            }
            var due = false
            var acc = 0.0
            if isRoot {
                acc = engine.record.acceptProbability.last.map { $0.reduce(0, +) / Double($0.count) } ?? 0
                progress.update(done: done, total: s.trajectories, note: String(format: "acc %.2f", acc))
                due = !engine.isFinished && (checkpointEvery.map { done % $0 == 0 } ?? (Date().timeIntervalSince(lastCheckpoint) >= 10))
            }
            // Batch logs (stderr not a terminal): one plain line every 5 % of the run.
            if batchLog, s.trajectories > 0, (done * 20) / s.trajectories > ((done - 1) * 20) / s.trajectories, !engine.isFinished {
                let rate = Double(done - startCount) / max(Date().timeIntervalSince(started), 1e-9)
                Console.error(String(format: "progress    %d/%d trajectories (%d %%), %.1f/s, acc %.2f\n", done, s.trajectories,
                                     done * 100 / s.trajectories, rate, acc))
            }
            let decision = try engine.agree(stop: Interrupt.isRequested, checkpoint: due)
            if decision.stop { interrupted = true; break }
            if decision.checkpoint {
                let states = try engine.gatheredStates()
                if let o = output, let states { try checkpoint(o, engine, states: states, ensemble: ensemble) }
                if batchLog {
                    let rate = Double(done - lastCount) / max(Date().timeIntervalSince(lastCheckpoint), 1e-9)
                    Console.error(String(format: "progress    %d/%d trajectories, %.1f/s, acc %.2f%@\n", done, s.trajectories,
                                         rate, acc, output == nil ? "" : ", checkpoint written"))
                }
                lastCheckpoint = Date(); lastCount = done
            }
        }
        let seconds = Date().timeIntervalSince(started)
        let finalStates = try engine.gatheredStates()
        guard isRoot, let finalStates else { return try finish(processes, interrupted: interrupted) }
        if let o = output { try checkpoint(o, engine, states: finalStates, ensemble: ensemble) }

        let summary = RunSummary(record: engine.record, target: targetAction, thermalization: s.thermalization)
        let threshold = zThreshold ?? ZScore.defaultThreshold
        let cause = RunReport.likelyCause(summary, zThreshold: threshold, resonance: Self.resonance(params))
        var summaryJSON = RunReport.json(summary, zThreshold: threshold, cause: cause)
        var extraLines: [String] = []
        if case var .object(o) = summaryJSON {
            o["trajectories_done"] = .int(Int64(engine.record.count))
            o["interrupted"] = .bool(interrupted)
            o["seconds"] = seconds.isFinite ? .double(seconds) : .null
            if checkReversibility && engine.l2hmc == nil && engine.sampler.hmc == nil && engine.sampler.proposals[.fthmc] == nil {
                extraLines.append("reversible  not applicable: the flow independence sampler draws each proposal afresh (no trajectory to reverse)")
            } else if checkReversibility {
                let fthmc = engine.sampler.proposals[.fthmc] as? FieldTransformedHMC
                let r = ReversibilityCheck.run(l2hmc: engine.l2hmc, hmc: engine.sampler.hmc, fthmc: fthmc, target: targetAction, states: finalStates,
                                               count: 16, random: ChainRandom(seed: s.seed))
                var rev: [String: JSONValue] = ["chains": .int(Int64(r.chains)), "max_dx": .double(r.maxDx), "max_dv": .double(r.maxDv),
                                                "max_logdet_sum": .double(r.maxLogDetSum)]
                if let p = r.precision, p != .float64 {
                    // float32 runs also get the per-chain distribution (float64 summaries keep their bytes).
                    rev["precision"] = .string(p.rawValue)
                    rev["chain_max_dx_quantiles"] = .object(["0.5": .double(r.dxQuantile(0.5)), "0.9": .double(r.dxQuantile(0.9)), "1": .double(r.dxQuantile(1))])
                }
                // A diverging model can give NaN or infinite deviations: null, listed in `non_finite`.
                o["reversibility"] = JSONValue.objectReplacingNonFiniteNumbers(rev)
                extraLines.append(String(format: "reversible  F L F L on %d chains (%@): max |dx| %.2e, max |dv| %.2e, max |logdet sum| %.2e",
                                         r.chains, engine.l2hmc.map { $0.precision == .float64 ? "L2HMC" : "L2HMC, \($0.precision.rawValue) networks" } ?? (fthmc != nil ? "FT-HMC" : "HMC"), r.maxDx, r.maxDv, r.maxLogDetSum))
                if let p = r.precision, p != .float64 {
                    extraLines.append(String(format: "            per-chain max |dx| quantiles: 50%% %.2e, 90%% %.2e, max %.2e",
                                             r.dxQuantile(0.5), r.dxQuantile(0.9), r.dxQuantile(1)))
                }
            }
            if let flow = try Self.flowESS(model: model, params: params) {
                o["flow_ess"] = .object(["per_sample": flow.ess.isFinite ? .double(flow.ess) : .null, "samples": .int(Int64(flow.samples))])
                extraLines.append(String(format: "flow ESS    %.4g per sample (%d prior draws at this lattice; 1 for a perfect flow; independence acceptance grows with it)", flow.ess, flow.samples))
            }
            summaryJSON = .object(o)
        }
        if json {
            Console.out(try CanonicalJSONWriter.encode(summaryJSON))
        } else {
            print(RunReport.text(summary, zThreshold: threshold))
            extraLines.forEach { print($0) }
            print(String(format: "time        %.1f s (%.1f trajectories/s)", seconds, Double(engine.record.count - (resumed?.trajectoryIndex ?? 0)) / max(seconds, 1e-9)))
        }
        if let w = RunReport.zWarning(summary, zThreshold: threshold, cause: cause) { Console.error("warning: \(w)\n") }
        if let o = output {
            try Interrupt.critical { try o.finish(summary: summaryJSON, states: finalStates) }
            emit("output      \(o.path)\n")
            o.close()
        }
        if interrupted {
            let by = Interrupt.isRequested ? Interrupt.signalName : "a signal to another MPI rank"
            Console.error("interrupted by \(by) after \(engine.record.count) trajectories\(output.map { "; the output is complete up to there: continue with --resume \($0.path)" } ?? "")\n")
        }
        try finish(processes, interrupted: interrupted)
    }

    /// The ESS per sample of a flow model's importance weights on fresh prior draws at the run
    /// lattice (seeded by the run's seed): 1024 draws up to 32x32 sites, 128 above (each draw
    /// costs one flow forward pass), nil for other models.
    static func flowESS(model: L2ZModel?, params: RunParameters) throws -> (ess: Double, samples: Int)? {
        guard let model, case .flow = model.spec, case let .u1(lattice) = params.target else { return nil }
        // Batches of at most 65536 (draw, site) rows keep the flow's workspace near 64 MiB.
        let sites = lattice.lt * lattice.lx, samples = sites <= 1024 ? 1024 : 128, batch = max(1, min(128, 65536 / sites))
        let flow = try FlowMap(model: model, lattice: lattice, capacity: batch)
        var rng = SplitMix64(seed: params.settings.seed ^ 0x4553_5321)
        var logW: [Double] = []
        while logW.count < samples {
            let rows = min(batch, samples - logW.count)
            let z = (0..<(rows * flow.stateSize)).map { _ in 2 * .pi * rng.uniform() - .pi }
            logW += flow.logWeights(z: z, rows: rows)
        }
        return (ImportanceWeights.effectiveSampleSizeFraction(logWeights: logW) ?? .nan, samples)
    }

    /// The resonance sentence (``HMCResonance``) of a run's plain-HMC trajectories on a Gaussian
    /// mixture, naming the options that change them; nil when there is none.
    static func resonance(_ p: RunParameters) -> String? {
        let s = p.settings
        guard s.schedule.usesHMC, case let .gaussianMixture(g) = p.target else { return nil }
        let options = s.schedule.usesL2HMC ? "--hmc-eps or --hmc-nlf" : "--eps or --nlf"
        return HMCResonance.sentence(HMCResonance.find(mixture: g, stepSize: s.hmcStepSize, steps: s.hmcSteps, jitter: s.hmcJitter), options: options)
    }

    /// The end of every rank: MPI is finalised after the last write and the last line (it waits
    /// for every rank), then an interrupted run exits 130 or 143.
    private func finish(_ processes: ProcessGroup, interrupted: Bool) throws {
        fflush(stdout)
        try processes.finalize()
        if interrupted { Foundation.exit(Interrupt.isRequested ? Interrupt.exitStatus : 143) }
    }

    /// Sends the root's resolved run to every rank (collective); the others rebuild it from the
    /// plan (no file is read off the root).
    private func share(_ resolved: Resolved?, group: MPIRunGroup) throws -> Resolved {
        var bytes: [UInt8] = []
        if let resolved {
            let p = resolved.params
            var modelBytes: [UInt8] = []
            if p.modelPath != nil { modelBytes = resolved.modelBytes ?? [] }
            let r = resolved.resumed.map { (trajectoryIndex: $0.trajectoryIndex, states: $0.states) }
            bytes = try RunPlan(params: p.json(), modelBytes: modelBytes, resumed: r).encode()
        }
        let received = try group.broadcast(bytes)
        if let resolved { return resolved }
        let plan = try RunPlan(decoding: received)
        let params = try RunParameters(json: plan.params)
        if !plan.modelBytes.isEmpty && SHA256Digest.hex(plan.modelBytes) != params.modelSHA256 {
            throw InferenceError.io(path: params.modelPath ?? "model", reason: "the model bytes received from MPI rank 0 do not have the SHA-256 of params.json")
        }
        let model = plan.modelBytes.isEmpty ? nil : try L2ZReader.read(bytes: plan.modelBytes).model
        var out = Resolved(params: params, model: model)
        if let r = plan.resumed {
            out.resumed = RunDirectory.Contents(params: plan.params, summary: nil, record: RunRecord(), states: r.states,
                                                stateSize: makeTarget(params.target).stateSize, trajectoryIndex: r.trajectoryIndex, seed: params.settings.seed)
        }
        return out
    }

    /// Kept saved configurations beyond which they are written before the next checkpoint.
    static let ensembleBuffer = 64 << 20

    /// The ensemble of a `--save-configs` run (root only): created with a new directory, cut back
    /// to the checkpoint of a directory resumed in place, copied up to it into a new `--out`.
    private func openEnsemble(params: RunParameters, output: RunOutput, resumed: RunDirectory.Contents?) throws -> EnsembleWriter? {
        guard let every = params.saveConfigs, case let .u1(lattice) = params.target else { return nil }
        let header = EnsembleHeader(lattice: lattice, seed: params.settings.seed, every: every, model: params.modelSHA256 ?? "hmc",
                                    chains: params.settings.chains)
        let path = "\(output.path)/\(EnsembleHeader.fileName)"
        return try Interrupt.critical { () throws -> EnsembleWriter in
            guard let r = resumed else { return try EnsembleWriter.create(path: path, header: header) }
            if let old = resume, old != output.path {
                return try EnsembleWriter.copy(from: "\(old)/\(EnsembleHeader.fileName)", to: path, header: header, committed: r.trajectoryIndex)
            }
            return try EnsembleWriter.resume(path: path, header: header, committed: r.trajectoryIndex)
        }
    }

    /// Commits a checkpoint (the saved configurations first, so that every committed
    /// trajectory's are on disk); a failure (a full disk) names the checkpoint the directory keeps.
    private func checkpoint(_ output: RunOutput, _ engine: RunEngine, states: [Double], ensemble: EnsembleWriter?) throws {
        do { try Interrupt.critical { try ensemble?.flush(); try output.checkpoint(record: engine.record, states: states) } } catch {
            let text = (error as? InferenceError)?.description ?? (error as? EnsembleError)?.description ?? "\(error)"
            throw InferenceError.io(path: output.path, reason: "checkpoint failed (\(text)); the directory keeps its last checkpoint, \(output.committed) trajectories: fix the cause and continue with --resume \(output.path)")
        }
    }

    /// `--max-memory`, or the default limit.
    private func memoryLimit() throws -> Double {
        guard let text = maxMemory else { return MemoryBudget.defaultLimit }
        guard let v = MemoryBudget.parse(text) else { throw UsageError("--max-memory must be a positive size such as 8G or 512M (got \(text))") }
        return v
    }

    /// Parameters go to stdout, or to stderr when stdout carries JSON.
    private func emit(_ text: String) {
        if json { Console.error(text) } else { print(text, terminator: "") }
    }

    // MARK: Resolving options

    private struct Resolved {
        var params: RunParameters
        var model: L2ZModel?
        var resumed: RunDirectory.Contents?
        /// The resumed version-2 directory, locked and cut back to its checkpoint.
        var output: RunOutput?
        /// The model file's bytes as read and checked (sent as they are to the other MPI ranks).
        var modelBytes: [UInt8]?

        init(params: RunParameters, model: L2ZModel?, resumed: RunDirectory.Contents? = nil, output: RunOutput? = nil, modelBytes: [UInt8]? = nil) {
            self.params = params; self.model = model; self.resumed = resumed; self.output = output; self.modelBytes = modelBytes
        }
    }

    private func resolve(limit: Double) throws -> Resolved {
        if let resume {
            let fixed: [(String, Bool)] = [("--model", model != nil), ("--sampler", sampler != nil), ("--target", target != nil), ("--lattice", lattice != nil),
                                           ("--beta", beta != nil), ("--chains", chains != nil), ("--nlf", nlf != nil), ("--eps", eps != nil),
                                           ("--hmc-eps", hmcEps != nil), ("--hmc-nlf", hmcNlf != nil), ("--schedule", schedule != nil),
                                           ("--hmc-start", hmcStart != nil), ("--net-weights", netWeights != nil), ("--seed", seed != nil),
                                           ("--lowrank", lowrank != nil), ("--lowrank-energy", lowrankEnergy != nil), ("--step-mapping", stepMapping != nil),
                                           ("--precision", precision != nil), ("--thermalization", thermalization != nil), ("--cold-start", coldStart), ("--tile", tile != nil),
                                           ("--mixture-means", mixtureMeans != nil), ("--mixture-variance", mixtureVariance != nil), ("--mixture-weights", mixtureWeights != nil),
                                           ("--save-configs", saveConfigs != nil), ("--hmc-jitter", hmcJitter != nil)]
            if let given = fixed.first(where: { $0.1 }) {
                throw UsageError("\(given.0) cannot change when resuming (the saved params.json fixes it); only --trajectories, --out, --force, --json, --quiet, --threads, --checkpoint-every, --max-memory, --z-threshold and --check-reversibility may be given")
            }
            let saved: RunDirectory.Contents
            var output: RunOutput?
            if RunDirectory.isVersion1(resume) {
                saved = try RunDirectory.readVersion1(resume)
            } else {
                let limits = RunDirectoryReader.Limits(maxFileBytes: Int(min(limit, 1e12)), maxElements: Int(min(limit / 65, 1e12)))
                let (o, contents) = try RunOutput.reopen(resume, limits: limits)
                saved = contents
                if out == nil { output = o } else { o.close() }
            }
            var params = try RunParameters(json: saved.params)
            if let t = trajectories {
                guard t >= saved.trajectoryIndex else { throw UsageError("--trajectories \(t) is fewer than the \(saved.trajectoryIndex) already done") }
                params.settings.trajectories = t
            }
            var loaded: L2ZModel?
            var modelBytes: [UInt8]?
            if let path = params.modelPath {
                let bytes = try ModelPath.readSaved(path, runDirectory: resume)
                // A relative path of an older directory, found: stored absolute from now on.
                params.modelPath = ModelPath.absolute(path)
                guard SHA256Digest.hex(bytes) == params.modelSHA256 else {
                    throw InferenceError.io(path: path, reason: "the model changed since the run was saved (SHA-256 differs); resuming would mix samplers")
                }
                loaded = try L2ZReader.read(bytes: bytes).model
                modelBytes = bytes
            }
            return Resolved(params: params, model: loaded, resumed: saved, output: output, modelBytes: modelBytes)
        }

        // The model: needed for L2HMC and the flow samplers; optional for plain HMC (then its
        // target is used). A given model is read first: a flow model makes fthmc the default sampler.
        var loaded: L2ZModel?
        var modelSHA: String?
        var modelBytes: [UInt8]?
        func load(_ path: String) throws {
            let bytes = try AtomicFile.read(path, limit: ReadLimits().maxFileBytes)
            modelBytes = bytes
            modelSHA = SHA256Digest.hex(bytes)
            let m = try L2ZReader.read(bytes: bytes).model
            _ = try ProbeVerifier.verify(model: m, target: makeTarget(m.spec.target))
            if let p = precision, p != .float64, case .l2hmc = m.spec {
                // Also with the networks this run uses, at the float32 tolerance (ProbeVerifier).
                _ = try ProbeVerifier.verify(model: m, target: makeTarget(m.spec.target), precision: p)
            }
            loaded = m
        }
        if let path = model { try load(path) }
        let isFlow: Bool
        if case .flow? = loaded?.spec { isFlow = true } else { isFlow = false }
        let main = sampler ?? (isFlow ? .fthmc : .l2hmc)
        let scheduleValue = try Schedule(parsing: schedule ?? "\(main.rawValue):1", hmcStart: hmcStart ?? 0)
        if let text = schedule, sampler != nil, !scheduleValue.pattern.contains(where: { $0.kind == main }) {
            throw UsageError("--sampler \(main.rawValue) does not appear in --schedule \(text)")
        }
        if scheduleValue.usesFlow && scheduleValue.usesL2HMC {
            throw UsageError("a schedule cannot mix l2hmc with fthmc or flow: one model file holds one family")
        }
        var modelPath = model
        if modelPath == nil && scheduleValue.usesFlow {
            throw UsageError("the \(scheduleValue.kinds.filter(\.usesFlow).map(\.rawValue).joined(separator: " and ")) sampler needs a flow model: --model FLOW.l2z (l2hmc-convert makes one from a PyTorch flow; l2hmc-train trains one)")
        }
        if modelPath == nil && scheduleValue.usesL2HMC {
            guard let found = DefaultModel.locate() else {
                throw UsageError("no --model given and \(DefaultModel.relativePath) was not found; run from the repository root, pass --model PATH, or use --sampler hmc")
            }
            modelPath = found
            try load(found)
        }
        if let m = loaded {
            if isFlow && scheduleValue.usesL2HMC {
                throw UsageError("\(modelPath ?? "the model") is a flow model: run it with --sampler fthmc (HMC in the flow's latent field) or --sampler flow (independence Metropolis), not l2hmc")
            }
            if !isFlow && scheduleValue.usesFlow {
                throw UsageError("--sampler fthmc and flow need a flow model; \(modelPath ?? "the model") is a \(m.spec.architecture) model")
            }
        }
        let targetValue = try resolveTarget(model: loaded)

        // Step counts and sizes.
        if let n = nlf, n < 1 { throw UsageError("--nlf must be >= 1 (got \(n))") }
        var settings: RunSettings
        let chainCount = chains ?? 64
        let total = trajectories ?? 1000
        let seedValue = seed ?? 1
        if scheduleValue.usesFlow {
            for (flag, given) in [("--lowrank", lowrank != nil), ("--lowrank-energy", lowrankEnergy != nil), ("--net-weights", netWeights != nil), ("--step-mapping", stepMapping != nil),
                                  ("--precision", precision != nil)] where given {
                throw UsageError("\(flag) applies to L2HMC models; this run samples a flow")
            }
            settings = RunSettings(chains: chainCount, trajectories: total, seed: seedValue, schedule: scheduleValue,
                                   hmcStepSize: hmcEps ?? 0.1, hmcSteps: hmcNlf ?? nlf ?? 10)
            if eps != nil || nlf != nil {
                guard scheduleValue.kinds.contains(.fthmc) else { throw UsageError("--eps and --nlf set the FT-HMC trajectory; this schedule has no fthmc trajectories (use --hmc-eps, --hmc-nlf for HMC ones)") }
            }
            settings.flowStepSize = eps
            settings.flowSteps = nlf
        } else if !scheduleValue.usesL2HMC {
            if let e = eps, let h = hmcEps, e != h { throw UsageError("--eps and --hmc-eps disagree; give one") }
            if let n = nlf, let h = hmcNlf, n != h { throw UsageError("--nlf and --hmc-nlf disagree; give one") }
            for (flag, given) in [("--lowrank", lowrank != nil), ("--lowrank-energy", lowrankEnergy != nil), ("--net-weights", netWeights != nil), ("--step-mapping", stepMapping != nil),
                                  ("--precision", precision != nil)] where given {
                throw UsageError("\(flag) applies to L2HMC; this run uses plain HMC only")
            }
            settings = RunSettings(chains: chainCount, trajectories: total, seed: seedValue, schedule: scheduleValue,
                                   hmcStepSize: hmcEps ?? eps ?? 0.1, hmcSteps: hmcNlf ?? nlf ?? 10)
        } else {
            if eps != nil { throw UsageError("--eps sets the step size of --sampler hmc; for HMC trajectories in a mixed schedule use --hmc-eps (L2HMC step sizes come from the model)") }
            guard let m = loaded else { throw UsageError("the schedule uses L2HMC, which needs a model (--model)") }
            let l2hmcSteps = try nlf ?? m.sampler.dynamics.nLF
            settings = RunSettings(chains: chainCount, trajectories: total, seed: seedValue, schedule: scheduleValue,
                                   hmcStepSize: hmcEps ?? 0.1, hmcSteps: hmcNlf ?? l2hmcSteps)
            settings.l2hmcSteps = nlf
            settings.stepMapping = stepMapping
            if let w = netWeights { settings.netWeights = try parseNetWeights(w) }
            if lowrank != nil && lowrankEnergy != nil { throw UsageError("give either --lowrank or --lowrank-energy, not both") }
            if let r = lowrank { settings.compression = .rank(r) }
            if let f = lowrankEnergy { settings.compression = .energy(f) }
            settings.precision = precision ?? .float64
        }
        if let f = hmcJitter {
            guard scheduleValue.usesHMC else { throw UsageError("--hmc-jitter applies to plain-HMC trajectories; this schedule has none") }
            settings.hmcJitter = f
        }
        settings.thermalization = thermalization ?? 0.25
        settings.hotStart = !coldStart
        settings.tile = tile ?? TilePolicy.defaultTile(chains: chainCount, sampler: loaded.flatMap { try? $0.sampler })
        try settings.validate()
        if saveConfigs != nil, case .gaussianMixture = targetValue {
            throw UsageError("--save-configs saves U(1) link configurations; for a Gaussian mixture the positions are already recorded per trajectory in DIR/position.npy")
        }
        return Resolved(params: RunParameters(settings: settings, target: targetValue, modelPath: modelPath.map(ModelPath.absolute), modelSHA256: modelSHA, saveConfigs: saveConfigs),
                        model: loaded, modelBytes: modelBytes)
    }

    private func resolveTarget(model: L2ZModel?) throws -> Target {
        if let model {
            switch model.spec.target {
            case var .u1(l):
                if let t = target, t != "u1" { throw InferenceError.modelTargetMismatch("--target \(t) does not match the model, a U(1) lattice") }
                if mixtureMeans != nil || mixtureVariance != nil || mixtureWeights != nil {
                    throw InferenceError.modelTargetMismatch("mixture options given, but the model's target is a U(1) lattice")
                }
                if let text = lattice { l = try model.runLattice(LatticeSize.option(text)) }
                if let b = beta {
                    guard b > 0 && b.isFinite else { throw UsageError("--beta must be > 0 (got \(b))") }
                    l.beta = b
                }
                return .u1(l)
            case let .gaussianMixture(g):
                if let t = target, t != "gmm" { throw InferenceError.modelTargetMismatch("--target \(t) does not match the model, a Gaussian mixture") }
                if lattice != nil || beta != nil { throw InferenceError.modelTargetMismatch("--lattice/--beta given, but the model's target is a Gaussian mixture") }
                if mixtureMeans != nil || mixtureVariance != nil || mixtureWeights != nil {
                    throw InferenceError.modelTargetMismatch("the model fixes its mixture; mixture options cannot change it")
                }
                return .gaussianMixture(g)
            }
        }
        switch target ?? "u1" {
        case "u1":
            if mixtureMeans != nil || mixtureVariance != nil || mixtureWeights != nil { throw UsageError("mixture options need --target gmm") }
            let (lt, lx) = try parseLattice(lattice ?? "8x8")
            let b = beta ?? 2
            guard b > 0 && b.isFinite else { throw UsageError("--beta must be > 0 (got \(b))") }
            return .u1(U1Lattice(lt: lt, lx: lx, beta: b))
        case "gmm":
            if lattice != nil || beta != nil { throw UsageError("--lattice and --beta apply to --target u1") }
            let means = try (mixtureMeans ?? "-2,0;2,0").split(separator: ";").map { part -> [Double] in
                let v = part.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard v.count == part.split(separator: ",").count, !v.isEmpty, v.allSatisfy(\.isFinite) else {
                    throw UsageError("--mixture-means: \"\(part)\" is not a comma-separated vector of finite numbers")
                }
                return v
            }
            let d = means[0].count
            guard means.allSatisfy({ $0.count == d }) else { throw UsageError("--mixture-means: every mean needs \(d) coordinates") }
            let variance = mixtureVariance ?? 0.1
            guard variance > 0 && variance.isFinite else { throw UsageError("--mixture-variance must be a positive finite number (got \(variance))") }
            let weights = try mixtureWeights.map { text -> [Double] in
                let w = text.split(separator: ",").compactMap { Double($0) }
                guard w.count == means.count, text.split(separator: ",").count == means.count, w.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                    throw UsageError("--mixture-weights needs \(means.count) positive finite numbers (got \(text))")
                }
                let sum = w.reduce(0, +)
                return w.map { $0 / sum }
            } ?? [Double](repeating: 1 / Double(means.count), count: means.count)
            let cov = (0..<d).map { i in (0..<d).map { $0 == i ? variance : 0 } }
            return .gaussianMixture(GaussianMixture(dimension: d, weights: weights, means: means, covariances: [[[Double]]](repeating: cov, count: means.count)))
        case let other:
            throw UsageError("--target must be u1 or gmm (got \(other))")
        }
    }

    private func parseLattice(_ text: String) throws -> (Int, Int) {
        let size = try LatticeSize.option(text)
        return (size.lt, size.lx)
    }

    private func parseNetWeights(_ text: String) throws -> NetWeights {
        let values = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 6, text.split(separator: ",").count == 6, values.allSatisfy(\.isFinite) else {
            throw UsageError("--net-weights needs six numbers: x_scale,x_translation,x_transformation,v_scale,v_translation,v_transformation (got \(text))")
        }
        return NetWeights(values: values)
    }

    private func parameterLines(_ p: RunParameters, model: L2ZModel?, engine: RunEngine) -> [String] {
        let s = p.settings
        var lines = ["l2hmc-run   \(Inference.version)"]
        if let path = p.modelPath, let m = model {
            lines.append("model       \(path) (sha256 \((p.modelSHA256 ?? "").prefix(16))...; \(m.probe != nil ? "probe reproduced\(s.precision == .float64 || resume != nil ? "" : " (float64, and float32 at its tolerance)")" : "no probe stored"))")
        }
        switch p.target {
        case let .u1(l):
            let trained = model.map { m -> String in
                guard case let .u1(ml) = m.spec.target else { return "" }
                let size = ml.lt != l.lt || ml.lx != l.lx ? "\(ml.lt)x\(ml.lx)" : nil, beta = ml.beta != l.beta ? "\(ml.beta)" : nil
                switch (size, beta) {
                case let (s?, b?): return " (model trained on \(s) at \(b))"
                case let (s?, nil): return " (model trained on \(s))"
                case let (nil, b?): return " (model trained at \(b))"
                case (nil, nil): return ""
                }
            } ?? ""
            lines.append("target      U(1) \(l.lt)x\(l.lx), beta \(l.beta)\(trained)")
        case let .gaussianMixture(g): lines.append("target      Gaussian mixture in R^\(g.dimension): weights \(g.weights), means \(g.means)")
        }
        lines.append("schedule    \(s.schedule)")
        if let dyn = engine.l2hmc {
            let w = dyn.netWeights.values.map { ModelDescription.formatNumber($0) }.joined(separator: ",")
            lines.append("l2hmc       N_LF \(dyn.plan.steps.count)\(s.stepMapping.map { " (\($0.rawValue) mapping)" } ?? ""), net weights \(w), compression \(s.compressionText), precision \(dyn.precision.rawValue)")
            if !engine.compression.isEmpty && s.compression != nil {
                for c in engine.compression where c.rank < min(c.rows, c.cols) {
                    lines.append(String(format: "            %@.%@ [%d x %d]: rank %d, variance retained %.4f", c.network, c.layer, c.rows, c.cols, c.rank, c.energyRetained))
                }
            }
        }
        if s.schedule.usesFlow, let m = model, let f = try? m.spec.flow() {
            let runs = s.schedule.kinds.filter(\.usesFlow).map(\.rawValue).joined(separator: ", ")
            lines.append("flow        \(f.coupling.layers) coupling layers (\(runs))\(s.schedule.kinds.contains(.fthmc) ? "; FT-HMC eps \(s.flowStepSize ?? f.hmc.stepSize), N_LF \(s.flowSteps ?? f.hmc.nLF) in z" : "")")
        }
        if s.schedule.usesHMC { lines.append("hmc         eps \(s.hmcStepSize), N_LF \(s.hmcSteps)\(s.hmcJitter != 0 ? ", jitter \(s.hmcJitter) (eps x [\(1 - s.hmcJitter), \(1 + s.hmcJitter)])" : "")") }
        lines.append("chains      \(s.chains), trajectories \(s.trajectories), seed \(s.seed), thermalization \(s.thermalization), \(s.hotStart ? "random" : "cold") start")
        lines.append("threads     \(engine.sampler.threads)\(engine.group.map { " per process, \($0.size) MPI processes" } ?? ""), tiles of \(s.effectiveTile) chains (\(s.tileCount) tiles)")
        lines.append("blas        \(BLASKernel.current().summary)")
        return lines
    }
}
