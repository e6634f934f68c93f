import Foundation
import HDF5Kit
import ModelFormat

extension Checkpoint {
    /// Why a checkpoint was refused: one line `[code] path: reason`, exit status 1.
    ///
    /// Codes: `checkpoint.not_a_file`, `checkpoint.invalid` (format, attributes, objects that do
    /// not belong), `checkpoint.invalid_config` (the `config` attribute fails the strict
    /// TrainingConfig codec or its validation), `checkpoint.inconsistent` (step, Adam counter or
    /// sampler description disagree with the configuration), `checkpoint.missing_array`,
    /// `checkpoint.wrong_dtype`, `checkpoint.wrong_shape`, `checkpoint.non_finite`,
    /// `checkpoint.bad_value` (masks other than 0/1, negative second moments).
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let code: String
        public let path: String
        public let reason: String
        public init(code: String = "checkpoint.invalid", path: String, reason: String) {
            self.code = code; self.path = path; self.reason = reason
        }
        public var description: String { "[\(code)] \(UntrustedText.escaped(path)): \(UntrustedText.escaped(reason))" }
    }

    /// Reads a checkpoint and rebuilds the trainer exactly as it was, after validating every
    /// field: the attributes' types, the configuration through the strict ``TrainingConfig`` JSON
    /// codec and ``TrainingConfig/validate()``, `0 <= step <= steps` and `adam_t == step` (each
    /// training step makes one Adam update), the `sampler` attribute equal to the configuration's
    /// sampler, exactly the datasets the configuration implies (no more, no fewer) with their
    /// dtypes and shapes checked before any data is read, every value finite, masks 0 or 1 and
    /// Adam's second moments >= 0. Nothing is computed or written before all of this passed.
    ///
    /// `steps`, when given, replaces the configuration's `steps` (`--resume` may extend a run); it
    /// must be at least the configuration's `steps` (`train.invalid_config`, exit 64, otherwise).
    public static func read(_ path: String, steps: Int? = nil) throws -> L2HMCTrainer {
        func fail(_ code: String, _ reason: String) -> Failure { Failure(code: code, path: path, reason: reason) }
        var st = stat()
        guard stat(path, &st) == 0 else { throw fail("checkpoint.not_a_file", "cannot open: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("checkpoint.not_a_file", "not a regular file") }

        let f = try HDF5File.open(path)
        defer { try? f.close() }

        // Root attributes: exactly the documented ones, with their types.
        let required = ["format", "format_version", "producer", "step", "rng_state", "adam_t", "config", "sampler"]
        let names = try f.attributeNames("/")
        if let extra = names.first(where: { !required.contains($0) }) { throw fail("checkpoint.invalid", "unexpected root attribute \(extra)") }
        if let missing = required.first(where: { !names.contains($0) }) { throw fail("checkpoint.invalid", "missing root attribute \(missing)") }
        func attribute(_ name: String) throws -> HDF5Attribute {
            do { return try f.readAttribute("/", name, maxElements: 1) } catch let e as HDF5Error {
                throw fail("checkpoint.invalid", "attribute \(name) is not a scalar of a supported type (\(e.code))")
            }
        }
        func string(_ name: String) throws -> String {
            guard case let .string(s) = try attribute(name) else { throw fail("checkpoint.invalid", "attribute \(name) is not a string") }
            return s
        }
        func int(_ name: String) throws -> Int {
            guard case let .int(i) = try attribute(name), let v = Int(exactly: i) else {
                throw fail("checkpoint.invalid", "attribute \(name) is not an integer")
            }
            return v
        }
        guard try string("format") == format else { throw fail("checkpoint.invalid", "not an \(format) file") }
        let version = try string("format_version")
        guard version == formatVersion else { throw fail("checkpoint.invalid", "format version \(version) is not \(formatVersion)") }
        guard try string("producer").hasPrefix("l2hmc-train") else { throw fail("checkpoint.invalid", "producer is not l2hmc-train") }

        // The configuration, as strictly as a --config file, then the run's own extension.
        var config: TrainingConfig
        do {
            config = try TrainingConfig(jsonBytes: Array(try string("config").utf8))
            config.threads = nil  // an execution setting, never recorded: the reader's own choice
            try config.validate()
        } catch let e as TrainingConfig.Invalid {
            throw fail("checkpoint.invalid_config", "config attribute: \(e.key): \(e.reason)")
        }
        if let steps, steps != config.steps {
            guard steps > config.steps else {
                throw TrainingConfig.Invalid(key: "steps", reason: "--resume can only extend a run: the checkpoint's run has \(config.steps) steps (got \(steps))")
            }
            config.steps = steps
            try config.validate()
        }

        let step = try int("step")
        guard step >= 0 && step <= config.steps else { throw fail("checkpoint.inconsistent", "step \(step) is outside 0...\(config.steps) (the configuration's steps)") }
        let adamT = try int("adam_t")
        guard adamT == step else { throw fail("checkpoint.inconsistent", "adam_t \(adamT) differs from step \(step) (one Adam update per training step)") }
        // This version's stream name, or (a checkpoint of an older version) the decimal state of
        // its SplitMix64 stream: that one continues with the counter-based stream.
        let rngText = try string("rng_state")
        let legacy: Bool
        if rngText == randomStream { legacy = false } else if let v = UInt64(rngText), String(v) == rngText { legacy = true } else {
            throw fail("checkpoint.invalid", "rng_state is neither \(randomStream) nor the decimal SplitMix64 state of an older version's checkpoint")
        }

        let fresh: TrainerModel
        do {
            fresh = try TrainerModel(spec: config.samplerSpec(), eps: config.epsInit, seed: config.seed, kernelScale: config.kernelScale)
        } catch let e as TrainerModel.Failure {
            throw fail("checkpoint.invalid_config", "config attribute: \(e.description)")
        }
        guard try string("sampler") == samplerText(fresh.spec) else {
            throw fail("checkpoint.inconsistent", "the sampler attribute does not describe the sampler of the config attribute")
        }

        // Objects: exactly the documented datasets, dtypes and shapes checked before reading.
        let n = fresh.spec.stateSize
        var expected: [String: (dtype: HDF5DType, shape: [Int])] = ["/masks": (.uint8, [config.nLF, n]), "/chains": (.float64, [config.chains, n])]
        for slice in fresh.params.slices {
            for group in ["/params", "/adam/m", "/adam/v"] { expected["\(group)/\(slice.name)"] = (.float64, slice.shape) }
        }
        let groups: Set<String> = ["/", "/params", "/adam", "/adam/m", "/adam/v"]
        var seen = Set<String>()
        for o in try f.listObjects() {
            if o.kind == .group && groups.contains(o.path) { continue }
            guard o.kind == .dataset, let want = expected[o.path] else { throw fail("checkpoint.invalid", "unexpected \(o.kind.rawValue) \(o.path)") }
            guard o.dtype == want.dtype else {
                throw fail("checkpoint.wrong_dtype", "\(o.path) is \(o.typeDescription ?? "of an unsupported type"), expected \(want.dtype.rawValue)")
            }
            guard o.shape == want.shape else { throw fail("checkpoint.wrong_shape", "\(o.path) has shape \(o.shape ?? []), expected \(want.shape)") }
            seen.insert(o.path)
        }
        if let missing = expected.keys.sorted().first(where: { !seen.contains($0) }) { throw fail("checkpoint.missing_array", "no dataset \(missing)") }

        func load(_ name: String) throws -> [Double] {
            guard let want = expected[name] else { throw fail("checkpoint.missing_array", "no dataset \(name)") }
            let a = try f.readDataset(name, maxElements: want.shape.reduce(1, *))
            guard a.dtype == want.dtype, a.shape == want.shape else { throw fail("checkpoint.wrong_shape", "\(name) changed while reading") }
            let v = a.doubles
            if let i = v.firstIndex(where: { !$0.isFinite }) { throw fail("checkpoint.non_finite", "\(name) element \(i) is \(v[i])") }
            return v
        }
        var params = fresh.params
        var adam = Adam(count: params.values.count)
        adam.t = adamT
        for slice in params.slices {
            params.values.replaceSubrange(slice.range, with: try load("/params/\(slice.name)"))
            adam.m.replaceSubrange(slice.range, with: try load("/adam/m/\(slice.name)"))
            let v = try load("/adam/v/\(slice.name)")
            if let i = v.firstIndex(where: { $0 < 0 }) { throw fail("checkpoint.bad_value", "/adam/v/\(slice.name) element \(i) is \(v[i]); second moments are >= 0") }
            adam.v.replaceSubrange(slice.range, with: v)
        }
        for name in ["log_eps_x", "log_eps_v"] where params.contains(name) {
            if let bad = params[name].first(where: { !exp($0).isFinite || exp($0) == 0 }) {
                throw fail("checkpoint.bad_value", "/params/\(name) holds \(bad); exp of it is not a positive finite step size")
            }
        }
        let mv = try load("/masks")
        if let i = mv.firstIndex(where: { $0 != 0 && $0 != 1 }) { throw fail("checkpoint.bad_value", "/masks element \(i) is \(mv[i]); masks hold 0 or 1") }
        if fresh.spec.network.kind.local != nil, mv != fresh.masks.flatMap({ $0 }) {
            throw fail("checkpoint.inconsistent", "/masks differ from the mask rule of the local network")
        }
        let cv = try load("/chains")
        let model = TrainerModel(spec: fresh.spec, masks: (0..<config.nLF).map { Array(mv[($0 * n)..<(($0 + 1) * n)]) }, params: params)
        let trainer = L2HMCTrainer(config: config, model: model, adam: adam, step: step, chains: Matrix(rows: config.chains, cols: n, data: cv))
        trainer.resumedFromLegacyStream = legacy
        return trainer
    }
}
