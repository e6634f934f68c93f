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

    public init(settings: RunSettings, target: Target, modelPath: String?, modelSHA256: String?) {
        self.settings = settings; self.target = target; self.modelPath = modelPath; self.modelSHA256 = modelSHA256
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
            "target": targetJSON,
        ]
        o["l2hmc_nlf"] = s.l2hmcSteps.map { .int(Int64($0)) } ?? .null
        o["step_mapping"] = s.stepMapping.map { .string($0.rawValue) } ?? .null
        o["net_weights"] = s.netWeights.map { .array($0.values.map { .double($0) }) } ?? .null
        switch s.compression {
        case nil: o["compression"] = .null
        case let .rank(r)?: o["compression"] = .object(["rank": .int(Int64(r))])
        case let .energy(f)?: o["compression"] = .object(["energy": .double(f)])
        }
        o["model"] = modelPath.map { .string($0) } ?? .null
        o["model_sha256"] = modelSHA256.map { .string($0) } ?? .null
        for (k, v) in extra { o[k] = v }
        return .object(o)
    }

    private var targetJSON: JSONValue {
        switch target {
        case let .u1(l):
            return .object(["kind": .string("u1_2d"), "lt": .int(Int64(l.lt)), "lx": .int(Int64(l.lx)), "beta": .double(l.beta),
                            "link_layout": .string(l.linkLayout.rawValue)])
        case let .gaussianMixture(g):
            return .object(["kind": .string("gaussian_mixture"), "dimension": .int(Int64(g.dimension)), "weights": .array(g.weights.map { .double($0) }),
                            "means": .array(g.means.map { .array($0.map { .double($0) }) }),
                            "covariances": .array(g.covariances.map { .array($0.map { .array($0.map { .double($0) }) }) })])
        }
    }

    /// Reads parameters written by ``json(extra:)``.
    public init(json: JSONValue) throws {
        func fail(_ what: String) -> InferenceError { .io(path: "params.json", reason: "missing or invalid \(what)") }
        guard case let .object(o) = json, o["format"] == .string(Self.format) else { throw fail("format (not \(Self.format))") }
        func int(_ k: String) throws -> Int { guard case let .int(v)? = o[k] else { throw fail(k) }; return Int(v) }
        func double(_ k: String) throws -> Double {
            switch o[k] { case let .double(v)?: return v; case let .int(v)?: return Double(v); default: throw fail(k) }
        }
        func string(_ k: String) throws -> String { guard case let .string(v)? = o[k] else { throw fail(k) }; return v }
        guard let seed = UInt64(try string("seed")) else { throw fail("seed") }
        let schedule = try Schedule(parsing: try string("schedule"), hmcStart: try int("hmc_start"))
        var s = RunSettings(chains: try int("chains"), trajectories: try int("trajectories"), seed: seed, schedule: schedule,
                            hmcStepSize: try double("hmc_eps"), hmcSteps: try int("hmc_nlf"))
        s.thermalization = try double("thermalization")
        guard case let .bool(hot)? = o["hot_start"] else { throw fail("hot_start") }
        s.hotStart = hot
        if case let .int(n)? = o["l2hmc_nlf"] { s.l2hmcSteps = Int(n) }
        if case let .string(m)? = o["step_mapping"] { s.stepMapping = StepMapping(rawValue: m) }
        if case let .array(w)? = o["net_weights"] {
            let values = w.compactMap { v -> Double? in if case let .double(d) = v { return d }; if case let .int(i) = v { return Double(i) }; return nil }
            guard values.count == 6 else { throw fail("net_weights") }
            s.netWeights = NetWeights(values: values)
        }
        if case let .object(c)? = o["compression"] {
            if case let .int(r)? = c["rank"] { s.compression = .rank(Int(r)) } else if case let .double(f)? = c["energy"] { s.compression = .energy(f) }
        }
        settings = s
        guard case let .object(t)? = o["target"], case let .string(kind)? = t["kind"] else { throw fail("target") }
        target = try RunParameters.decodeTarget(t, kind: kind)
        if case let .string(p)? = o["model"] { modelPath = p } else { modelPath = nil }
        if case let .string(h)? = o["model_sha256"] { modelSHA256 = h } else { modelSHA256 = nil }
    }

    private static func decodeTarget(_ t: [String: JSONValue], kind: String) throws -> Target {
        func num(_ v: JSONValue?) -> Double? { switch v { case let .double(d)?: return d; case let .int(i)?: return Double(i); default: return nil } }
        switch kind {
        case "u1_2d":
            guard case let .int(lt)? = t["lt"], case let .int(lx)? = t["lx"], let beta = num(t["beta"]),
                  case let .string(layout)? = t["link_layout"], let ll = LinkLayout(rawValue: layout) else {
                throw InferenceError.io(path: "params.json", reason: "invalid u1_2d target")
            }
            return .u1(U1Lattice(lt: Int(lt), lx: Int(lx), beta: beta, linkLayout: ll))
        case "gaussian_mixture":
            guard case let .int(d)? = t["dimension"], case let .array(w)? = t["weights"], case let .array(m)? = t["means"], case let .array(c)? = t["covariances"] else {
                throw InferenceError.io(path: "params.json", reason: "invalid gaussian_mixture target")
            }
            let weights = w.compactMap(num)
            let means = m.map { v -> [Double] in if case let .array(a) = v { return a.compactMap(num) }; return [] }
            let covs = c.map { v -> [[Double]] in
                guard case let .array(rows) = v else { return [] }
                return rows.map { r -> [Double] in if case let .array(a) = r { return a.compactMap(num) }; return [] }
            }
            return .gaussianMixture(GaussianMixture(dimension: Int(d), weights: weights, means: means, covariances: covs))
        default:
            throw InferenceError.io(path: "params.json", reason: "unknown target kind \(kind)")
        }
    }
}
