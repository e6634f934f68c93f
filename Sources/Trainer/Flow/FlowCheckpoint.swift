import Foundation
import HDF5Kit
import ModelFormat

/// The HDF5 checkpoint of flow training: everything needed to continue bit for bit (the prior
/// draws are counter-based, so no generator state and no chains are stored).
///
/// Root attributes: `format` = "l2hmc-train-flow-checkpoint", `format_version` = "1.0",
/// `producer`, `step` (int64), `rng_state` = ``Checkpoint/randomStream``, `adam_t` (int64, equal
/// to `step`), `config` (the settings as canonical JSON, ``FlowTrainer/Settings/json()``).
/// Datasets, float64: `/params/<name>`, `/adam/m/<name>`, `/adam/v/<name>` for every kernel and
/// bias (`layer<i>.conv<j>.kernel|bias`, the `.l2z` names). Failures are ``Checkpoint/Failure``
/// with the codes of the L2HMC checkpoint.
public enum FlowCheckpoint {
    public static let format = "l2hmc-train-flow-checkpoint"
    public static let formatVersion = "1.0"

    public static func write(_ trainer: FlowTrainer, to path: String, replaceExisting: Bool = true, hooks: DurableFile.Hooks = .none) throws {
        let p = trainer.flow.params
        try DurableFile.writeHDF5(to: path, replaceExisting: replaceExisting, hooks: hooks) { f in
            try f.writeAttribute("/", "format", .string(format))
            try f.writeAttribute("/", "format_version", .string(formatVersion))
            try f.writeAttribute("/", "producer", .string("l2hmc-train \(TrainerInfo.version)"))
            try f.writeAttribute("/", "step", .int(Int64(trainer.step)))
            try f.writeAttribute("/", "rng_state", .string(Checkpoint.randomStream))
            try f.writeAttribute("/", "adam_t", .int(Int64(trainer.adam.t)))
            try f.writeAttribute("/", "config", .string(String(decoding: try CanonicalJSONWriter.encode(trainer.settings.json()), as: UTF8.self)))
            for slice in p.slices {
                let r = slice.range
                try f.writeDataset("/params/\(slice.name)", shape: slice.shape, doubles: Array(p.values[r]))
                try f.writeDataset("/adam/m/\(slice.name)", shape: slice.shape, doubles: Array(trainer.adam.m[r]))
                try f.writeDataset("/adam/v/\(slice.name)", shape: slice.shape, doubles: Array(trainer.adam.v[r]))
            }
        }
    }

    /// True when `path` is a regular file whose `format` attribute names this format.
    public static func isCheckpoint(_ path: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, let f = try? HDF5File.open(path) else { return false }
        defer { try? f.close() }
        return (try? f.readAttribute("/", "format")) == .string(format)
    }

