import ArgumentParser
import CLISupport
import DistributedKit
import Foundation
import ModelFormat
import Trainer
#if canImport(Glibc)
import Glibc
#endif

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train (the default subcommand).",
                                                    discussion: ConfigFlags.help)

    @Option(help: "JSON configuration file (keys as in docs/TRAINING.md).")
    var config: String?
    @Option(name: .shortAndLong, help: "Output model (.l2z), written at the end.")
    var out: String?
    @Option(help: "HDF5 checkpoint path (default: the --out path with .ckpt.h5).")
    var checkpoint: String?
    @Option(help: "CSV log of every step (default: the --out path with .log.csv).")
    var log: String?
    @Option(help: "Continue from this checkpoint (its configuration is used; only --out, --checkpoint, --log, --threads and --steps, to extend the run, may be given).")
    var resume: String?
    @Flag(help: "Replace existing output files, but only files l2hmc-train wrote (its model, checkpoint and log).")
    var force = false
    @Flag(help: "Print the configuration as JSON (defaults < --config < flags) and exit, writing nothing.")
    var showConfig = false
    @OptionGroup var quietOption: QuietOption
    private var quiet: Bool { quietOption.quiet }
    @OptionGroup var flags: ConfigFlags

    func run() throws {
        Interrupt.install(abortMessage: "error: [interrupted] second signal: stopped at once, temporary files removed; resume from the last checkpoint\n")
        // Under mpirun: rank 0 trains as below and owns every file; the other ranks compute
        // their tiles of every step (docs/TRAINING.md, "Many processes").
        let processes = try ProcessGroups.current()
        if processes.size > 1 {
            ToolFailure.terminate = { processes.abort(code: $0, message: processes.rank > 0 ? "note: the error above is MPI rank \(processes.rank)'s; every rank stops" : "") }
            if !processes.isRoot {
                if showConfig { return try processes.finalize() }  // rank 0 prints it
                return try runAsRank(processes)
            }
        }
        // Configuration first: a bad one is refused before any file is touched.
        var fresh: L2HMCTrainer?
        var extendTo: Int?
        var resumeThreads: String?
        if resume != nil {
            let allowed = TrainingConfig.keyTable.filter(\.allowedOnResume).map(\.flag).joined(separator: ", ")
            let refused = try flags.refusedOnResume()
            if config != nil || !refused.isEmpty || showConfig {
                throw ValidationError("--resume uses the checkpoint's configuration; drop --config and the config flags (only \(allowed) may extend the run)")
            }
            if let text = try flags.text(of: "steps") {
                var probe = TrainingConfig()
                try probe.set("steps", text: text)
                extendTo = probe.steps
            }
            resumeThreads = try flags.text(of: "threads")
        } else {
            var cfg = TrainingConfig()
            if let config {
                let bytes: [UInt8]
                do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: config))) } catch {
                    throw TrainingConfig.Invalid(key: "--config", reason: "cannot read \(config)")
                }
                cfg = try TrainingConfig(jsonBytes: bytes)
            }
            for (k, v) in try flags.given() { try cfg.set(k, text: v) }
            if showConfig {
                try cfg.validate()
                Console.out(try CanonicalJSONWriter.encode(cfg.json()))
                fflush(stdout)
                return try processes.finalize()
            }
            fresh = try L2HMCTrainer(config: cfg)
        }
        guard let out = out ?? resume.map({ $0.replacingOccurrences(of: ".ckpt.h5", with: "") + ".l2z" }) else {
            throw ValidationError("--out model.l2z is required")
        }
        let base = out.hasSuffix(".l2z") ? String(out.dropLast(4)) : out
        let ckptPath = checkpoint ?? resume ?? base + ".ckpt.h5"
        let logPath = log ?? base + ".log.csv"
        let absolute = [out, ckptPath, logPath].map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        guard Set(absolute).count == 3 else { throw ValidationError("the model, checkpoint and log must be three different files") }

        // Own the outputs for the whole run.
        let locks = try OutputLocks.acquire(absolute)
        defer { locks.release() }
        for p in absolute { DurableFile.removeStaleTemporaries(of: p) }
        let hooks = DurableFile.Hooks(willCreate: Interrupt.register, didRemove: Interrupt.unregister)

        // Validate everything, then create or reopen the outputs.
        let trainer: L2HMCTrainer
        let logFile: TrainingLogFile
        let replaceModel: Bool
        switch (resume, fresh) {
        case let (resume?, _):
            trainer = try Checkpoint.read(resume, steps: extendTo)
            if let resumeThreads {
                // Threads never change the numbers: any valid count continues the same run.
                var probe = trainer.config
                try probe.set("threads", text: resumeThreads)
                try probe.validate()
                trainer.threads = probe.effectiveThreads
            }
            if trainer.resumedFromLegacyStream {
                Console.error("note: \(resume) was written by an older l2hmc-train whose random numbers came from a SplitMix64 stream; it continues with this version's counter-based stream, so the numbers differ from what that version would have computed\n")
            }
            let sameCheckpoint = URL(fileURLWithPath: resume).standardizedFileURL.path == absolute[1]
            let replaceCheckpoint = try sameCheckpoint || OutputGuard.checkReplaceable(ckptPath, as: .checkpoint, allowed: force)
            replaceModel = try OutputGuard.checkReplaceable(out, as: .model, allowed: true)
            if trainer.step == 0 && !OutputGuard.exists(logPath) {
                logFile = try TrainingLogFile.create(logPath, columns: TrainingLog.Columns(trainer.config.target), replaceExisting: false, hooks: hooks)
            } else {
                guard OutputGuard.isOwn(logPath, as: .log) || !OutputGuard.exists(logPath) else {
                    throw OutputError("io.foreign_output", path: logPath, reason: "was not written by l2hmc-train (no training-log header); refusing to truncate it")
                }
                logFile = try TrainingLogFile.resume(logPath, step: trainer.step, expected: TrainingLog.Columns(trainer.config.target))
                if logFile.columns == .legacy {
                    Console.error("note: \(logPath) has the columns of an older l2hmc-train (scale: beta or 1/T, tunneling); it is continued with them\n")
                }
            }
            if !sameCheckpoint || extendTo != nil {
                try Checkpoint.write(trainer, to: ckptPath, replaceExisting: replaceCheckpoint, hooks: hooks)
            }
        case let (nil, fresh?):
            trainer = fresh
            let replaceCheckpoint = try OutputGuard.checkReplaceable(ckptPath, as: .checkpoint, allowed: force)
            let replaceLog = try OutputGuard.checkReplaceable(logPath, as: .log, allowed: force)
            replaceModel = try OutputGuard.checkReplaceable(out, as: .model, allowed: force)
            // A checkpoint at step 0 first: from here on the outputs are always resumable.
            try Checkpoint.write(trainer, to: ckptPath, replaceExisting: replaceCheckpoint, hooks: hooks)
            logFile = try TrainingLogFile.create(logPath, columns: TrainingLog.Columns(trainer.config.target), replaceExisting: replaceLog, hooks: hooks)
            if replaceModel { unlink(out) }
        case (nil, nil):
            throw ValidationError("nothing to train: give a configuration or --resume")
        }

        if processes.size > 1 {
            guard processes.size <= trainer.config.tiling.count else {
                throw ValidationError("mpirun -np \(processes.size) is more than the \(trainer.config.tiling.count) tile(s) of \(trainer.config.tile) chains; use at most \(trainer.config.tiling.count) processes\(resume == nil ? ", or a smaller --tile" : "")")
            }
            // Every rank starts from the bytes of this checkpoint: the same state, bit for bit.
            _ = try processes.broadcast(try AtomicFile.read(ckptPath, limit: 1 << 40), from: 0)
            trainer.exchange = MPIGradientExchange(processes)
        }
        let cfg = trainer.config
        print("l2hmc-train \(TrainerInfo.version)")
        for line in configurationLines(cfg) { print(line) }
        print("parallel    \(trainer.threads) thread\(trainer.threads == 1 ? "" : "s")\(processes.size > 1 ? " per process, \(processes.size) MPI processes" : ""), \(cfg.tiling.count) tile\(cfg.tiling.count == 1 ? "" : "s") of \(cfg.tile) chains (results identical for any thread or process count)")
        print("parameters  \(trainer.model.params.values.count) in \(trainer.model.params.slices.count) arrays; out \(out), checkpoint \(ckptPath), log \(logPath)")
        if let resume, trainer.step > 0 { print("resume      from \(resume) at step \(trainer.step)") }

        // Checkpoint and log are committed together: the log is made durable first, then the
        // checkpoint replaces the previous one in one rename (see TrainingLogFile).
        var lastCommit = Date()
        func commit() throws {
            try logFile.sync()
            try locks.verify()
            try Checkpoint.write(trainer, to: ckptPath, replaceExisting: true, hooks: hooks)
            lastCommit = Date()
        }
        let started = Date(), startStep = trainer.step
        var last: L2HMCTrainer.Metrics?
        var stopped = false
        while trainer.step < cfg.steps {
            if try Self.agreeToStop(processes) { stopped = true; break }
            let m = trainer.trainStep()
            last = m
            try logFile.append(m)
            if !quiet && (m.step % cfg.logEvery == 0 || m.step == cfg.steps) {
                // Only the steps of this process: a resumed run started at startStep.
                let rate = TrainingLog.rate(step: m.step, startStep: startStep, seconds: Date().timeIntervalSince(started))
                print(TrainingLog.progressLine(m, total: cfg.steps, target: cfg.target, rate: rate))
            }
            let byStep = cfg.checkpointEvery > 0 && m.step % cfg.checkpointEvery == 0
            let byTime = cfg.checkpointSeconds > 0 && Date().timeIntervalSince(lastCommit) >= cfg.checkpointSeconds
            if (byStep || byTime) && m.step < cfg.steps { try commit() }
        }
        try commit()
        if stopped {
            var command = "l2hmc-train --resume \(shellQuoted(ckptPath)) --out \(shellQuoted(out))"
            if logPath != base + ".log.csv" { command += " --log \(shellQuoted(logPath))" }
            let by = Interrupt.isRequested ? Interrupt.signalName : "a signal to another MPI rank"
            Console.error("interrupted by \(by) at step \(trainer.step) of \(cfg.steps); checkpoint \(ckptPath); continue with: \(command)\n")
            locks.release()
            try processes.finalize()
            Foundation.exit(Interrupt.isRequested ? Interrupt.exitStatus : 143)
        }
        let model = try ModelExporter.export(trainer.model, provenance: provenance(cfg, steps: trainer.step))
        try locks.verify()
        try DurableFile.write(try L2ZWriter.encode(model), to: out, replaceExisting: replaceModel, hooks: hooks)
        let seconds = Date().timeIntervalSince(started)
        let resumedText = startStep > 0 ? " (\(trainer.step - startStep) after resuming at step \(startStep))" : ""
        print(String(format: "done        %d steps%@ in %.1f s; wrote %@", trainer.step, resumedText, seconds, out) + (last.map { String(format: " (final loss %.4g, acceptance %.3f)", $0.loss, $0.acceptance) } ?? ""))
        fflush(stdout)
        try processes.finalize()
    }

    /// True when this process, or with MPI any rank, was asked to stop (SIGINT, SIGTERM): every
    /// rank then stops before the same step (collective under mpirun).
    private static func agreeToStop(_ processes: ProcessGroup) throws -> Bool {
        processes.size > 1 ? try processes.allReduceMax(Interrupt.isRequested ? 1 : 0) == 1 : Interrupt.isRequested
    }

    /// A rank other than 0: rebuilds the trainer from rank 0's checkpoint bytes (through a
    /// scratch copy in $TMPDIR, removed at once: the HDF5 reader reads files), then computes its
    /// tiles of every step until the last one or an agreed stop. It prints nothing.
    private func runAsRank(_ processes: ProcessGroup) throws {
        let bytes = try processes.broadcast([], from: 0)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("l2hmc-train-rank\(processes.rank)-\(getpid()).ckpt.h5").path
        Interrupt.register(scratch)
        defer { unlink(scratch); Interrupt.unregister(scratch) }
        try AtomicFile.write(bytes, to: scratch)
        let trainer = try Checkpoint.read(scratch)
        unlink(scratch)
        if let text = try flags.text(of: "threads") {
            var probe = trainer.config
            try probe.set("threads", text: text)
            trainer.threads = probe.effectiveThreads
        }
        trainer.exchange = MPIGradientExchange(processes)
        var stopped = false
        while trainer.step < trainer.config.steps {
            if try Self.agreeToStop(processes) { stopped = true; break }
            trainer.trainStep()
        }
        try processes.finalize()
        if stopped { Foundation.exit(Interrupt.isRequested ? Interrupt.exitStatus : 143) }
    }

    private func shellQuoted(_ s: String) -> String {
        s.allSatisfy({ $0.isLetter || $0.isNumber || "/._-+=:,".contains($0) }) ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private func provenance(_ cfg: TrainingConfig, steps: Int) -> Provenance {
        var training: [String: JSONValue] = [:]
        if case let .object(o) = cfg.recordedJSON() { training = o }
        training["steps_done"] = .int(Int64(steps))
        return Provenance(producer: "l2hmc-train", producerVersion: TrainerInfo.version, source: "trained by l2hmc-train", training: training)
    }

    private func configurationLines(_ c: TrainingConfig) -> [String] {
        var lines: [String] = []
        var line = "config     "
        for key in TrainingConfig.keyTable {
            let text = " \(key.name)=\(TrainingConfig.render(key.value(in: c)))"
            if line.count + text.count > 110 { lines.append(line); line = "           " }
            line += text
        }
        lines.append(line)
        return lines
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export a checkpoint's model to .l2z (with a probe from the trainer's forward pass).")
    @Argument(help: "The HDF5 checkpoint.") var checkpoint: String
    @Option(name: .shortAndLong, help: "Output .l2z.") var out: String
    @Flag(help: "Replace an existing output, but only a model l2hmc-train wrote.") var force = false

    func run() throws {
        let trainer = try Checkpoint.read(checkpoint)
        let replace = try OutputGuard.checkReplaceable(out, as: .model, allowed: force)
        var training: [String: JSONValue] = [:]
        if case let .object(o) = trainer.config.recordedJSON() { training = o }
        training["steps_done"] = .int(Int64(trainer.step))
        let model = try ModelExporter.export(trainer.model, provenance: Provenance(producer: "l2hmc-train", producerVersion: TrainerInfo.version,
                                                                                  source: "exported from \(checkpoint)", training: training))
        try DurableFile.write(try L2ZWriter.encode(model), to: out, replaceExisting: replace)
        print("wrote \(out) (step \(trainer.step))")
    }
}
