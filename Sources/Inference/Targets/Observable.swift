/// One per-configuration measurement a target records for every trajectory and chain, and how
/// it is stored: the run directory writes it to `<name>.npy` ([trajectories, chains] + `shape`,
/// `storage` element type) and to the `csvColumns` of `observables.csv`; a resumed run checks
/// every stored value against `domain`.
///
/// The values of one configuration are `shape.reduce(1, *)` doubles (an integer observable
/// stores integers exactly as doubles). An observable is measured on the configuration the
/// target describes: a flow sampler (x = f(z), HMC in z) wraps its target in an action over z
/// whose ``TargetAction/measure(_:rows:)`` maps z to x first, so observables stay those of x.
public struct Observable: Sendable {
    /// The element type of `<name>.npy`.
    public enum Storage: Sendable, Equatable { case float64, int32 }
    /// What the summary derives from the series beyond the means of the action's estimators.
    public enum Role: Sendable, Equatable {
        case plain
        /// An integer topological charge: tunneling rate, tau_int(Q) and frozen chains.
        case topologicalCharge
        /// The index of the most responsible of `count` modes: occupancy and switch rate.
        case modeIndex(count: Int)
    }

    /// File stem and key of the series in a ``RunRecord``: `[A-Za-z0-9_]`, not a bookkeeping name.
    public let name: String
    /// Shape of one chain's value: [] for a scalar, [d] for a vector.
    public let shape: [Int]
    public let storage: Storage
    /// Header names in `observables.csv` (one per value; default the name, or name0, name1, ...).
    public let csvColumns: [String]
    /// True when the CSV writes the value as an integer (`Int(value)`), false for %.17g.
    public let csvInteger: Bool
    public let role: Role
    /// Exact expectation of the (scalar) value when known; used by the default estimators.
    public let exact: Double?
    /// Accepted values when a saved record is read back, and their description for the error
    /// ("... is not <domainDescription>").
    public let domain: @Sendable (Double) -> Bool
    public let domainDescription: String
    /// What the value is, exactly, and its units, for the run directory's README.txt (nil: the
    /// README says only that the target records it).
    public let meaning: String?

    public init(name: String, shape: [Int] = [], storage: Storage = .float64, csvColumns: [String]? = nil, csvInteger: Bool = false,
                role: Role = .plain, exact: Double? = nil, meaning: String? = nil, domainDescription: String = "finite",
                domain: @escaping @Sendable (Double) -> Bool = { $0.isFinite }) {
        self.name = name; self.shape = shape; self.storage = storage; self.meaning = meaning
        let width = shape.reduce(1, *)
        self.csvColumns = csvColumns ?? (shape.isEmpty ? [name] : (0..<width).map { "\(name)\($0)" })
        self.csvInteger = csvInteger || storage == .int32
        self.role = role; self.exact = exact; self.domain = domain; self.domainDescription = domainDescription
    }

    /// Values per chain and configuration.
    public var width: Int { shape.reduce(1, *) }
}

/// One quantity the run summary estimates, and its exact expectation when known: either a
/// function of one component of one observable (fast: the summary reads the series directly),
/// or a per-sample value computed from any of the recorded observables of one chain at one
/// trajectory.
public struct Estimator {
    public enum Source {
        /// transform(value of component `index` of observable `observable`).
        case component(observable: String, index: Int, transform: (Double) -> Double)
        /// A value from the recorded observables of one chain at one trajectory.
        case sample((ObservationSample) -> Double)
    }

    public let name: String
    public let exact: Double?
    public let source: Source

    /// A function of several observables (or anything not a single component).
    public init(name: String, exact: Double?, value: @escaping (ObservationSample) -> Double) {
        self.name = name; self.exact = exact; source = .sample(value)
    }

    /// transform(component `component` of `observable`); the identity by default.
    public init(name: String, exact: Double?, observable: String, component: Int = 0, transform: @escaping (Double) -> Double = { $0 }) {
        self.name = name; self.exact = exact; source = .component(observable: observable, index: component, transform: transform)
    }

    /// The estimated series, [chain][trajectory] for trajectories `start..<record.count`.
    func series(_ record: RunRecord, from start: Int, chains: Int, table: () -> ObservationTable) -> [[Double]] {
        let total = record.count
        switch source {
        case let .component(name, index, transform):
            let rows = record.series(name)
            guard rows.count == total, chains > 0 else { return (0..<chains).map { _ in (start..<total).map { _ in .nan } } }
            let width = rows.first.map { $0.count / chains } ?? 0
            guard index < width else { return (0..<chains).map { _ in (start..<total).map { _ in .nan } } }
            return (0..<chains).map { c in (start..<total).map { transform(rows[$0][c * width + index]) } }
        case let .sample(value):
            let t = table()
            return (0..<chains).map { c in (start..<total).map { value(ObservationSample(table: t, trajectory: $0, chain: c)) } }
        }
    }
}

/// The recorded observables of one chain at one trajectory (read access for an ``Estimator``).
public struct ObservationSample {
    let table: ObservationTable
    let trajectory: Int
    let chain: Int

    /// The values of observable `name` (its `width` values); empty when it was not recorded.
    public subscript(_ name: String) -> ArraySlice<Double> {
        guard let series = table.series(name), trajectory < series.count else { return [] }
        let row = series[trajectory]
        let width = row.count / table.chains
        return row[(chain * width)..<((chain + 1) * width)]
    }

    /// The first value of observable `name` (NaN when absent).
    public func scalar(_ name: String) -> Double { self[name].first ?? .nan }
}

/// The observable series of a record, shared by every ``ObservationSample`` of a summary (one
/// reference instead of a copy of the record per sample).
final class ObservationTable {
    /// Names and series side by side: a target has a few observables, and a linear scan with
    /// string equality is cheaper per sample than hashing the name for a dictionary.
    private let names: [String]
    private let columns: [[[Double]]]
    let chains: Int
    init(_ record: RunRecord) {
        let sorted = record.observables.sorted { $0.key < $1.key }
        names = sorted.map(\.key)
        columns = sorted.map(\.value)
        chains = max(1, record.acceptProbability.first?.count ?? 1)
    }

    @inline(__always)
    func series(_ name: String) -> [[Double]]? {
        for i in names.indices where names[i] == name { return columns[i] }
        return nil
    }
}
