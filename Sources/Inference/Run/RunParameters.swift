import Foundation
import ModelFormat

/// Everything a run needs, as stored in `params.json` and read back by `--resume`.
public struct RunParameters: Sendable, Equatable {
    public var settings: RunSettings
    /// The target actually sampled (a model's beta may be overridden).
    public var target: Target
    /// The model file and the SHA-256 of its bytes (nil for plain HMC).
    public var modelPath: String?
    public var modelSHA256: String?
    /// `--save-configs`: the configurations of every chain are saved to `ensemble.h5` every this
    /// many trajectories (nil: not saved). Written to params.json only when set.
    public var saveConfigs: Int?

    public init(settings: RunSettings, target: Target, modelPath: String?, modelSHA256: String?, saveConfigs: Int? = nil) {
        self.settings = settings; self.target = target; self.modelPath = modelPath; self.modelSHA256 = modelSHA256
        self.saveConfigs = saveConfigs
    }

    public static let format = "l2hmc-run-params 1"

    public func json(extra: [String: JSONValue] = [:]) -> JSONValue {
        let s = settings
        var o: [String: JSONValue] = [
            "format": .string(Self.format),
            "chains": .int(Int64(s.chains)), "trajectories": .int(Int64(s.trajectories)), "seed": .string(String(s.seed)),
            "thermalization": .double(s.thermalization),
            "schedule": .string(s.schedule.pattern.map { "\($0.kind.rawValue):\($0.count)" }.joined(separator: ",")),
            "hmc_start": .int(Int64(s.schedule.hmcStart)),
            "hmc_eps": .double(s.hmcStepSize), "hmc_nlf": .int(Int64(s.hmcSteps)),
            "hot_start": .bool(s.hotStart),
            "tile": s.tile.map { .int(Int64($0)) } ?? .null,
            "target": ManifestCodec.encodeTarget(target),
        ]
        o["l2hmc_nlf"] = s.l2hmcSteps.map { .int(Int64($0)) } ?? .null
        o["step_mapping"] = s.stepMapping.map { .string($0.rawValue) } ?? .null
        o["net_weights"] = s.netWeights.map { .array($0.values.map { .double($0) }) } ?? .null
        switch s.compression {
        case nil: o["compression"] = .null
        case let .rank(r)?: o["compression"] = .object(["rank": .int(Int64(r))])
        case let .energy(f)?: o["compression"] = .object(["energy": .double(f)])
        }
        // Written only for float32, so float64 runs keep their params.json byte for byte.
        if s.precision != .float64 { o["precision"] = .string(s.precision.rawValue) }
        // Written only when set, so runs without a jitter keep their params.json byte for byte.
        if s.hmcJitter != 0 { o["hmc_jitter"] = .double(s.hmcJitter) }
        // Written only when set (flow runs), so other runs keep their params.json byte for byte.
        if let e = s.flowStepSize { o["flow_eps"] = .double(e) }
        if let k = s.flowSteps { o["flow_nlf"] = .int(Int64(k)) }
        o["model"] = modelPath.map { .string($0) } ?? .null
        o["model_sha256"] = modelSHA256.map { .string($0) } ?? .null
        if let k = saveConfigs { o["save_configs"] = .int(Int64(k)) }
        for (k, v) in extra { o[k] = v }
        return .object(o)
    }

    /// Keys of `params.json` (``json(extra:)``), plus the provenance keys l2hmc-run adds.
    static let keys: Set<String> = ["format", "chains", "trajectories", "seed", "thermalization", "schedule", "hmc_start", "hmc_eps", "hmc_nlf",
                                    "hot_start", "target", "l2hmc_nlf", "step_mapping", "net_weights", "compression", "model", "model_sha256",
                                    "tool", "threads", "tile", "processes", "precision", "save_configs", "hmc_jitter", "flow_eps", "flow_nlf"]

