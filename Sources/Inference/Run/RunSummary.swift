import Foundation
import ModelFormat

/// Statistics of a run after the thermalization cut: means with honest errors (the larger of the
/// error from the integrated autocorrelation time, FFT autocorrelation averaged over chains with
/// Sokal's window c = 5, and, with at least 8 chains, the error from the scatter of the chain
/// means; see ``MeanEstimate``), exact values and z-scores, and an equilibration verdict
/// (``Equilibration``: drift between the halves of the kept data of every quantity, and for a
/// target with a topological charge the fraction of chains whose Q never changed).
///
/// The quantities are the target's ``TargetAction/estimators`` in order; the topology lines
/// come from an observable with role `.topologicalCharge`, the mode lines from one with role
/// `.modeIndex` (nothing here depends on the concrete target type).
public struct RunSummary: Sendable {
    /// One estimated quantity, optionally with its exact value.
    public struct Quantity: Sendable {
        public let name: String
        public let estimate: MeanEstimate
        public let exact: Double?
        public var zScore: Double? { exact.map { estimate.zScore(exact: $0) } }
        /// The z-score as evidence (``ZScore``): undefined, with the reason, when the error is
        /// zero or a number is not finite; nil without an exact value.
        public var zTest: ZScore? { exact.map { ZScore(name: name, estimate: estimate, exact: $0) } }
    }

    public let trajectoriesUsed: Int
    public let trajectoriesDropped: Int
    public let chains: Int
    public var quantities: [Quantity] = []
    /// Acceptance probability by sampler kind (mean over chains and trajectories used).
    public var acceptance: [Schedule.Kind: Double] = [:]
    public var trajectoriesBySampler: [Schedule.Kind: Int] = [:]
    /// <exp(-dH + logdet)> over accepted-or-not proposals: 1 for an exact kernel (a sanity check).
    public var meanBoltzmannFactor: Double = .nan
    /// With a topological charge (U(1)): tunneling rate of Q_int and tau_int of Q_int and of the
    /// quantity named "plaquette".
    public var tunneling: TunnelingRate?
    public var tauQ: Double?
    public var tauPlaquette: Double?
    /// With a mode index (mixtures): mode-switch rate per trajectory and the fraction of samples whose most
    /// responsible component is each mode.
    public var modeSwitchRate: Double?
    public var occupancy: [Double]?
    /// The stationarity diagnostic of the kept data: one drift per quantity (in the order of
    /// `quantities`, those with at least 4 kept trajectories) and, for U(1), the frozen-charge
    /// count. Nil when fewer than 2 trajectories were kept (nothing is estimated then).
    public var equilibration: Equilibration?

    public init(record: RunRecord, target: TargetAction, thermalization: Double) {
        let total = record.count
        let start = Thermalization.droppedCount(count: total, fraction: thermalization)
        trajectoriesUsed = total - start
        trajectoriesDropped = start
        chains = record.acceptProbability.first?.count ?? 0
        guard total - start >= 2 else { return }
        var drifts: [Equilibration.Drift] = []
        var frozen: FrozenCharge?
        defer { equilibration = Equilibration(drifts: drifts, frozenCharge: frozen) }
        /// Appends a quantity estimated from `series[chain][trajectory]` and its half-to-half drift.
        func add(_ name: String, _ series: [[Double]], exact: Double?) {
            quantities.append(Quantity(name: name, estimate: MeanEstimate.estimate(chains: series), exact: exact))
            if let d = HalfDrift.measure(chains: series) { drifts.append(Equilibration.Drift(name: name, drift: d)) }
        }
        for kind in Schedule.Kind.allCases {
            let rows = (start..<total).filter { record.sampler[$0] == kind }
            guard !rows.isEmpty else { continue }
            trajectoriesBySampler[kind] = rows.count
            acceptance[kind] = rows.reduce(0) { $0 + record.acceptProbability[$1].reduce(0, +) } / Double(rows.count * chains)
        }
        var boltzmann = 0.0
        for t in start..<total { for c in 0..<chains { boltzmann += exp(min(700, -record.energyChange[t][c] + record.logDet[t][c])) } }
        meanBoltzmannFactor = boltzmann / Double((total - start) * chains)

        // The action's quantities, by name, from the recorded observables.
        var table: ObservationTable?
        for estimator in target.estimators {
            let series = estimator.series(record, from: start, chains: chains) {
                if let table { return table }
                let made = ObservationTable(record)
                table = made
                return made
            }
            add(estimator.name, series, exact: estimator.exact)
        }
        // What the observables' roles add: topology for a charge, occupancy for a mode index.
        for o in target.observables {
            switch o.role {
            case .plain: break
            case .topologicalCharge:
                let charges = RunRecord.byChain(record.series(o.name), from: start)
                tunneling = TunnelingRate.measure(charges: charges)
                frozen = FrozenCharge.measure(charges: charges)
                tauQ = Autocorrelation.integratedTime(rho: Autocorrelation.normalizedAveraged(charges)).tau
                tauPlaquette = quantities.first { $0.name == "plaquette" }?.estimate.tauInt
            case let .modeIndex(modes):
                let series = record.series(o.name)
                var occupancy = [Double](repeating: 0, count: modes)
                var switches = 0
                for t in start..<total {
                    for c in 0..<chains {
                        let m = Int(series[t][c])
                        if m >= 0 && m < modes { occupancy[m] += 1 }
                        if t > start && series[t][c] != series[t - 1][c] { switches += 1 }
                    }
                }
                self.occupancy = occupancy.map { $0 / Double((total - start) * chains) }
                modeSwitchRate = Double(switches) / Double(max(1, (total - start - 1) * chains))
            }
        }
    }
}
