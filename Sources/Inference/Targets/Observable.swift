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

    public init(name: String, shape: [Int] = [], storage: Storage = .float64, csvColumns: [String]? = nil, csvInteger: Bool = false,
                role: Role = .plain, exact: Double? = nil, domainDescription: String = "finite", domain: @escaping @Sendable (Double) -> Bool = { $0.isFinite }) {
        self.name = name; self.shape = shape; self.storage = storage
        let width = shape.reduce(1, *)
        self.csvColumns = csvColumns ?? (shape.isEmpty ? [name] : (0..<width).map { "\(name)\($0)" })
        self.csvInteger = csvInteger || storage == .int32
        self.role = role; self.exact = exact; self.domain = domain; self.domainDescription = domainDescription
    }

    /// Values per chain and configuration.
    public var width: Int { shape.reduce(1, *) }
}

/// One quantity the run summary estimates: a per-sample value computed from the recorded
/// observables of one chain at one trajectory, and its exact expectation when known.
public struct Estimator {
    public let name: String
    public let exact: Double?
    public let value: (ObservationSample) -> Double

    public init(name: String, exact: Double?, value: @escaping (ObservationSample) -> Double) {
        self.name = name; self.exact = exact; self.value = value
    }
}

/// The recorded observables of one chain at one trajectory (read access for an ``Estimator``).
public struct ObservationSample {
    let table: ObservationTable
    let trajectory: Int
    let chain: Int

    /// The values of observable `name` (its `width` values); empty when it was not recorded.
    public subscript(_ name: String) -> ArraySlice<Double> {
        guard let series = table.series[name], trajectory < series.count else { return [] }
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
    let series: [String: [[Double]]]
    let chains: Int
    init(_ record: RunRecord) {
        series = record.observables
        chains = max(1, record.acceptProbability.first?.count ?? 1)
    }
}
