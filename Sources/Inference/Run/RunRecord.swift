/// Per-trajectory, per-chain observables of a run, indexed [trajectory][chain].
public struct RunRecord: Sendable, Equatable {
    public var sampler: [Schedule.Kind] = []
    public var acceptProbability: [[Double]] = []
    public var accepted: [[Bool]] = []
    public var energyChange: [[Double]] = []
    /// H at the start of each trajectory (H after the proposal is energyBefore + energyChange).
    public var energyBefore: [[Double]] = []
    public var logDet: [[Double]] = []
    /// U(1): mean cos phi_P, integer charge, sin charge.
    public var plaquette: [[Double]] = []
    public var qInt: [[Double]] = []
    public var qSin: [[Double]] = []
    /// Mixtures: positions [trajectory][chain][dimension] flattened per chain, and the mode index.
    public var position: [[[Double]]] = []
    public var mode: [[Int]] = []

    public init() {}

    public var count: Int { sampler.count }

    /// Series of one chain-indexed observable transposed to [chain][trajectory], from `start`.
    static func byChain(_ values: [[Double]], from start: Int) -> [[Double]] {
        guard start < values.count, let chains = values.first?.count else { return [] }
        return (0..<chains).map { c in values[start...].map { $0[c] } }
    }

    /// Appends the records of `other` (a resumed continuation).
    public mutating func append(_ other: RunRecord) {
        sampler += other.sampler; acceptProbability += other.acceptProbability; accepted += other.accepted
        energyChange += other.energyChange; energyBefore += other.energyBefore; logDet += other.logDet; plaquette += other.plaquette
        qInt += other.qInt; qSin += other.qSin; position += other.position; mode += other.mode
    }
}
