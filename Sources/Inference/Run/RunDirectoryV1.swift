import Foundation
import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// Reader of version-1 run directories (`state.json` format `l2hmc-run-state 1`, written whole at
/// the end of a run by l2hmc-run 0.x), so that `--resume` continues them: the continuation is
/// written as a version-2 directory (see ``RunDirectory``).
enum RunDirectoryV1 {
    static let stateFormat = "l2hmc-run-state 1"

    /// Reads a whole version-1 directory.
    static func read(_ path: String) throws -> RunDirectory.Contents {
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
        // The observables of the target (version 1 wrote the same files as version 2).
        let params = try json("params.json")
        let layout: RunDirectory.Layout
        do { layout = RunDirectory.Layout(try RunParameters(json: params).target) } catch {
            throw InferenceError.io(path: "\(path)/params.json", reason: "\(error)")
        }
        for o in layout.observables where FileManager.default.fileExists(atPath: "\(path)/\(o.name).npy") {
            let a = try array(o.name)
            let width = o.width
            guard a.shape == [Int(index), chains] + o.shape else { throw InferenceError.io(path: path, reason: "record arrays disagree with state.json") }
            let v = a.doubles()
            r.observables[o.name] = (0..<Int(index)).map { Array(v[($0 * chains * width)..<(($0 + 1) * chains * width)]) }
        }
        return RunDirectory.Contents(params: params, summary: try json("summary.json"), record: r, states: finalStates.doubles(),
                        stateSize: Int(n), trajectoryIndex: Int(index), seed: seed)
    }
}
