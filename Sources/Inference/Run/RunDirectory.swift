import Foundation
import ModelFormat

/// The output directory of a run (`l2hmc-run --out DIR`), version 2: written while the run goes,
/// so that a kill at any moment loses at most the work since the last checkpoint.
///
/// Files (every one is written by ``RunOutput``; nothing else may be in the directory for
/// `--force` to replace it):
/// - `params.json`: settings and provenance (written once, rewritten when a resume raises the
///   trajectory total);
/// - `state.json`: **the commit point**, replaced atomically at each checkpoint: the format
///   `l2hmc-run-state 2`, the number of trajectories committed, the seed, chains, state size,
///   the name of the states file and the committed length of `observables.csv`;
/// - `states-NNNNNNNNNN.npy` [chains, n]: the chain states after that many trajectories;
/// - the record, one growing `.npy` per series, [trajectories, chains] (see
///   ``GrowingNpyFile``): `sampler` (uint8 [trajectories]; 0 l2hmc, 1 hmc), `accept_prob`,
///   `accepted` (bool), `energy_before`, `energy_change`, `log_det`, and one `<name>.npy` per
///   observable of the target's ``Layout`` ([trajectories, chains] + the observable's shape):
///   `plaquette`, `q_int`, `q_sin` for U(1), `position` [trajectories, chains, d] and `mode`
///   (int32) for mixtures.
///   Their headers state the committed count; rows beyond it (written before a kill) are cut
///   off by `--resume`;
/// - `observables.csv`: one row per trajectory and chain, appended at each checkpoint;
/// - `summary.json` and `final_states.npy`: written when a run ends (also when interrupted);
/// - `ensemble.h5` (with `--save-configs`): the saved configurations, written by l2hmc-run's
///   Ensemble library in step with the checkpoints (HDF5, so not by this library).
/// - `README.txt`: what every file holds (``RunDirectoryReadme``), written when the directory is
///   created (or by the first `--resume` of a directory without it), never replaced.
public enum RunDirectory {
    public static let stateFormat = "l2hmc-run-state 2"

    /// What is in a directory after its last checkpoint.
    public struct Contents {
        public var params: JSONValue
        public var summary: JSONValue?
        public var record: RunRecord
        public var states: [Double]
        public var stateSize: Int
        public var trajectoryIndex: Int
        public var seed: UInt64
        public init(params: JSONValue, summary: JSONValue?, record: RunRecord, states: [Double], stateSize: Int, trajectoryIndex: Int, seed: UInt64) {
            self.params = params; self.summary = summary; self.record = record; self.states = states
            self.stateSize = stateSize; self.trajectoryIndex = trajectoryIndex; self.seed = seed
        }
    }

    /// Which observables a run records (``TargetAction/observables``): one `<name>.npy` and
    /// the `csvColumns` of `observables.csv` each, in this order.
    public struct Layout: Equatable, Sendable {
        public let observables: [Observable]

        public init(observables: [Observable]) { self.observables = observables }

        /// The layout of an action's run.
        public init(_ action: TargetAction) { self.init(observables: action.observables) }

        /// The layout of a model format target (without building its action).
        public init(_ target: Target) {
            switch target {
            case .u1: self = .u1
            case let .gaussianMixture(g): self = .mixture(dimension: g.dimension, modes: g.weights.count)
            }
        }

        /// U(1): `plaquette`, `q_int`, `q_sin`.
        public static var u1: Layout { Layout(observables: U1Action.recordedObservables) }

        /// Mixtures: `position` [d] and `mode` (int32).
        public static func mixture(dimension: Int, modes: Int = 2) -> Layout {
            Layout(observables: MixtureAction.recordedObservables(dimension: dimension, modes: modes))
        }

        /// Same files and columns: names, shapes, storage and CSV form.
        public static func == (a: Layout, b: Layout) -> Bool {
            a.observables.map(\.name) == b.observables.map(\.name) && a.observables.map(\.shape) == b.observables.map(\.shape)
                && a.observables.map(\.storage) == b.observables.map(\.storage) && a.observables.map(\.csvColumns) == b.observables.map(\.csvColumns)
                && a.observables.map(\.csvInteger) == b.observables.map(\.csvInteger)
        }
    }

    /// The names l2hmc-run writes into a run directory (recognised by `--force`): those of every
    /// U(1) and mixture run.
    public static let ownership = ownership(adding: nil)

    /// The names a run directory of `layout` holds, besides those of ``ownership`` (a target
    /// l2hmc-run does not know writes its own `<name>.npy` files).
    public static func ownership(adding layout: Layout?) -> OutputDirectory.Ownership {
        let extra = Set((layout?.observables ?? []).map { $0.name + ".npy" })
        return OutputDirectory.Ownership(
            tool: "l2hmc-run",
            hasMarker: { directory in
                guard let bytes = try? AtomicFile.read("\(directory)/state.json", limit: 1 << 16),
                      case let .object(o)? = try? StrictJSONParser.parse(bytes), case let .string(format)? = o["format"] else { return false }
                return format == stateFormat || format == RunDirectoryV1.stateFormat
            },
            isOwnEntry: { name in
                let files: Set<String> = ["params.json", "state.json", "summary.json", "observables.csv", "final_states.npy", "report.html", "ensemble.h5",
                                          RunDirectoryReadme.fileName]
                let series = bookkeepingNames.union((Layout.u1.observables + Layout.mixture(dimension: 1, modes: 1).observables).map(\.name))
                if files.contains(name) || extra.contains(name) { return true }
                if name.hasSuffix(".npy"), series.contains(String(name.dropLast(4))) { return true }
                if isStatesFile(name) { return true }
                // AtomicFile's temporary names: ".<name>.tmp-<pid>-<random>".
                return name.hasPrefix(".") && name.contains(".tmp-")
            })
    }

