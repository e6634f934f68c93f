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
    /// When no HMC row is usable (every HMC tau_int(Q) is then only a lower bound: its window
    /// did not converge or its chains froze), a lower bound of the gain per measure for the
    /// model and networks-off rows whose own tau_int is usable:
    /// `min over HMC rows (tau_hmc unit_hmc) / ((tau + 2 error) unit)`, the HMC times taken
    /// as they are (lower bounds) and the candidate's at its two-sigma upper end. Empty when
    /// some HMC row is usable (``gains`` applies) or the candidate's tau_int is not usable.
    public let gainBounds: [ComparisonRow.Kind: [CostMeasure: Double]]

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
        var bounds: [ComparisonRow.Kind: [CostMeasure: Double]] = [:]
        let hmcTimes = rows.filter { $0.kind == .hmc && $0.tau.tau.isFinite && $0.tau.tau > 0 }
        if best.isEmpty && !hmcTimes.isEmpty {
            for row in rows where row.kind != .hmc && row.tau.usable {
                var b: [CostMeasure: Double] = [:]
                for m in CostMeasure.allCases {
                    if let cheapest = hmcTimes.map({ $0.cost(m) }).min() {
                        b[m] = cheapest / ((row.tau.tau + 2 * row.tau.error) * row.unit(m))
                    }
                }
                bounds[row.kind] = b
            }
        }
        self.gainBounds = bounds
    }

    /// The share of a row's CPU time not spent on its force evaluations (for the model: its
    /// networks, their features and the learned updates), with the force priced at HMC's CPU
    /// time per force evaluation in the HMC row with the most forces per trajectory (where the
    /// per-trajectory measurements weigh least):
    /// `1 - forces * (cpu_hmc / forces_hmc) / cpu`. Timing noise can make it slightly
    /// negative for a row that is all force; nil without an HMC row or with zero times.
    public func nonForceShare(_ kind: ComparisonRow.Kind) -> Double? {
        guard let row = rows.first(where: { $0.kind == kind }), row.cpuSecondsPerTrajectory > 0,
              let ref = rows.filter({ $0.kind == .hmc && $0.forcesPerTrajectory > 0 && $0.cpuSecondsPerTrajectory > 0 })
                .max(by: { $0.forcesPerTrajectory < $1.forcesPerTrajectory }) else { return nil }
        return 1 - row.forcesPerTrajectory * (ref.cpuSecondsPerTrajectory / ref.forcesPerTrajectory) / row.cpuSecondsPerTrajectory
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

    /// "a", "a and b", "a, b and c".
    static func listed(_ parts: [String]) -> String {
        parts.count > 1 ? parts.dropLast().joined(separator: ", ") + " and " + (parts.last ?? "") : parts.joined()
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
    /// row's is not usable, unless some ``gainBounds`` entry is at least 1: then "gains at
    /// least ..." per measure from the bounds; nil when there is no such row.
    public func verdict(_ kind: ComparisonRow.Kind) -> String? {
        guard let row = rows.first(where: { $0.kind == kind }) else { return nil }
        let name = kind == .model ? "the model" : "the model with its networks off"
        if let p = row.tau.problem { return "\(name): INCONCLUSIVE: \(p)" }
        let order: [CostMeasure] = [.forceEvaluation, .cpuSecond, .trajectory]
        if let b = gainBounds[kind], b.values.contains(where: { $0 >= 1 }) {
            let parts = order.compactMap { m in b[m].map { x in
                x >= 1 ? "gains at least \(String(format: "%.3g", x))x \(m.phrase)" : "INCONCLUSIVE \(m.phrase) (bound \(String(format: "%.3g", x))x)" } }
            return "\(name) \(Self.listed(parts)) against HMC (bounds: no HMC setting has a usable tau_int(Q), so each is taken at its lower bound, the model's at its 2-sigma upper end)"
        }
        guard let g = gains[kind], !g.isEmpty else {
            return "\(name): INCONCLUSIVE: no HMC setting has a usable tau_int(Q) (first HMC row: \(rows.first { $0.kind == .hmc }?.tau.problem ?? "none"))"
        }
        let parts = order.compactMap { m in g[m].map { "\($0.phrase) \(m.phrase)" } }
        return "\(name) \(Self.listed(parts)) against the best HMC"
    }
}
