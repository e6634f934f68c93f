import Foundation
import HDF5Kit
import Inference
import ModelFormat

/// A saved ensemble opened for reading, checked before any configuration is read: the root
/// attributes (``EnsembleHeader``), `configs` float64 `[n, chains, 2 Lt Lx]`, `trajectory` int64
/// `[n]` holding `every, 2 every, ..., n every`. Configurations are read in blocks of rows, so an
/// ensemble larger than memory can be measured; each block is checked for finite angles in
/// [-pi, pi].
public final class EnsembleReader {
    public let path: String
    public let header: EnsembleHeader
    /// Saved configurations, n.
    public let count: Int
    /// The 1-based trajectory index of each saved row.
    public let trajectories: [Int]
    private let file: HDF5File

    public init(path: String) throws {
        self.path = path
        do { file = try HDF5File.open(path) } catch let e as HDF5Error {
            switch e {
            case .notHDF5: throw EnsembleError.notEnsemble(path: path, reason: "it is not an HDF5 file")
            default: throw EnsembleError.io(path: path, reason: e.description)
            }
        }
        header = try EnsembleHeader.read(from: file, path: path)
        let info: (configs: HDF5Object, trajectory: HDF5Object)
        do {
            guard file.exists("configs"), file.exists("trajectory") else {
                throw EnsembleError.inconsistent(path: path, reason: "the datasets configs and trajectory must both be present")
            }
            info = (try file.info("configs"), try file.info("trajectory"))
        } catch { throw EnsembleError.wrap(error, path: path) }
        guard info.configs.dtype == .float64, let shape = info.configs.shape, shape.count == 3 else {
            throw EnsembleError.inconsistent(path: path, reason: "configs must be float64 [n_saved, chains, links], found \(info.configs.typeDescription ?? "?") \(info.configs.shape ?? [])")
        }
        guard shape[1] == header.chains, shape[2] == header.linkCount else {
            throw EnsembleError.inconsistent(path: path, reason: "configs has shape \(shape), but the attributes say \(header.chains) chains of \(header.linkCount) links (2 x \(header.lattice.lt) x \(header.lattice.lx))")
        }
        guard info.trajectory.dtype == .int64, info.trajectory.shape == [shape[0]] else {
            throw EnsembleError.inconsistent(path: path, reason: "trajectory must be int64 [\(shape[0])] like the rows of configs, found \(info.trajectory.typeDescription ?? "?") \(info.trajectory.shape ?? [])")
        }
        count = shape[0]
        let t: [Int64]
        do { t = try file.readDataset("trajectory", maxElements: 1 << 31).int64s ?? [] } catch { throw EnsembleError.wrap(error, path: path) }
        let every = header.every
        if let i = t.indices.first(where: { t[$0] != Int64(every) * Int64($0 + 1) }) {
            throw EnsembleError.inconsistent(path: path, reason: "trajectory[\(i)] is \(t[i]), expected \((i + 1) * every) (every \(every) trajectories, no gaps)")
        }
        trajectories = t.map { Int($0) }
    }

    /// Rows `range` of `configs`, `[range.count * chains * links]` in C order.
    public func configurations(_ range: Range<Int>) throws -> [Double] {
        let values: [Double]
        do { values = try file.readRows("configs", range).doubles } catch { throw EnsembleError.wrap(error, path: path) }
        if let i = values.firstIndex(where: { !($0.isFinite && abs($0) <= Double.pi) }) {
            let per = header.chains * header.linkCount
            throw EnsembleError.inconsistent(path: path, reason: "configs[\(range.lowerBound + i / per)] holds \(values[i]), not an angle in [-pi, pi]")
        }
        return values
    }

    public func close() { try? file.close() }
}