    /// Reads and validates a checkpoint (exactly the documented attributes and datasets, their
    /// types and shapes before any data, the settings through the strict JSON codec and
    /// validation, `0 <= step <= steps`, `adam_t == step`, finite values, second moments >= 0)
    /// and rebuilds the trainer. `steps`, when given, extends the run (at least the recorded steps).
    public static func read(_ path: String, steps: Int? = nil) throws -> FlowTrainer {
        func fail(_ code: String, _ reason: String) -> Checkpoint.Failure { Checkpoint.Failure(code: code, path: path, reason: reason) }
        var st = stat()
        guard stat(path, &st) == 0 else { throw fail("checkpoint.not_a_file", "cannot open: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("checkpoint.not_a_file", "not a regular file") }
        let f = try HDF5File.open(path)
        defer { try? f.close() }
        let required = ["format", "format_version", "producer", "step", "rng_state", "adam_t", "config"]
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
            guard case let .int(i) = try attribute(name), let v = Int(exactly: i) else { throw fail("checkpoint.invalid", "attribute \(name) is not an integer") }
            return v
        }
        guard try string("format") == format else { throw fail("checkpoint.invalid", "not an \(format) file") }
        let version = try string("format_version")
        guard version == formatVersion else { throw fail("checkpoint.invalid", "format version \(version) is not \(formatVersion)") }
        guard try string("producer").hasPrefix("l2hmc-train") else { throw fail("checkpoint.invalid", "producer is not l2hmc-train") }
        guard try string("rng_state") == Checkpoint.randomStream else { throw fail("checkpoint.invalid", "rng_state is not \(Checkpoint.randomStream)") }
        var settings: FlowTrainer.Settings
        do {
            settings = try FlowTrainer.Settings(jsonBytes: Array(try string("config").utf8))
            try settings.validate()
        } catch let e as TrainingConfig.Invalid {
            throw fail("checkpoint.invalid_config", "config attribute: \(e.key): \(e.reason)")
        }
        if let steps, steps != settings.steps {
            guard steps > settings.steps else {
                throw TrainingConfig.Invalid(key: "steps", reason: "--resume can only extend a run: the checkpoint's run has \(settings.steps) steps (got \(steps))")
            }
            settings.steps = steps
            try settings.validate()
        }
        let step = try int("step")
        guard step >= 0 && step <= settings.steps else { throw fail("checkpoint.inconsistent", "step \(step) is outside 0...\(settings.steps) (the configuration's steps)") }
        let adamT = try int("adam_t")
        guard adamT == step else { throw fail("checkpoint.inconsistent", "adam_t \(adamT) differs from step \(step) (one Adam update per training step)") }

        var flow = TrainableFlow(architecture: settings.architecture, seed: 0)
        var expected: [String: [Int]] = [:]
        for slice in flow.params.slices { for group in ["/params", "/adam/m", "/adam/v"] { expected["\(group)/\(slice.name)"] = slice.shape } }
        let groups: Set<String> = ["/", "/params", "/adam", "/adam/m", "/adam/v"]
        var seen = Set<String>()
        for o in try f.listObjects() {
            if o.kind == .group && groups.contains(o.path) { continue }
            guard o.kind == .dataset, let shape = expected[o.path] else { throw fail("checkpoint.invalid", "unexpected \(o.kind.rawValue) \(o.path)") }
            guard o.dtype == .float64 else { throw fail("checkpoint.wrong_dtype", "\(o.path) is \(o.typeDescription ?? "of an unsupported type"), expected float64") }
            guard o.shape == shape else { throw fail("checkpoint.wrong_shape", "\(o.path) has shape \(o.shape ?? []), expected \(shape)") }
            seen.insert(o.path)
        }
        if let missing = expected.keys.sorted().first(where: { !seen.contains($0) }) { throw fail("checkpoint.missing_array", "no dataset \(missing)") }
        func load(_ name: String) throws -> [Double] {
            guard let shape = expected[name] else { throw fail("checkpoint.missing_array", "no dataset \(name)") }
            let a = try f.readDataset(name, maxElements: shape.reduce(1, *))
            guard a.dtype == .float64, a.shape == shape else { throw fail("checkpoint.wrong_shape", "\(name) changed while reading") }
            let v = a.doubles
            if let i = v.firstIndex(where: { !$0.isFinite }) { throw fail("checkpoint.non_finite", "\(name) element \(i) is \(v[i])") }
            return v
        }
        var adam = Adam(count: flow.params.values.count)
        adam.t = adamT
        for slice in flow.params.slices {
            flow.params.values.replaceSubrange(slice.range, with: try load("/params/\(slice.name)"))
            adam.m.replaceSubrange(slice.range, with: try load("/adam/m/\(slice.name)"))
            let v = try load("/adam/v/\(slice.name)")
            if let i = v.firstIndex(where: { $0 < 0 }) { throw fail("checkpoint.bad_value", "/adam/v/\(slice.name) element \(i) is \(v[i]); second moments are >= 0") }
            adam.v.replaceSubrange(slice.range, with: v)
        }
        return try FlowTrainer(settings: settings, flow: flow, adam: adam, step: step)
    }
}
