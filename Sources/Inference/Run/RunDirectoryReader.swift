import Foundation
import ModelFormat

/// Strict reading of a version-2 run directory for `--resume`: a directory is untrusted input
/// (it may have been edited, damaged or crafted), so every field is checked before anything is
/// allocated in proportion to it or computed from it. Each failure is an `io.failure` error
/// naming the file and what is wrong.
public struct RunDirectoryReader {
    public struct Limits: Sendable {
        /// Largest file read whole (JSON, states).
        public var maxFileBytes: Int
        /// Largest chains x state size, and chains x trajectories, accepted.
        public var maxElements: Int
        public init(maxFileBytes: Int = 1 << 30, maxElements: Int = 1 << 31) {
            self.maxFileBytes = maxFileBytes; self.maxElements = maxElements
        }
    }

    /// The committed state (`state.json`).
    public struct State: Equatable {
        public let trajectoryIndex: Int
        public let seed: UInt64
        public let chains: Int
        public let stateSize: Int
        public let statesFile: String
        public let csvBytes: Int
    }

    public let path: String
    public let limits: Limits

    public init(path: String, limits: Limits) { self.path = path; self.limits = limits }

    func fail(_ file: String, _ reason: String) -> InferenceError {
        .io(path: "\(path)/\(file)", reason: "\(reason); the run directory is damaged or was edited (it cannot be resumed)")
    }

