import Foundation
import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// Writes a run directory (``RunDirectory``) while the run goes, and reopens one to continue it.
///
/// Guarantees: the directory appears whole (created under a temporary name with its first
/// checkpoint, then renamed into place without replacing anything, or exchanged atomically with
/// an output of ours under `--force`); it is locked while written, so a second writer gets
/// `io.locked`; each ``checkpoint(record:states:)`` appends the new rows, makes them durable,
/// then commits by replacing `state.json`, so after a kill the directory continues from the last
/// checkpoint, and `--resume` gives byte for byte the files of an uninterrupted run.
public final class RunOutput {
    public let directory: OutputDirectory
    public let layout: RunDirectory.Layout
    public let chains: Int
    public let stateSize: Int
    public let seed: UInt64
    /// Trajectories committed by the last checkpoint.
    public private(set) var committed: Int
    private var files: [(column: RunDirectory.Column, file: GrowingNpyFile)]
    private let csvFD: Int32
    private var csvBytes: Int
    private var statesFile: String?

    public var path: String { directory.path }

    private init(directory: OutputDirectory, layout: RunDirectory.Layout, chains: Int, stateSize: Int, seed: UInt64, committed: Int,
                 files: [(RunDirectory.Column, GrowingNpyFile)], csvFD: Int32, csvBytes: Int, statesFile: String?) {
        self.directory = directory; self.layout = layout; self.chains = chains; self.stateSize = stateSize; self.seed = seed
        self.committed = committed; self.files = files.map { (column: $0.0, file: $0.1) }; self.csvFD = csvFD; self.csvBytes = csvBytes
        self.statesFile = statesFile
    }

    deinit { Glibc.close(csvFD) }

    /// Creates the output at `path` holding `record` (empty for a new run, the earlier record when
    /// a run continues into a new directory) and its first checkpoint, and publishes it.
    /// - Parameter replace: replace an existing output of l2hmc-run (`--force`).
    /// - Returns: the output and a warning when a replaced output was not entirely ours.
    public static func create(at path: String, replace: Bool, params: JSONValue, layout: RunDirectory.Layout, chains: Int, stateSize: Int,
                              seed: UInt64, record: RunRecord, states: [Double]) throws -> (RunOutput, String?) {
        let ownership = RunDirectory.ownership(adding: layout)
        try OutputDirectory.checkTarget(path, replace: replace ? ownership : nil)
        let dir = try OutputDirectory.create(at: path, ownership: ownership)
        do {
            try put(params, "params.json", in: dir.path)
            try RunDirectoryReadme.writeIfMissing(in: dir.path, layout: layout, chains: chains, stateSize: stateSize, target: target(of: params))
            var files: [(RunDirectory.Column, GrowingNpyFile)] = []
            for column in RunDirectory.columns(layout: layout, chains: chains) {
                files.append((column, try GrowingNpyFile.create(path: "\(dir.path)/\(column.name).npy", dtype: column.dtype, rowShape: column.rowShape)))
            }
            let csvPath = "\(dir.path)/observables.csv"
            let fd = Glibc.open(csvPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw InferenceError.io(path: csvPath, reason: "cannot create (\(SystemError.text))") }
            let output = RunOutput(directory: dir, layout: layout, chains: chains, stateSize: stateSize, seed: seed, committed: 0,
                                   files: files, csvFD: fd, csvBytes: 0, statesFile: nil)
            try output.appendCSV(Array(RunDirectory.csvHeader(layout).utf8))
            try output.checkpoint(record: record, states: states)
            let warning = try dir.publish(replacing: replace ? ownership : nil)
            return (output, warning)
        } catch {
            dir.discard()
            throw error
        }
    }

    /// Appends the trajectories recorded since the last checkpoint, makes them durable and
    /// commits (`record.count` trajectories; `states` after them).
    public func checkpoint(record: RunRecord, states: [Double]) throws {
        guard states.count == chains * stateSize, record.count >= committed else {
            throw InferenceError.io(path: path, reason: "checkpoint of \(states.count) state values and \(record.count) trajectories does not continue this output (\(chains) x \(stateSize) values, \(committed) trajectories committed)")
        }
        let range = committed..<record.count
        for (column, file) in files { try file.append(RunDirectory.rows(column, of: record, range)) }
        try appendCSV(RunDirectory.csvRows(record, layout: layout, range))
        for (_, file) in files { try file.sync() }
        guard fsync(csvFD) == 0 else { throw InferenceError.io(path: "\(path)/observables.csv", reason: "fsync failed") }
        let name = RunDirectory.statesFileName(record.count)
        try put(NpyCodec.encode(try NDArray(shape: [chains, stateSize], doubles: states)), name)
        let state: JSONValue = .object([
            "format": .string(RunDirectory.stateFormat), "trajectory_index": .int(Int64(record.count)), "seed": .string(String(seed)),
            "chains": .int(Int64(chains)), "state_size": .int(Int64(stateSize)), "states_file": .string(name),
            "csv_bytes": .int(Int64(csvBytes)),
        ])
        try put(state, "state.json")  // the commit
        for (_, file) in files { try file.commitHeader() }
        if let old = statesFile, old != name { unlink("\(path)/\(old)") }
        statesFile = name
        committed = record.count
    }

    /// Writes what a finished (or interrupted) run adds: the summary and the final states.
    public func finish(summary: JSONValue, states: [Double]) throws {
        try put(summary, "summary.json")
        try put(NpyCodec.encode(try NDArray(shape: [chains, stateSize], doubles: states)), "final_states.npy")
    }

    /// Replaces `params.json` (a resume that raises the trajectory total).
    public func updateParams(_ params: JSONValue) throws { try put(params, "params.json") }

