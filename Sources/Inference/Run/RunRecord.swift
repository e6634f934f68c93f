/// Per-trajectory, per-chain record of a run, indexed [trajectory][chain]: the sampler's
/// bookkeeping series (fixed for every target) and one series per observable of the target
/// (``TargetAction/observables``), keyed by the observable's name.
public struct RunRecord: Sendable, Equatable {
    public var sampler: [Schedule.Kind] = []
    public var acceptProbability: [[Double]] = []
    public var accepted: [[Bool]] = []
    public var energyChange: [[Double]] = []
    /// H at the start of each trajectory (H after the proposal is energyBefore + energyChange).
    public var energyBefore: [[Double]] = []
    public var logDet: [[Double]] = []
    /// Observable name -> [trajectory][chain * width + component] (each trajectory's row holds
    /// every chain's `width` values one after the other).
    public var observables: [String: [[Double]]] = [:]

    public init() {}

    public var count: Int { sampler.count }

    /// The series of observable `name`, [trajectory][chain * width + component] (empty if absent).
    public func series(_ name: String) -> [[Double]] { observables[name] ?? [] }

    /// Series of one chain-indexed observable transposed to [chain][trajectory], from `start`.
    static func byChain(_ values: [[Double]], from start: Int) -> [[Double]] {
        guard start < values.count, let chains = values.first?.count else { return [] }
        return (0..<chains).map { c in values[start...].map { $0[c] } }
    }

    /// Appends the records of `other` (a resumed continuation).
    public mutating func append(_ other: RunRecord) {
        sampler += other.sampler; acceptProbability += other.acceptProbability; accepted += other.accepted
        energyChange += other.energyChange; energyBefore += other.energyBefore; logDet += other.logDet
        for (name, rows) in other.observables { observables[name, default: []] += rows }
    }
}
