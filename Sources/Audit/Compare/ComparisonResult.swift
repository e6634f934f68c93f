import Foundation

/// The rows of a comparison, the best HMC setting per measure and the gains of the model (and
/// of the model with its networks off) over it, with one verdict line each.
///
/// **Best HMC** for a measure: among the HMC rows whose tau_int(Q) is usable
/// (``ChargeAutocorrelationTime/usable``), the one with the smallest `tau_int(Q) x unit`
/// (``ComparisonRow/cost(_:)``); the first in row order on a tie; none when no HMC row is
/// usable. Rows whose window did not converge are left out because their tau_int is only a
/// lower bound (they would win by being too short). The minimum of noisy costs is biased low,
/// which favours HMC: a gain of the model survives it.
public struct ComparisonResult: Sendable {
    public let rows: [ComparisonRow]
    /// Index into `rows` of the best HMC setting per measure (absent: none usable).
    public let best: [CostMeasure: Int]
    /// Gain over the best HMC per measure, for the model and networks-off rows whose tau_int is
    /// usable (``CostGain``; absent otherwise: a lower bound of tau_int ranks nothing).
    public let gains: [ComparisonRow.Kind: [CostMeasure: CostGain]]

    public init(rows: [ComparisonRow]) {
        self.rows = rows
        var best: [CostMeasure: Int] = [:]
        for m in CostMeasure.allCases {
            if let i = Self.bestIndex(rows.map { ($0.kind == .hmc && $0.tau.usable, $0.cost(m)) }) { best[m] = i }
        }
        self.best = best
        var gains: [ComparisonRow.Kind: [CostMeasure: CostGain]] = [:]
        for row in rows where row.kind != .hmc && row.tau.usable {
            var g: [CostMeasure: CostGain] = [:]
            for (m, i) in best {
                let r = rows[i]
                g[m] = CostGain.of(candidate: (row.tau.tau, row.tau.error, row.unit(m)), over: (r.tau.tau, r.tau.error, r.unit(m)))
            }
            gains[row.kind] = g
        }
        self.gains = gains
    }

    /// Where the best HMC setting of `measure` lies on the edge of the grid, as phrases
    /// ("the longest trajectory of its step size", "the smallest step size", "the largest step
    /// size"): a setting beyond the grid may then do better (empty: inside, or no best).
    public func edges(_ measure: CostMeasure) -> [String] {
        guard let i = best[measure] else { return [] }
        let b = rows[i], hmc = rows.filter { $0.kind == .hmc }
        var out: [String] = []
        if !hmc.contains(where: { $0.stepSize == b.stepSize && $0.steps > b.steps }) { out.append("the longest trajectory of its step size") }
        let sizes = Set(hmc.map(\.stepSize))
        if sizes.count > 1 && b.stepSize == sizes.min() { out.append("the smallest step size") }
        if sizes.count > 1 && b.stepSize == sizes.max() { out.append("the largest step size") }
        return out
    }

    /// The index of the smallest finite cost among the eligible entries (the first on a tie).
    public static func bestIndex(_ entries: [(eligible: Bool, cost: Double)]) -> Int? {
        var best: Int?
        for (i, e) in entries.enumerated() where e.eligible && e.cost.isFinite {
            if let b = best, entries[b].cost <= e.cost { continue }
            best = i
        }
        return best
    }

    /// The one-line verdict of the row of `kind` ("the model gains 1.5x +- 0.3 per force
    /// evaluation, loses 11.6x +- 2.1 per CPU-second and ties (1.02x +- 0.2) per trajectory
    /// against the best HMC"), INCONCLUSIVE with the reason when its tau_int or every HMC
    /// row's is not usable; nil when there is no such row.
    public func verdict(_ kind: ComparisonRow.Kind) -> String? {
        guard let row = rows.first(where: { $0.kind == kind }) else { return nil }
        let name = kind == .model ? "the model" : "the model with its networks off"
        if let p = row.tau.problem { return "\(name): INCONCLUSIVE: \(p)" }
        guard let g = gains[kind], !g.isEmpty else {
            return "\(name): INCONCLUSIVE: no HMC setting has a usable tau_int(Q) (first HMC row: \(rows.first { $0.kind == .hmc }?.tau.problem ?? "none"))"
        }
        let order: [CostMeasure] = [.forceEvaluation, .cpuSecond, .trajectory]
        let parts = order.compactMap { m in g[m].map { "\($0.phrase) \(m.phrase)" } }
        let joined = parts.count > 1 ? parts.dropLast().joined(separator: ", ") + " and " + (parts.last ?? "") : parts.joined()
        return "\(name) \(joined) against the best HMC"
    }
}