    public func close() { directory.close() }

    // MARK: Resume

    /// Reopens and locks the version-2 output at `path` and cuts it back to its last checkpoint.
    /// Every file is checked strictly (see ``RunDirectoryReader``); nothing is changed before
    /// the whole directory has been validated (then only rows and CSV bytes written after the
    /// last commit are dropped, and states files of uncommitted checkpoints removed).
    ///
    /// - Parameter layout: the observables of the run's target. Nil (l2hmc-run): derived from
    ///   the target in `params.json`, which is decoded and checked against `state.json`. Given (a
    ///   target that `params.json` cannot describe, such as one defined by a caller of the
    ///   library): `params.json` must be JSON and is returned as is; its checking is the caller's.
    public static func reopen(_ path: String, limits: RunDirectoryReader.Limits, layout given: RunDirectory.Layout? = nil) throws -> (RunOutput, RunDirectory.Contents) {
        guard FileManager.default.fileExists(atPath: "\(path)/state.json") else {
            throw InferenceError.io(path: "\(path)/state.json", reason: "missing; this is not an l2hmc-run --out directory, or it was damaged (it cannot be resumed)")
        }
        let dir = try OutputDirectory.open(existing: path, ownership: RunDirectory.ownership(adding: given))
        let reader = RunDirectoryReader(path: path, limits: limits)
        let state = try reader.state()
        let params = try reader.json("params.json")
        let layout: RunDirectory.Layout
        if let given {
            try reader.checkRecordSize(state)
            layout = given
        } else {
            layout = try reader.layout(params: params, state: state)
        }
        let states = try reader.states(state)
        // Validate every column before cutting anything.
        var record = RunRecord()
        var files: [(RunDirectory.Column, GrowingNpyFile)] = []
        for column in RunDirectory.columns(layout: layout, chains: state.chains) {
            let file: GrowingNpyFile, bytes: [UInt8]
            do {
                file = try GrowingNpyFile.open(path: "\(path)/\(column.name).npy", dtype: column.dtype, rowShape: column.rowShape, rows: state.trajectoryIndex)
                bytes = try file.readRows()
            } catch let e as L2ZError { throw reader.fail("\(column.name).npy", e.message) }
            try reader.decode(column, bytes: bytes, rows: state.trajectoryIndex, into: &record)
            files.append((column, file))
        }
        let csvPath = "\(path)/observables.csv"
        let fd = Glibc.open(csvPath, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw InferenceError.io(path: csvPath, reason: "cannot open; the run directory is damaged") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) >= state.csvBytes else {
            Glibc.close(fd)
            throw InferenceError.io(path: csvPath, reason: "shorter than the \(state.csvBytes) bytes state.json committed; the run directory is damaged")
        }
        // Everything is valid: drop what was written after the last commit.
        do { for (_, file) in files { try file.cutToRows() } } catch { Glibc.close(fd); throw InferenceError.io(path: path, reason: "\(error)") }
        guard ftruncate(fd, off_t(state.csvBytes)) == 0 else {
            Glibc.close(fd)
            throw InferenceError.io(path: csvPath, reason: "cannot truncate to the committed length")
        }
        // Stray states files of checkpoints that were never committed, and temporary files of
        // atomic writes a kill interrupted.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        where (RunDirectory.isStatesFile(name) && name != state.statesFile) || (name.hasPrefix(".") && name.contains(".tmp-")) {
            unlink("\(path)/\(name)")
        }
        let output = RunOutput(directory: dir, layout: layout, chains: state.chains, stateSize: state.stateSize, seed: state.seed,
                               committed: state.trajectoryIndex, files: files, csvFD: fd, csvBytes: state.csvBytes, statesFile: state.statesFile)
        // Directories written before README.txt existed get it now (an existing one is kept).
        try RunDirectoryReadme.writeIfMissing(in: path, layout: layout, chains: state.chains, stateSize: state.stateSize, target: target(of: params))
        let summary = try? reader.json("summary.json")
        return (output, RunDirectory.Contents(params: params, summary: summary, record: record, states: states, stateSize: state.stateSize,
                                              trajectoryIndex: state.trajectoryIndex, seed: state.seed))
    }

    // MARK: Writing

    /// The target in a params.json (nil when it holds none l2hmc-run can describe).
    private static func target(of params: JSONValue) -> Target? {
        guard case let .object(o) = params, let t = o["target"] else { return nil }
        return try? ManifestCodec.decodeTarget(t, path: "target")
    }

    private func appendCSV(_ bytes: [UInt8]) throws {
        var done = 0
        try bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = pwrite(csvFD, raw.baseAddress! + done, raw.count - done, off_t(csvBytes + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw InferenceError.io(path: "\(path)/observables.csv", reason: "write failed (\(SystemError.text))")
                }
                done += n
            }
        }
        csvBytes += bytes.count
    }

    private func put(_ value: JSONValue, _ name: String) throws {
        try RunOutput.put(value, name, in: path)
    }

    private func put(_ bytes: [UInt8], _ name: String) throws {
        do { try AtomicFile.write(bytes, to: "\(path)/\(name)") } catch { throw InferenceError.io(path: "\(path)/\(name)", reason: "\(error)") }
    }

    private static func put(_ value: JSONValue, _ name: String, in directory: String) throws {
        let bytes: [UInt8]
        do { bytes = try CanonicalJSONWriter.encode(value) } catch { throw InferenceError.io(path: "\(directory)/\(name)", reason: "JSON: \(error)") }
        do { try AtomicFile.write(bytes, to: "\(directory)/\(name)") } catch { throw InferenceError.io(path: "\(directory)/\(name)", reason: "\(error)") }
    }
}
