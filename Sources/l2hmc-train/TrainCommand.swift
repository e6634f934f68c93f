import ArgumentParser
import Foundation
import ModelFormat
import Trainer
#if canImport(Glibc)
import Glibc
#endif

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "Train (the default subcommand).")

    @Option(help: "JSON configuration file (keys as in docs/TRAINING.md).")
    var config: String?
    @Option(name: .shortAndLong, help: "Output model (.l2z), written at the end.")
    var out: String?
    @Option(help: "HDF5 checkpoint path (default: the --out path with .ckpt.h5).")
    var checkpoint: String?
    @Option(help: "CSV log of every step (default: the --out path with .log.csv).")
    var log: String?
    @Option(help: "Continue from this checkpoint (its configuration is used; only --out, --checkpoint, --log may be given).")
    var resume: String?
    @Flag(help: "Replace existing output files.")
    var force = false
    @Flag(name: [.short, .long], help: "Print only the configuration and the final line.")
    var quiet = false
    @OptionGroup var flags: ConfigFlags

    func run() throws {
        Interrupt.install()
        let trainer: L2HMCTrainer
        if let resume {
            if config != nil || !flags.given.isEmpty {
                throw ValidationError("--resume uses the checkpoint's configuration; drop --config and the config flags")
            }
            trainer = try Checkpoint.read(resume)
        } else {
            var cfg = TrainingConfig()
            if let config {
                let bytes: [UInt8]
                do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: config))) } catch {
                    throw TrainingConfig.Invalid(key: "--config", reason: "cannot read \(config)")
                }
                cfg = try TrainingConfig(jsonBytes: bytes)
            }
            for (k, v) in flags.given { try cfg.set(k, text: v) }
            trainer = try L2HMCTrainer(config: cfg)
        }
        guard let out = out ?? resume.map({ $0.replacingOccurrences(of: ".ckpt.h5", with: "") + ".l2z" }) else {
            throw ValidationError("--out model.l2z is required")
        }
        let base = out.hasSuffix(".l2z") ? String(out.dropLast(4)) : out
        let ckptPath = checkpoint ?? resume ?? base + ".ckpt.h5"
        let logPath = log ?? base + ".log.csv"
        if !force && resume == nil {
            for p in [out, ckptPath, logPath] where FileManager.default.fileExists(atPath: p) {
                throw ValidationError("\(p) exists; pass --force to replace it")
            }
        }
        let cfg = trainer.config
        print("l2hmc-train \(TrainerInfo.version)")
        for line in configurationLines(cfg) { print(line) }
        print("parameters  \(trainer.model.params.values.count) in \(trainer.model.params.slices.count) arrays; out \(out), checkpoint \(ckptPath), log \(logPath)")
        if trainer.step > 0 { print("resume      from \(resume!) at step \(trainer.step)") }

        // The CSV log: rows up to the resumed step are kept from the previous log.
        var logText = TrainingLog.header
        if trainer.step > 0, let previous = try? String(contentsOfFile: logPath, encoding: .utf8) {
            logText = previous.split(separator: "\n", omittingEmptySubsequences: false).prefix(trainer.step + 1).joined(separator: "\n") + "\n"
        }
        let started = Date()
        var last: L2HMCTrainer.Metrics?
        while trainer.step < cfg.steps && !Interrupt.isRequested {
            let m = trainer.trainStep()
            last = m
            logText += TrainingLog.row(m)
            if !quiet && (m.step % cfg.logEvery == 0 || m.step == cfg.steps) {
                print(TrainingLog.progressLine(m, total: cfg.steps, target: cfg.target, rate: Double(m.step) / max(Date().timeIntervalSince(started), 1e-9)))
            }
            if cfg.checkpointEvery > 0 && m.step % cfg.checkpointEvery == 0 && m.step < cfg.steps {
                try Checkpoint.write(trainer, to: ckptPath)
                try ModelFormat.AtomicFile.write(Array(logText.utf8), to: logPath)
            }
        }
        try Checkpoint.write(trainer, to: ckptPath)
        try ModelFormat.AtomicFile.write(Array(logText.utf8), to: logPath)
        if Interrupt.isRequested {
            FileHandle.standardError.write(Data("interrupted at step \(trainer.step); continue with --resume \(ckptPath)\n".utf8))
            Foundation.exit(130)
        }
        let model = try ModelExporter.export(trainer.model, provenance: provenance(cfg, steps: trainer.step))
        try L2ZWriter.write(model, to: out)
        let seconds = Date().timeIntervalSince(started)
        print(String(format: "done        %d steps in %.1f s; wrote %@", trainer.step, seconds, out) + (last.map { String(format: " (final loss %.4g, acceptance %.3f)", $0.loss, $0.acceptance) } ?? ""))
    }

    private func provenance(_ cfg: TrainingConfig, steps: Int) -> Provenance {
        var training: [String: JSONValue] = [:]
        if case let .object(o) = cfg.json() { training = o }
        training["steps_done"] = .int(Int64(steps))
        return Provenance(producer: "l2hmc-train", producerVersion: TrainerInfo.version, source: "trained by l2hmc-train", training: training)
    }

    private func configurationLines(_ c: TrainingConfig) -> [String] {
        guard case let .object(o) = c.json() else { return [] }
        var lines: [String] = []
        var line = "config     "
        for key in TrainingConfig.keys {
            let text = " \(key)=\(render(o[key] ?? .null))"
            if line.count + text.count > 110 { lines.append(line); line = "           " }
            line += text
        }
        lines.append(line)
        return lines
    }

    private func render(_ v: JSONValue) -> String {
        switch v {
        case let .string(s): return s
        case let .int(i): return "\(i)"
        case let .double(d): return "\(d)"
        case let .bool(b): return "\(b)"
        case .null: return "auto"
        case let .array(a): return "[" + a.map(render).joined(separator: ",") + "]"
        case .object: return "{...}"
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Export a checkpoint's model to .l2z (with a probe from the trainer's forward pass).")
    @Argument(help: "The HDF5 checkpoint.") var checkpoint: String
    @Option(name: .shortAndLong, help: "Output .l2z.") var out: String
    @Flag(help: "Replace an existing output.") var force = false

    func run() throws {
        let trainer = try Checkpoint.read(checkpoint)
        var training: [String: JSONValue] = [:]
        if case let .object(o) = trainer.config.json() { training = o }
        training["steps_done"] = .int(Int64(trainer.step))
        let model = try ModelExporter.export(trainer.model, provenance: Provenance(producer: "l2hmc-train", producerVersion: TrainerInfo.version,
                                                                                  source: "exported from \(checkpoint)", training: training))
        try L2ZWriter.write(model, to: out, replaceExisting: force)
        print("wrote \(out) (step \(trainer.step))")
    }
}

/// Ctrl-C: finish the current step, write the checkpoint and the log, exit 130.
enum Interrupt {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0
    static func install() {
        signal(SIGINT) { _ in
            if Interrupt.requested != 0 { _exit(130) }
            Interrupt.requested = 1
        }
    }
    static var isRequested: Bool { requested != 0 }
}