    /// Reads parameters written by ``json(extra:)``, strictly: unknown keys, wrong types,
    /// non-finite or out-of-range numbers are refused (a run directory is untrusted input), and
    /// the settings and target are validated as if given on the command line.
    public init(json: JSONValue) throws {
        func fail(_ what: String) -> InferenceError { .io(path: "params.json", reason: "missing or invalid \(what)") }
        guard case let .object(o) = json, o["format"] == .string(Self.format) else { throw fail("format (not \(Self.format))") }
        if let extra = o.keys.sorted().first(where: { !Self.keys.contains($0) }) { throw fail("key: unknown key \(String(reflecting: extra))") }
        func int(_ v: JSONValue?, _ k: String, _ range: ClosedRange<Int> = 0...(1 << 40)) throws -> Int {
            guard case let .int(x)? = v, let i = Int(exactly: x), range.contains(i) else { throw fail("\(k) (an integer in \(range.lowerBound)...\(range.upperBound))") }
            return i
        }
        func double(_ v: JSONValue?, _ k: String) throws -> Double {
            switch v {
            case let .double(x)? where x.isFinite: return x
            case let .int(x)?: return Double(x)
            default: throw fail("\(k) (a finite number)")
            }
        }
        func string(_ k: String) throws -> String { guard case let .string(v)? = o[k] else { throw fail(k) }; return v }
        func optional(_ k: String) -> JSONValue? { if let v = o[k], v != .null { return v }; return nil }
        guard let seed = UInt64(try string("seed")) else { throw fail("seed") }
        let schedule: Schedule
        do { schedule = try Schedule(parsing: try string("schedule"), hmcStart: try int(o["hmc_start"], "hmc_start")) } catch let e as InferenceError {
            throw fail("schedule (\(e))")
        }
        var s = RunSettings(chains: try int(o["chains"], "chains", 1...(1 << 31)), trajectories: try int(o["trajectories"], "trajectories", 1...(1 << 40)),
                            seed: seed, schedule: schedule, hmcStepSize: try double(o["hmc_eps"], "hmc_eps"), hmcSteps: try int(o["hmc_nlf"], "hmc_nlf", 1...(1 << 20)))
        s.thermalization = try double(o["thermalization"], "thermalization")
        guard case let .bool(hot)? = o["hot_start"] else { throw fail("hot_start") }
        s.hotStart = hot
        // Absent or null in directories written before tiles existed: one tile of all chains.
        if let v = optional("tile") { s.tile = try int(v, "tile", 1...(1 << 31)) }
        if let v = optional("l2hmc_nlf") { s.l2hmcSteps = try int(v, "l2hmc_nlf", 1...4096) }
        if let v = optional("step_mapping") {
            guard case let .string(m) = v, let mapping = StepMapping(rawValue: m) else { throw fail("step_mapping") }
            s.stepMapping = mapping
        }
        if let v = optional("net_weights") {
            guard case let .array(w) = v, w.count == 6 else { throw fail("net_weights (six numbers)") }
            s.netWeights = NetWeights(values: try w.map { try double($0, "net_weights") })
        }
        if let v = optional("compression") {
            guard case let .object(c) = v, c.count == 1 else { throw fail("compression") }
            if let r = c["rank"] { s.compression = .rank(try int(r, "compression.rank", 1...(1 << 20))) } else if let f = c["energy"] {
                s.compression = .energy(try double(f, "compression.energy"))
            } else { throw fail("compression (rank or energy)") }
        }
        if let v = optional("precision") {
            guard case let .string(p) = v, let precision = NetworkPrecision(rawValue: p) else { throw fail("precision (float64 or float32)") }
            s.precision = precision
        }
        // Absent in directories written before --hmc-jitter, and when it is 0.
        if let v = optional("hmc_jitter") { s.hmcJitter = try double(v, "hmc_jitter") }
        if let v = optional("flow_eps") { s.flowStepSize = try double(v, "flow_eps") }
        if let v = optional("flow_nlf") { s.flowSteps = try int(v, "flow_nlf", 1...4096) }
        do { try s.validate() } catch { throw InferenceError.io(path: "params.json", reason: "invalid settings: \(error)") }
        settings = s
        guard let t = o["target"] else { throw fail("target") }
        // The manifest's strict target codec (every key known and present, each of its type),
        // then the same limits as on the command line.
        do {
            target = try ManifestCodec.decodeTarget(t, path: "target")
            try SamplerRules.validate(target: target)
        } catch { throw InferenceError.io(path: "params.json", reason: "invalid target: \(error)") }
        switch (optional("model"), optional("model_sha256")) {
        case (nil, nil): modelPath = nil; modelSHA256 = nil
        case let (.string(p)?, .string(h)?) where h.count == 64 && h.allSatisfy(\.isHexDigit): modelPath = p; modelSHA256 = h
        default: throw fail("model and model_sha256 (both strings, or both null)")
        }
        if schedule.needsModel && modelPath == nil { throw fail("model (the schedule uses a model)") }
        if let v = optional("save_configs") {
            saveConfigs = try int(v, "save_configs", 1...(1 << 40))
            guard case .u1 = target else { throw fail("save_configs (saved ensembles are U(1) only)") }
        } else {
            saveConfigs = nil
        }
    }
}
