import Foundation
import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// The output directory of a run, written atomically: everything goes to a temporary sibling
/// directory that is renamed into place, so DIR is either absent, the previous complete output,
/// or the new complete output.
///
/// Contents: `params.json` (settings and provenance), `summary.json`, `observables.csv` (one row
/// per trajectory and chain), the record as `.npy` arrays [trajectories, chains] that numpy and
/// `--resume` read (`accept_prob`, `accepted`, `energy_before`, `energy_change`, `log_det`, `sampler` (0 l2hmc,
/// 1 hmc), and `plaquette`, `q_int`, `q_sin` for U(1) or `position` [T, C, D] and `mode` for
/// mixtures), `final_states.npy` [chains, n] and `state.json` (trajectory counter and seed).
public enum RunDirectory {
    public static let stateFormat = "l2hmc-run-state 1"

    public struct Contents {
        public var params: JSONValue
        public var summary: JSONValue
        public var record: RunRecord
        public var states: [Double]
        public var stateSize: Int
        public var trajectoryIndex: Int
        public var seed: UInt64
        public init(params: JSONValue, summary: JSONValue, record: RunRecord, states: [Double], stateSize: Int, trajectoryIndex: Int, seed: UInt64) {
            self.params = params; self.summary = summary; self.record = record; self.states = states
            self.stateSize = stateSize; self.trajectoryIndex = trajectoryIndex; self.seed = seed
        }
    }

