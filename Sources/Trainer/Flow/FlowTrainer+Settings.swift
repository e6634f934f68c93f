import Foundation
import ModelFormat

/// The flow training settings as a strict JSON object (docs/TRAINING.md, "Flows"): unknown keys,
/// wrong types and out-of-range values are `TrainingConfig.Invalid` naming the key
/// (`[train.invalid_config]`, exit 64 in l2hmc-train).
///
/// Keys: `layers`, `hidden_channels`, `kernel_size`, `n_mix`, `activation` (the architecture);
/// `lattice` [lt, lx] (multiples of 4); `beta_init`, `beta_final`; `batch`, `steps`,
/// `learning_rate`, `clip_norm`, `seed`, `init_scale`; `hmc_step_size`, `hmc_n_lf` (the exported
/// FT-HMC defaults); `checkpoint_every`, `log_every`.
extension FlowTrainer.Settings {
    public static let keys = ["activation", "batch", "beta_final", "beta_init", "checkpoint_every", "clip_norm", "hidden_channels", "hmc_n_lf",
                              "hmc_step_size", "init_scale", "kernel_size", "lattice", "layers", "learning_rate", "log_every", "n_mix", "seed", "steps"]

    /// Largest batch and lattice side accepted (keeps size products far from overflow; the
    /// memory estimate is the real limit).
    static let maxBatch = 1 << 16, maxSide = 4096

    public init(jsonBytes: [UInt8]) throws {
        self.init()
        let value: JSONValue
        do { value = try StrictJSONParser.parse(jsonBytes) } catch {
            throw TrainingConfig.Invalid(key: "(file)", reason: "not valid JSON: \(error)")
        }
        guard case let .object(o) = value else { throw TrainingConfig.Invalid(key: "(file)", reason: "must be a JSON object") }
        for (key, v) in o.sorted(by: { $0.key < $1.key }) { try set(key, v) }
    }