    public func json(_ name: String) throws -> JSONValue {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read("\(path)/\(name)", limit: min(limits.maxFileBytes, 1 << 26)) } catch {
            throw fail(name, "cannot read (\(error))")
        }
        do { return try StrictJSONParser.parse(bytes) } catch { throw fail(name, "invalid JSON (\(error))") }
    }

    public func state() throws -> State {
        guard case let .object(o) = try json("state.json") else { throw fail("state.json", "not a JSON object") }
        let keys: Set<String> = ["format", "trajectory_index", "seed", "chains", "state_size", "states_file", "csv_bytes"]
        if let extra = o.keys.first(where: { !keys.contains($0) }) { throw fail("state.json", "unknown key \(String(reflecting: extra))") }
        guard o["format"] == .string(RunDirectory.stateFormat) else { throw fail("state.json", "format is not \(RunDirectory.stateFormat)") }
        func int(_ k: String, _ range: ClosedRange<Int>) throws -> Int {
            guard case let .int(v)? = o[k], let i = Int(exactly: v), range.contains(i) else {
                throw fail("state.json", "\(k) is missing or outside \(range.lowerBound)...\(range.upperBound)")
            }
            return i
        }
        let index = try int("trajectory_index", 0...limits.maxElements)
        let chains = try int("chains", 1...limits.maxElements)
        let n = try int("state_size", 1...limits.maxElements)
        let csv = try int("csv_bytes", 0...(1 << 50))
        guard chains.multipliedReportingOverflow(by: n).partialValue <= limits.maxElements,
              !chains.multipliedReportingOverflow(by: n).overflow else {
            throw fail("state.json", "chains x state_size = \(chains) x \(n) exceeds the limit of \(limits.maxElements) values")
        }
        guard case let .string(seedText)? = o["seed"], let seed = UInt64(seedText) else { throw fail("state.json", "seed is not a decimal UInt64 string") }
        guard case let .string(file)? = o["states_file"], file == RunDirectory.statesFileName(index) else {
            throw fail("state.json", "states_file is not \(RunDirectory.statesFileName(index))")
        }
        return State(trajectoryIndex: index, seed: seed, chains: chains, stateSize: n, statesFile: file, csvBytes: csv)
    }

    /// The layout implied by the target in `params.json`, checked against `state.json`.
    func layout(params: JSONValue, state: State) throws -> RunDirectory.Layout {
        let p: RunParameters
        do { p = try RunParameters(json: params) } catch { throw fail("params.json", "\(error)") }
        return try layout(parameters: p, state: state)
    }

    /// The layout implied by decoded parameters, checked against `state.json`.
    func layout(parameters p: RunParameters, state: State) throws -> RunDirectory.Layout {
        guard p.settings.chains == state.chains else { throw fail("params.json", "chains \(p.settings.chains) disagrees with state.json's \(state.chains)") }
        guard p.settings.seed == state.seed else { throw fail("params.json", "seed disagrees with state.json") }
        guard p.target.stateSize == state.stateSize else {
            throw fail("state.json", "state_size \(state.stateSize) disagrees with the target in params.json (\(p.target.stateSize))")
        }
        guard state.trajectoryIndex <= p.settings.trajectories else {
            throw fail("state.json", "trajectory_index \(state.trajectoryIndex) exceeds the \(p.settings.trajectories) trajectories of params.json")
        }
        try checkRecordSize(state)
        return RunDirectory.Layout(p.target)
    }

    /// Refuses a record of more than `maxElements` trajectories x chains.
    func checkRecordSize(_ state: State) throws {
        let (cells, overflow) = state.trajectoryIndex.multipliedReportingOverflow(by: state.chains)
        guard !overflow, cells <= limits.maxElements else {
            throw fail("state.json", "trajectories x chains = \(state.trajectoryIndex) x \(state.chains) exceeds the limit of \(limits.maxElements) values")
        }
    }

    func states(_ state: State) throws -> [Double] {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read("\(path)/\(state.statesFile)", limit: limits.maxFileBytes) } catch {
            throw fail(state.statesFile, "cannot read (\(error))")
        }
        let a: NDArray
        do { a = try NpyCodec.decode(bytes, name: state.statesFile, limits: ReadLimits()) } catch { throw fail(state.statesFile, "\(error)") }
        guard a.dtype == .float64, a.shape == [state.chains, state.stateSize] else {
            throw fail(state.statesFile, "has dtype \(a.dtype.npyDescr) and shape \(a.shape), expected <f8 [\(state.chains), \(state.stateSize)]")
        }
        let v = a.doubles()
        if let bad = v.firstIndex(where: { !$0.isFinite }) { throw fail(state.statesFile, "value \(bad) is not finite") }
        return v
    }

    /// Decodes `rows` committed rows of `column` into `record`, checking every value's domain.
    func decode(_ column: RunDirectory.Column, bytes: [UInt8], rows: Int, into r: inout RunRecord) throws {
        let file = column.name + ".npy"
        let width = column.rowShape.reduce(1, *)
        func doubles() -> [[Double]] {
            bytes.withUnsafeBytes { raw in
                let p = raw.bindMemory(to: Double.self)
                return (0..<rows).map { Array(p[($0 * width)..<(($0 + 1) * width)]) }
            }
        }
        func check(_ rowsValue: [[Double]], _ what: String, _ ok: (Double) -> Bool) throws -> [[Double]] {
            for (t, row) in rowsValue.enumerated() {
                if let c = row.firstIndex(where: { !ok($0) }) { throw fail(file, "trajectory \(t), element \(c): \(row[c]) is not \(what)") }
            }
            return rowsValue
        }
        if let o = column.observable {
            switch o.storage {
            case .float64:
                r.observables[o.name] = try check(doubles(), o.domainDescription, o.domain)
            case .int32:
                let values: [[Double]] = bytes.withUnsafeBytes { raw in
                    let p = raw.bindMemory(to: Int32.self)
                    return (0..<rows).map { t in p[(t * width)..<((t + 1) * width)].map { Double($0) } }
                }
                for (t, row) in values.enumerated() {
                    if let c = row.firstIndex(where: { !o.domain($0) }) {
                        throw fail(file, "trajectory \(t), chain \(c): \(o.name) \(Int(row[c])) is not \(o.domainDescription)")
                    }
                }
                r.observables[o.name] = values
            }
            return
        }
        switch column.name {
        case "sampler":
            if let t = bytes.firstIndex(where: { Schedule.Kind(code: $0) == nil }) {
                throw fail(file, "trajectory \(t) has sampler code \(bytes[t]) (0 l2hmc, 1 hmc, 2 fthmc, 3 flow)")
            }
            r.sampler = bytes.compactMap { Schedule.Kind(code: $0) }
        case "accepted":
            if let i = bytes.firstIndex(where: { $0 > 1 }) { throw fail(file, "element \(i) has byte \(bytes[i]) (a bool is 0 or 1)") }
            r.accepted = (0..<rows).map { t in bytes[(t * width)..<((t + 1) * width)].map { $0 != 0 } }
        case "accept_prob": r.acceptProbability = try check(doubles(), "a probability in [0, 1]") { $0 >= 0 && $0 <= 1 }
        case "energy_change": r.energyChange = doubles()
        case "energy_before": r.energyBefore = try check(doubles(), "finite") { $0.isFinite }
        case "log_det": r.logDet = doubles()
        default:
            throw fail(file, "unknown series")
        }
    }
}
