import ArgumentParser
import CLISupport
import Foundation
import ModelFormat
import Trainer
#if canImport(Glibc)
import Glibc
#endif

/// `l2hmc-train flow`: reverse-KL training of a U(1) normalizing flow (seed 004 eqs. 3-4) with
/// the trainer's own flow and Adam; an HDF5 checkpoint at the start, every `checkpoint_every`
/// steps and at the end (``FlowCheckpoint``; `--resume` continues bit for bit), the `.l2z` model
/// of family `flow` at the end (with a probe from the trainer's pass).
struct FlowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flow", abstract: "Train a U(1) normalizing flow (reverse KL) and export it as a .l2z model of family flow.",
        discussion: """
            Settings: defaults < --config FILE (a JSON object with the keys \(FlowTrainer.Settings.keys.joined(separator: ", ")); \
            docs/TRAINING.md, "Flows") < --steps. Each step draws a fresh batch z uniform on [-pi, pi)^n from the \
            counter-based random numbers (seed, step), so --resume CKPT gives exactly the numbers of an uninterrupted \
            run (--steps may extend it). Exit codes: 0 success, 1 bad data or an existing output, 64 bad configuration, \
            130 SIGINT, 143 SIGTERM (both after writing the checkpoint).
            """)

    @Option(help: "JSON flow configuration file.")
    var config: String?
    @Option(name: .shortAndLong, help: "Output model (.l2z), written at the end.")
    var out: String?
    @Option(help: "HDF5 checkpoint path (default: the --out path with .ckpt.h5).")
    var checkpoint: String?
    @Option(help: "Continue from this flow checkpoint (its configuration is used; --steps may extend the run).")
    var resume: String?
    @Option(help: "Start from this .l2z flow (its architecture replaces the configuration's; e.g. a converted PyTorch flow, or a flow trained on a smaller lattice).")
    var initModel: String?
    @Option(help: "Training steps (overrides the configuration; with --resume, extends the run).")
    var steps: Int?
    @Flag(help: "Replace existing output files, but only files l2hmc-train wrote.")
    var force = false
    @Flag(help: "Print the configuration as JSON and exit, writing nothing.")
    var showConfig = false
    @OptionGroup var quietOption: QuietOption

    func run() throws {
        Interrupt.install(abortMessage: "error: [interrupted] second signal: stopped at once, temporary files removed; resume from the last checkpoint\n")
        var fresh: FlowTrainer?
        if resume != nil {
            if config != nil || showConfig || initModel != nil {
                throw ValidationError("--resume uses the checkpoint's configuration and weights; drop --config and --init-model (only --steps may extend the run)")
            }
        } else {
            var settings = FlowTrainer.Settings()
            if let config {
                let bytes: [UInt8]
                do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: config))) } catch {
                    throw TrainingConfig.Invalid(key: "--config", reason: "cannot read \(config)")
                }
                settings = try FlowTrainer.Settings(jsonBytes: bytes)
            }
            if let steps { settings.steps = steps }
            var start: TrainableFlow?
            if let initModel {
                let flow = try TrainableFlow(l2z: try L2ZReader.read(path: initModel).model)
                settings.architecture = flow.architecture
                start = flow
            }
            try settings.validate()
            if showConfig {
                Console.out(try CanonicalJSONWriter.encode(settings.json()))
                fflush(stdout)
                return
            }
            fresh = try start.map { try FlowTrainer(settings: settings, initialFlow: $0) } ?? FlowTrainer(settings: settings)
        }
        guard let out = out ?? resume.map({ $0.replacingOccurrences(of: ".ckpt.h5", with: "") + ".l2z" }) else {
            throw ValidationError("--out model.l2z is required")
        }
        let base = out.hasSuffix(".l2z") ? String(out.dropLast(4)) : out
        let ckptPath = checkpoint ?? resume ?? base + ".ckpt.h5"
        let absolute = [out, ckptPath].map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        guard Set(absolute).count == 2 else { throw ValidationError("the model and the checkpoint must be two different files") }
        let locks = try OutputLocks.acquire(absolute)
        defer { locks.release() }
        for p in absolute { DurableFile.removeStaleTemporaries(of: p) }
        let hooks = DurableFile.Hooks(willCreate: Interrupt.register, didRemove: Interrupt.unregister)

        let trainer: FlowTrainer
        let replaceModel: Bool
        if let resume {
            trainer = try FlowCheckpoint.read(resume, steps: steps)
            let sameCheckpoint = URL(fileURLWithPath: resume).standardizedFileURL.path == absolute[1]
            let replaceCheckpoint = try sameCheckpoint || OutputGuard.checkReplaceable(ckptPath, as: .checkpoint, allowed: force)
            replaceModel = try OutputGuard.checkReplaceable(out, as: .model, allowed: true)
            if !sameCheckpoint || steps != nil { try FlowCheckpoint.write(trainer, to: ckptPath, replaceExisting: replaceCheckpoint, hooks: hooks) }
        } else if let fresh {
            trainer = fresh
            let replaceCheckpoint = try OutputGuard.checkReplaceable(ckptPath, as: .checkpoint, allowed: force)
            replaceModel = try OutputGuard.checkReplaceable(out, as: .model, allowed: force)
            try FlowCheckpoint.write(trainer, to: ckptPath, replaceExisting: replaceCheckpoint, hooks: hooks)
            if replaceModel { unlink(out) }
        } else {
            throw ValidationError("nothing to train: give a configuration or --resume")
        }

        let s = trainer.settings, a = s.architecture
        print("l2hmc-train \(TrainerInfo.version) flow")
        print("flow        \(a.layers) layers, hidden \(a.hiddenChannels), kernel \(a.kernelSize), n_mix \(a.nMix), \(a.activation.rawValue); \(trainer.flow.params.values.count) parameters")
        print("training    U(1) \(s.lt)x\(s.lx), beta \(s.betaInit) -> \(s.betaFinal), batch \(s.batch), \(s.steps) steps, learning rate \(s.learningRate), seed \(s.seed)")
        print("outputs     out \(out), checkpoint \(ckptPath)")
        if let resume, trainer.step > 0 { print("resume      from \(resume) at step \(trainer.step)") }
        if let initModel { print("init        weights of \(initModel)") }

        func commit() throws {
            try locks.verify()
            try FlowCheckpoint.write(trainer, to: ckptPath, replaceExisting: true, hooks: hooks)
        }
        let started = Date(), startStep = trainer.step
        var last: FlowTrainer.Metrics?
        while trainer.step < s.steps {
            if Interrupt.isRequested { break }
            let m = trainer.trainStep()
            last = m
            if !quietOption.quiet && (m.step % s.logEvery == 0 || m.step == s.steps) {
                let rate = Double(m.step - startStep) / max(Date().timeIntervalSince(started), 1e-9)
                print(String(format: "step %d/%d  beta %.4g  loss %.6g  ess %.4f  logdet %.4g  action %.4g  |g| %.3g  %.2f steps/s",
                             m.step, s.steps, m.beta, m.loss, m.ess, m.meanLogDet, m.meanAction, m.gradientNorm, rate))
            }
            if s.checkpointEvery > 0 && m.step % s.checkpointEvery == 0 && m.step < s.steps { try commit() }
        }
        try commit()
        if Interrupt.isRequested {
            Console.error("interrupted by \(Interrupt.signalName) at step \(trainer.step) of \(s.steps); checkpoint \(ckptPath); continue with: l2hmc-train flow --resume \(ckptPath) --out \(out)\n")
            locks.release()
            Foundation.exit(Interrupt.exitStatus)
        }
        var training: [String: JSONValue] = [:]
        if case let .object(o) = s.json() { training = o }
        training["steps_done"] = .int(Int64(trainer.step))
        let model = try trainer.export(provenance: Provenance(producer: "l2hmc-train", producerVersion: TrainerInfo.version,
                                                              source: "trained by l2hmc-train flow", training: training))
        try locks.verify()
        try DurableFile.write(try L2ZWriter.encode(model), to: out, replaceExisting: replaceModel, hooks: hooks)
        print(String(format: "done        %d steps in %.1f s; wrote %@", trainer.step, Date().timeIntervalSince(started), out)
              + (last.map { String(format: " (final loss %.6g, ess %.4f)", $0.loss, $0.ess) } ?? ""))
        fflush(stdout)
    }
}