    /// `states-` + 10 digits + `.npy`.
    static func statesFileName(_ index: Int) -> String {
        let digits = String(index)
        return "states-" + String(repeating: "0", count: max(0, 10 - digits.count)) + digits + ".npy"
    }

    static func isStatesFile(_ name: String) -> Bool {
        guard name.hasPrefix("states-"), name.hasSuffix(".npy") else { return false }
        let middle = name.dropFirst(7).dropLast(4)
        return middle.count >= 10 && middle.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Reads a whole version-1 directory (its continuation is written as version 2).
    public static func readVersion1(_ path: String) throws -> Contents { try RunDirectoryV1.read(path) }

    /// Whether `path` holds a version-1 directory (resumed by copying it forward).
    public static func isVersion1(_ path: String) -> Bool {
        guard let bytes = try? AtomicFile.read("\(path)/state.json", limit: 1 << 16),
              case let .object(o)? = try? StrictJSONParser.parse(bytes) else { return false }
        return o["format"] == .string(RunDirectoryV1.stateFormat)
    }

    /// One recorded series: its file, element type, the shape of one trajectory's row, and the
    /// observable it holds (nil for the sampler's bookkeeping series).
    struct Column {
        let name: String
        let dtype: DType
        let rowShape: [Int]
        var observable: Observable? = nil
    }

    /// The bookkeeping series every run records, whatever its target.
    static let bookkeepingNames: Set<String> = ["sampler", "accept_prob", "accepted", "energy_change", "energy_before", "log_det"]

    static func columns(layout: Layout, chains: Int) -> [Column] {
        var c = [Column(name: "sampler", dtype: .uint8, rowShape: []),
                 Column(name: "accept_prob", dtype: .float64, rowShape: [chains]),
                 Column(name: "accepted", dtype: .bool, rowShape: [chains]),
                 Column(name: "energy_change", dtype: .float64, rowShape: [chains]),
                 Column(name: "energy_before", dtype: .float64, rowShape: [chains]),
                 Column(name: "log_det", dtype: .float64, rowShape: [chains])]
        for o in layout.observables {
            c.append(Column(name: o.name, dtype: o.storage == .int32 ? .int32 : .float64, rowShape: [chains] + o.shape, observable: o))
        }
        return c
    }

    /// Little-endian bytes of trajectories `range` of one column.
    static func rows(_ column: Column, of r: RunRecord, _ range: Range<Int>) -> [UInt8] {
        var out: [UInt8] = []
        func doubles(_ v: [Double]) { v.withUnsafeBytes { out += $0 } }
        if let o = column.observable {
            let series = r.series(o.name)
            for t in range {
                switch o.storage {
                // Integer observables (charges) never keep a -0.0, also in rows read from older
                // directories (a version-1 continuation rewrites them).
                case .float64: doubles(o.csvInteger ? series[t].map(positiveZero) : series[t])
                case .int32: series[t].map { Int32($0) }.withUnsafeBytes { out += $0 }
                }
            }
            return out
        }
        for t in range {
            switch column.name {
            case "sampler": out.append(r.sampler[t].code)
            case "accept_prob": doubles(r.acceptProbability[t])
            case "accepted": out += r.accepted[t].map { $0 ? 1 : 0 }
            case "energy_change": doubles(r.energyChange[t])
            case "energy_before": doubles(r.energyBefore[t])
            case "log_det": doubles(r.logDet[t])
            default: break  // columns(layout:chains:) makes no other bookkeeping column
            }
        }
        return out
    }

    /// `x` with -0.0 replaced by +0.0 (every other value unchanged, NaN included).
    @inline(__always)
    public static func positiveZero(_ x: Double) -> Double { x == 0 ? 0 : x }

    /// CSV header line of a layout.
    static func csvHeader(_ layout: Layout) -> String {
        "trajectory,chain,sampler,accept_prob,accepted,energy_change,log_det"
            + layout.observables.map { "," + $0.csvColumns.joined(separator: ",") }.joined() + "\n"
    }

    /// CSV rows of trajectories `range`, one per trajectory and chain, numbers with 17
    /// significant digits (integer observables as integers).
    static func csvRows(_ r: RunRecord, layout: Layout, _ range: Range<Int>) -> [UInt8] {
        var out = ""
        let series = layout.observables.map { (observable: $0, rows: r.series($0.name)) }
        for t in range {
            for c in 0..<r.acceptProbability[t].count {
                out += "\(t),\(c),\(r.sampler[t].rawValue),\(g(r.acceptProbability[t][c])),\(r.accepted[t][c] ? 1 : 0),\(g(r.energyChange[t][c])),\(g(r.logDet[t][c]))"
                for (o, rows) in series {
                    let w = o.width, row = rows[t]
                    for i in (c * w)..<((c + 1) * w) { out += o.csvInteger ? ",\(Int(row[i]))" : "," + g(row[i]) }
                }
                out += "\n"
            }
        }
        return Array(out.utf8)
    }

    private static func g(_ x: Double) -> String { String(format: "%.17g", x) }
}
