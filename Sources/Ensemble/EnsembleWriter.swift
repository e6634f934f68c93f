import Foundation
import HDF5Kit
import Inference
import ModelFormat
#if canImport(Glibc)
import Glibc
#endif

/// Writes the configurations of a run to `ensemble.h5` (layout: ``EnsembleHeader``), in step
/// with the run directory's checkpoints.
///
/// Contract:
/// - ``add(trajectory:states:)`` keeps a saved trajectory's configurations in memory;
///   ``flush()`` appends everything kept to the file, closes it (HDF5 flushes its buffers) and
///   fsyncs it. The run calls ``flush()`` before each checkpoint commit, so every committed
///   trajectory's configurations are on disk before `state.json` says they are done.
/// - The file is open only inside ``flush()``; between flushes it is closed and complete, so
///   h5py can read it while the run goes, and a kill outside a flush cannot damage it.
/// - ``resume(path:header:committed:)`` cuts rows saved after the last commit (written before a
///   kill or a stop), so the ensemble holds exactly the trajectories `every, 2 every, ...` up to
///   the committed count: no duplicates, no gaps.
/// - Angles are stored as the run holds them, passed through ``Angles/wrap(_:)`` (which leaves
///   values already in [-pi, pi) unchanged bit for bit).
public final class EnsembleWriter {
    public let path: String
    public let header: EnsembleHeader
    /// Rows in the file (after the last flush).
    public private(set) var written: Int
    private var pendingConfigs: [Double] = []
    private var pendingTrajectories: [Int64] = []

    private init(path: String, header: EnsembleHeader, written: Int) {
        self.path = path; self.header = header; self.written = written
    }

    /// Chunks of about 1 MiB (at least one configuration of all chains per chunk).
    static func chunkRows(_ header: EnsembleHeader) -> Int {
        max(1, (1 << 20) / max(1, header.chains * header.linkCount * 8))
    }

    /// Creates an empty ensemble at `path` (appears whole: written under a temporary name and
    /// linked into place; an existing file is refused).
    public static func create(path: String, header: EnsembleHeader) throws -> EnsembleWriter {
        do {
            try HDF5Atomic.write(to: path, replaceExisting: false) { file in
                try header.write(to: file)
                try file.createExtendibleDataset("configs", dtype: .float64, rowShape: [header.chains, header.linkCount], chunkRows: chunkRows(header))
                try file.createExtendibleDataset("trajectory", dtype: .int64, rowShape: [], chunkRows: 1024)
            }
        } catch { throw EnsembleError.wrap(error, path: path) }
        return EnsembleWriter(path: path, header: header, written: 0)
    }

    /// Reopens the ensemble of a run directory being resumed after `committed` trajectories:
    /// checks it against `header`, requires the rows of every saved trajectory up to `committed`
    /// and cuts any row beyond them. A missing file is created when no row is required yet (a
    /// kill between the directory's creation and the ensemble's).
    public static func resume(path: String, header: EnsembleHeader, committed: Int) throws -> EnsembleWriter {
        let required = committed / header.every
        if !FileManager.default.fileExists(atPath: path) && required == 0 { return try create(path: path, header: header) }
        let reader = try EnsembleReader(path: path)
        defer { reader.close() }
        guard reader.header == header else {
            throw EnsembleError.inconsistent(path: path, reason: "its attributes (\(describe(reader.header))) differ from the run's (\(describe(header)))")
        }
        guard reader.count >= required else {
            throw EnsembleError.inconsistent(path: path, reason: "holds \(reader.count) configurations, but the run directory committed \(committed) trajectories, which saved \(required) (every \(header.every)); the ensemble lost rows and cannot continue")
        }
        reader.close()
        if reader.count > required {
            do {
                let file = try HDF5File.openForUpdate(path)
                try file.setRowCount("configs", required)
                try file.setRowCount("trajectory", required)
                try file.close()
                try fsyncFile(path)
            } catch { throw EnsembleError.wrap(error, path: path) }
        }
        return EnsembleWriter(path: path, header: header, written: required)
    }

    /// A copy of the first rows of `source` up to `committed` trajectories, as a new ensemble
    /// at `path` (`--resume OLD --out NEW`).
    public static func copy(from source: String, to path: String, header: EnsembleHeader, committed: Int) throws -> EnsembleWriter {
        let required = committed / header.every
        let writer = try create(path: path, header: header)
        guard required > 0 else { return writer }
        let reader = try EnsembleReader(path: source)
        defer { reader.close() }
        guard reader.header == header, reader.count >= required else {
            throw EnsembleError.inconsistent(path: source, reason: "does not hold the \(required) configurations of the \(committed) committed trajectories of this run")
        }
        let block = max(1, chunkRows(header))
        var row = 0
        while row < required {
            let range = row..<min(required, row + block)
            let values = try reader.configurations(range)
            for (i, r) in range.enumerated() {
                let per = header.chains * header.linkCount
                writer.pendingConfigs += values[(i * per)..<((i + 1) * per)]
                writer.pendingTrajectories.append(Int64(reader.trajectories[r]))
            }
            try writer.flush()
            row = range.upperBound
        }
        return writer
    }

    /// Keeps the states after `trajectory` (1-based, a multiple of `every`) for the next flush.
    public func add(trajectory: Int, states: [Double]) throws {
        let expected = written + pendingTrajectories.count + 1
        guard trajectory == expected * header.every, states.count == header.chains * header.linkCount else {
            throw EnsembleError.inconsistent(path: path, reason: "configurations after trajectory \(trajectory) (\(states.count) values) do not continue the ensemble (next: trajectory \(expected * header.every), \(header.chains * header.linkCount) values)")
        }
        pendingConfigs.reserveCapacity(pendingConfigs.count + states.count)
        for v in states { pendingConfigs.append(Angles.wrap(v)) }
        pendingTrajectories.append(Int64(trajectory))
    }

    /// Rows kept in memory, not yet in the file.
    public var pending: Int { pendingTrajectories.count }

    /// Appends the kept rows, closes and fsyncs the file. Nothing to do without kept rows.
    public func flush() throws {
        guard !pendingTrajectories.isEmpty else { return }
        do {
            let file = try HDF5File.openForUpdate(path)
            do {
                let rows = try file.appendRows("configs", doubles: pendingConfigs)
                let t = try file.appendRows("trajectory", int64s: pendingTrajectories)
                guard rows == t, rows == written + pendingTrajectories.count else {
                    throw EnsembleError.inconsistent(path: path, reason: "after appending, configs has \(rows) rows and trajectory \(t), expected \(written + pendingTrajectories.count)")
                }
            } catch {
                try? file.close()
                throw error
            }
            try file.close()
            try Self.fsyncFile(path)
        } catch { throw EnsembleError.wrap(error, path: path) }
        written += pendingTrajectories.count
        pendingConfigs = []
        pendingTrajectories = []
    }

    private static func fsyncFile(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EnsembleError.io(path: path, reason: "cannot open for fsync (errno \(errno))") }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw EnsembleError.io(path: path, reason: "fsync failed (errno \(errno))") }
    }

    private static func describe(_ h: EnsembleHeader) -> String {
        "\(h.lattice.lt)x\(h.lattice.lx), beta \(h.lattice.beta), \(h.lattice.linkLayout.rawValue), seed \(h.seed), every \(h.every), model \(h.model.prefix(16)), \(h.chains) chains"
    }
}

extension EnsembleWriter {
    /// Bytes of configurations kept in memory.
    public var pendingBytes: Int { pending * header.chains * header.linkCount * 8 }
}