    /// Fails early (before a run) if `path` exists and may not be replaced, or its parent is missing.
    public static func checkWritable(_ path: String, replace: Bool) throws {
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDir), isDir.boolValue else {
            throw InferenceError.io(path: path, reason: "parent directory \(parent) does not exist")
        }
        if FileManager.default.fileExists(atPath: path) && !replace {
            throw InferenceError.io(path: path, reason: "exists; pass --force to replace it (or --resume it)")
        }
    }

    public static func write(_ c: Contents, to path: String, replace: Bool) throws {
        try checkWritable(path, replace: replace)
        let fm = FileManager.default
        let temp = "\(path).tmp-\(getpid())"
        try? fm.removeItem(atPath: temp)
        do {
            try fm.createDirectory(atPath: temp, withIntermediateDirectories: false)
            func put(_ name: String, _ bytes: [UInt8]) throws {
                do { try AtomicFile.write(bytes, to: "\(temp)/\(name)") } catch { throw InferenceError.io(path: "\(path)/\(name)", reason: "\(error)") }
            }
            func json(_ v: JSONValue) throws -> [UInt8] {
                do { return try CanonicalJSONWriter.encode(v) } catch { throw InferenceError.io(path: path, reason: "JSON: \(error)") }
            }
            try put("params.json", json(c.params))
            try put("summary.json", json(c.summary))
            try put("observables.csv", csv(c.record))
            let r = c.record, t = r.count, chains = c.states.count / max(c.stateSize, 1)
            func npy(_ name: String, _ a: NDArray) throws { try put(name + ".npy", NpyCodec.encode(a)) }
            func grid(_ rows: [[Double]]) throws -> NDArray { try NDArray(shape: [t, chains], doubles: rows.flatMap { $0 }) }
            try npy("accept_prob", grid(r.acceptProbability))
            try npy("accepted", NDArray(shape: [t, chains], bools: r.accepted.flatMap { $0 }))
            try npy("energy_change", grid(r.energyChange))
            try npy("energy_before", grid(r.energyBefore))
            try npy("log_det", grid(r.logDet))
            try npy("sampler", NDArray(shape: [t], uint8s: r.sampler.map { $0 == .l2hmc ? 0 : 1 }))
            if !r.plaquette.isEmpty {
                try npy("plaquette", grid(r.plaquette)); try npy("q_int", grid(r.qInt)); try npy("q_sin", grid(r.qSin))
            }
            if !r.position.isEmpty {
                try npy("position", NDArray(shape: [t, chains, c.stateSize], doubles: r.position.flatMap { $0.flatMap { $0 } }))
                try npy("mode", NDArray(shape: [t, chains], int32s: r.mode.flatMap { $0.map { Int32($0) } }))
            }
            try npy("final_states", NDArray(shape: [chains, c.stateSize], doubles: c.states))
            try put("state.json", json(.object(["format": .string(stateFormat), "trajectory_index": .int(Int64(c.trajectoryIndex)),
                                                "seed": .string(String(c.seed)), "chains": .int(Int64(chains)), "state_size": .int(Int64(c.stateSize))])))
            if fm.fileExists(atPath: path) {
                let old = "\(path).old-\(getpid())"
                guard rename(path, old) == 0 else { throw InferenceError.io(path: path, reason: "cannot move the previous output aside") }
                guard rename(temp, path) == 0 else {
                    _ = rename(old, path)
                    throw InferenceError.io(path: path, reason: "cannot move the new output into place")
                }
                try? fm.removeItem(atPath: old)
            } else {
                guard rename(temp, path) == 0 else { throw InferenceError.io(path: path, reason: "cannot move the new output into place") }
            }
        } catch {
            try? fm.removeItem(atPath: temp)
            throw error
        }
    }

    /// One row per trajectory and chain; numbers printed with 17 significant digits.
    static func csv(_ r: RunRecord) -> [UInt8] {
        let u1 = !r.plaquette.isEmpty, mixture = !r.position.isEmpty
        var header = "trajectory,chain,sampler,accept_prob,accepted,energy_change,log_det"
        if u1 { header += ",plaquette,q_int,q_sin" }
        if mixture { header += "," + (0..<(r.position.first?.first?.count ?? 0)).map { "x\($0)" }.joined(separator: ",") + ",mode" }
        var out = header + "\n"
        for t in 0..<r.count {
            for c in 0..<r.acceptProbability[t].count {
                out += "\(t),\(c),\(r.sampler[t].rawValue),\(g(r.acceptProbability[t][c])),\(r.accepted[t][c] ? 1 : 0),\(g(r.energyChange[t][c])),\(g(r.logDet[t][c]))"
                if u1 { out += ",\(g(r.plaquette[t][c])),\(Int(r.qInt[t][c])),\(g(r.qSin[t][c]))" }
                if mixture { out += "," + r.position[t][c].map(g).joined(separator: ",") + ",\(r.mode[t][c])" }
                out += "\n"
            }
        }
        return Array(out.utf8)
    }

    private static func g(_ x: Double) -> String { String(format: "%.17g", x) }

    /// Reads a run directory written by ``write(_:to:replace:)``.
    public static func read(_ path: String) throws -> Contents {
        func file(_ name: String) throws -> [UInt8] {
            do { return try AtomicFile.read("\(path)/\(name)", limit: 1 << 34) } catch {
                throw InferenceError.io(path: "\(path)/\(name)", reason: "cannot read (\(error)); is this an l2hmc-run --out directory?")
            }
        }
        func array(_ name: String) throws -> NDArray {
            do { return try NpyCodec.decode(try file(name + ".npy"), name: name + ".npy", limits: ReadLimits()) } catch let e as InferenceError { throw e } catch {
                throw InferenceError.io(path: "\(path)/\(name).npy", reason: "\(error)")
            }
        }
        func json(_ name: String) throws -> JSONValue {
            do { return try StrictJSONParser.parse(try file(name)) } catch let e as InferenceError { throw e } catch {
                throw InferenceError.io(path: "\(path)/\(name)", reason: "invalid JSON: \(error)")
            }
        }
        let state = try json("state.json")
        guard case let .object(s) = state, s["format"] == .string(stateFormat), case let .int(index)? = s["trajectory_index"],
              case let .string(seedText)? = s["seed"], let seed = UInt64(seedText), case let .int(n)? = s["state_size"] else {
            throw InferenceError.io(path: "\(path)/state.json", reason: "not an \(stateFormat) file")
        }
        let finalStates = try array("final_states")
        let chains = finalStates.shape.first ?? 0
        func grid(_ a: NDArray) throws -> [[Double]] {
            guard a.shape == [Int(index), chains] else { throw InferenceError.io(path: path, reason: "record arrays disagree with state.json") }
            let v = a.doubles()
            return (0..<Int(index)).map { Array(v[($0 * chains)..<(($0 + 1) * chains)]) }
        }
        var r = RunRecord()
        let samplers = try array("sampler").doubles()
        guard samplers.count == Int(index) else { throw InferenceError.io(path: path, reason: "sampler.npy disagrees with state.json") }
        r.sampler = samplers.map { $0 == 0 ? .l2hmc : .hmc }
        r.acceptProbability = try grid(try array("accept_prob"))
        r.accepted = try grid(try array("accepted")).map { $0.map { $0 != 0 } }
        r.energyChange = try grid(try array("energy_change"))
        r.energyBefore = try grid(try array("energy_before"))
        r.logDet = try grid(try array("log_det"))
        if FileManager.default.fileExists(atPath: "\(path)/plaquette.npy") {
            r.plaquette = try grid(try array("plaquette")); r.qInt = try grid(try array("q_int")); r.qSin = try grid(try array("q_sin"))
        }
        if FileManager.default.fileExists(atPath: "\(path)/position.npy") {
            let p = try array("position").doubles()
            let d = Int(n)
            r.position = (0..<Int(index)).map { t in (0..<chains).map { c in Array(p[((t * chains + c) * d)..<((t * chains + c + 1) * d)]) } }
            r.mode = try grid(try array("mode")).map { $0.map { Int($0) } }
        }
        return Contents(params: try json("params.json"), summary: try json("summary.json"), record: r, states: finalStates.doubles(),
                        stateSize: Int(n), trajectoryIndex: Int(index), seed: seed)
    }
}