    public mutating func set(_ key: String, _ v: JSONValue) throws {
        func bad(_ what: String) -> TrainingConfig.Invalid { TrainingConfig.Invalid(key: key, reason: "must be \(what) (got \(v.typeName))") }
        func int() throws -> Int { guard case let .int(i) = v, let x = Int(exactly: i) else { throw bad("an integer") }; return x }
        func double() throws -> Double {
            switch v { case let .int(i): return Double(i); case let .double(d): return d; default: throw bad("a number") }
        }
        func ints() throws -> [Int] {
            guard case let .array(a) = v else { throw bad("a list of integers") }
            return try a.map { guard case let .int(i) = $0, let x = Int(exactly: i) else { throw bad("a list of integers") }; return x }
        }
        switch key {
        case "layers": architecture.layers = try int()
        case "hidden_channels": architecture.hiddenChannels = try ints()
        case "kernel_size": architecture.kernelSize = try int()
        case "n_mix": architecture.nMix = try int()
        case "activation":
            guard case let .string(s) = v, let a = Activation(rawValue: s) else {
                throw bad("one of \(Activation.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            architecture.activation = a
        case "lattice":
            let l = try ints()
            guard l.count == 2 else { throw TrainingConfig.Invalid(key: key, reason: "must be [lt, lx] (got \(l))") }
            lt = l[0]; lx = l[1]
        case "beta_init": betaInit = try double()
        case "beta_final": betaFinal = try double()
        case "batch": batch = try int()
        case "steps": steps = try int()
        case "learning_rate": learningRate = try double()
        case "clip_norm": clipNorm = try double()
        case "seed":
            guard case let .int(i) = v, i >= 0 else { throw bad("a non-negative integer") }
            seed = UInt64(i)
        case "init_scale": initScale = try double()
        case "hmc_step_size": hmcStepSize = try double()
        case "hmc_n_lf": hmcNLF = try int()
        case "checkpoint_every": checkpointEvery = try int()
        case "log_every": logEvery = try int()
        default: throw TrainingConfig.Invalid(key: key, reason: "unknown key (known keys: \(Self.keys.joined(separator: ", ")))")
        }
    }

    /// Every key with its value (canonical JSON; the checkpoint's `config` attribute and the
    /// model's provenance).
    public func json() -> JSONValue {
        .object([
            "layers": .int(Int64(architecture.layers)), "hidden_channels": .array(architecture.hiddenChannels.map { .int(Int64($0)) }),
            "kernel_size": .int(Int64(architecture.kernelSize)), "n_mix": .int(Int64(architecture.nMix)),
            "activation": .string(architecture.activation.rawValue), "lattice": .array([.int(Int64(lt)), .int(Int64(lx))]),
            "beta_init": .double(betaInit), "beta_final": .double(betaFinal), "batch": .int(Int64(batch)), "steps": .int(Int64(steps)),
            "learning_rate": .double(learningRate), "clip_norm": .double(clipNorm), "seed": .int(Int64(bitPattern: seed)),
            "init_scale": .double(initScale), "hmc_step_size": .double(hmcStepSize), "hmc_n_lf": .int(Int64(hmcNLF)),
            "checkpoint_every": .int(Int64(checkpointEvery)), "log_every": .int(Int64(logEvery)),
        ])
    }

    /// Rejects settings that cannot train, naming the key.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ reason: String) throws { if !ok { throw TrainingConfig.Invalid(key: key, reason: reason) } }
        let a = architecture
        try check(a.layers >= 1 && a.layers <= 4096, "layers", "must be in 1...4096 (got \(a.layers))")
        try check(a.hiddenChannels.count <= 16 && a.hiddenChannels.allSatisfy { $0 >= 1 && $0 <= 1024 }, "hidden_channels",
                  "must be at most 16 channel counts, each in 1...1024 (got \(a.hiddenChannels))")
        try check(a.kernelSize >= 1 && a.kernelSize <= 31 && a.kernelSize % 2 == 1, "kernel_size", "must be odd and in 1...31 (got \(a.kernelSize))")
        try check(a.nMix >= 1 && a.nMix <= 64, "n_mix", "must be in 1...64 (got \(a.nMix))")
        try check(lt >= 4 && lx >= 4 && lt % 4 == 0 && lx % 4 == 0 && lt <= Self.maxSide && lx <= Self.maxSide, "lattice",
                  "must be [lt, lx] with both multiples of 4 (the stripe masks have period 4), at most \(Self.maxSide) (got [\(lt), \(lx)])")
        try check(betaInit > 0 && betaFinal > 0 && betaInit.isFinite && betaFinal.isFinite, "beta_init/beta_final", "must be > 0 (got \(betaInit), \(betaFinal))")
        try check(batch >= 1 && batch <= Self.maxBatch, "batch", "must be in 1...\(Self.maxBatch) (got \(batch))")
        try check(steps >= 1 && steps <= TrainingConfig.maxSteps, "steps", "must be in 1...\(TrainingConfig.maxSteps) (got \(steps))")
        try check(learningRate > 0 && learningRate.isFinite, "learning_rate", "must be > 0 (got \(learningRate))")
        try check(clipNorm >= 0 && clipNorm.isFinite, "clip_norm", "must be >= 0 (0 disables clipping; got \(clipNorm))")
        try check(initScale > 0 && initScale.isFinite, "init_scale", "must be > 0 (got \(initScale))")
        try check(hmcStepSize > 0 && hmcStepSize.isFinite, "hmc_step_size", "must be > 0 (got \(hmcStepSize))")
        try check(hmcNLF >= 1 && hmcNLF <= 4096, "hmc_n_lf", "must be in 1...4096 (got \(hmcNLF))")
        try check(checkpointEvery >= 0, "checkpoint_every", "must be >= 0 (0: only at the start and the end)")
        try check(logEvery >= 1, "log_every", "must be >= 1")
        // The tape: per layer and row-site the input (2), every activation twice (pre, post) and
        // the output, plus the largest im2col matrix.
        let rowSites = Double(batch) * Double(lt) * Double(lx)
        let perLayer = Double(2 + 2 * a.hiddenChannels.reduce(0, +) + a.nMix + 1)
        let im2col = Double(a.kernelSize * a.kernelSize * (a.channels.max() ?? 2))
        let need = 8 * rowSites * (Double(a.layers) * perLayer + 3 * im2col)
        try check(need <= TrainingConfig.memoryLimit, "batch/lattice/layers/hidden_channels",
                  String(format: "training would need about %.3g GB, more than the %.3g GB of this machine", need / 1e9, TrainingConfig.memoryLimit / 1e9))
    }
}
