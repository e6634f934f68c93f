import Foundation
import ModelFormat

/// Statistics of a run after the thermalization cut: means with errors corrected by the
/// integrated autocorrelation time (FFT autocorrelation averaged over chains, Sokal window
/// c = 5), exact values and z-scores.
public struct RunSummary: Sendable {
    /// One estimated quantity, optionally with its exact value.
    public struct Quantity: Sendable {
        public let name: String
        public let estimate: MeanEstimate
        public let exact: Double?
        public var zScore: Double? { exact.map { estimate.zScore(exact: $0) } }
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
    /// U(1): tunneling rate of Q_int and tau_int of Q_int and of the plaquette.
    public var tunneling: TunnelingRate?
    public var tauQ: Double?
    public var tauPlaquette: Double?
    /// Mixtures: mode-switch rate per trajectory and the fraction of samples whose most
    /// responsible component is each mode.
    public var modeSwitchRate: Double?
    public var occupancy: [Double]?

    public init(record: RunRecord, target: TargetAction, thermalization: Double) {
        let total = record.count
        let start = Thermalization.droppedCount(count: total, fraction: thermalization)
        trajectoriesUsed = total - start
        trajectoriesDropped = start
        chains = record.acceptProbability.first?.count ?? 0
        guard total - start >= 2 else { return }
        for kind in Schedule.Kind.allCases {
            let rows = (start..<total).filter { record.sampler[$0] == kind }
            guard !rows.isEmpty else { continue }
            trajectoriesBySampler[kind] = rows.count
            acceptance[kind] = rows.reduce(0) { $0 + record.acceptProbability[$1].reduce(0, +) } / Double(rows.count * chains)
        }
        var boltzmann = 0.0
        for t in start..<total { for c in 0..<chains { boltzmann += exp(min(700, -record.energyChange[t][c] + record.logDet[t][c])) } }
        meanBoltzmannFactor = boltzmann / Double((total - start) * chains)

        if let u1 = target as? U1Action {
            let volume = u1.volume, beta = u1.lattice.beta
            let plaquette = MeanEstimate.estimate(chains: RunRecord.byChain(record.plaquette, from: start))
            quantities.append(Quantity(name: "plaquette", estimate: plaquette, exact: U1Exact.plaquette(beta: beta, volume: volume)))
            let charges = RunRecord.byChain(record.qInt, from: start)
            let q2 = MeanEstimate.estimate(chains: charges.map { $0.map { $0 * $0 } })
            let exactQ2 = volume >= 3 ? U1Exact.topologicalSusceptibility(beta: beta, volume: volume).q2 : nil
            quantities.append(Quantity(name: "Q^2", estimate: q2, exact: exactQ2))
            quantities.append(Quantity(name: "Q", estimate: MeanEstimate.estimate(chains: charges), exact: 0))
            quantities.append(Quantity(name: "Q_sin^2", estimate: MeanEstimate.estimate(chains: RunRecord.byChain(record.qSin, from: start).map { $0.map { $0 * $0 } }), exact: nil))
            tunneling = TunnelingRate.measure(charges: charges)
            tauQ = Autocorrelation.integratedTime(rho: Autocorrelation.normalizedAveraged(charges)).tau
            tauPlaquette = plaquette.tauInt
        } else if let mixture = target as? MixtureAction {
            let exact = try? MixtureExact(weights: mixture.mixture.weights, means: mixture.mixture.means, covariances: mixture.mixture.covariances)
            let d = target.stateSize
            for i in 0..<d {
                let series = (0..<chains).map { c in (start..<total).map { record.position[$0][c][i] } }
                quantities.append(Quantity(name: "x[\(i)]", estimate: MeanEstimate.estimate(chains: series), exact: exact?.mean[i]))
                quantities.append(Quantity(name: "x[\(i)]^2", estimate: MeanEstimate.estimate(chains: series.map { $0.map { $0 * $0 } }),
                                           exact: exact.map { $0.secondMoment[i][i] }))
            }
            let modes = mixture.mixture.weights.count
            var occupancy = [Double](repeating: 0, count: modes)
            var switches = 0
            for t in start..<total {
                for c in 0..<chains {
                    occupancy[record.mode[t][c]] += 1
                    if t > start && record.mode[t][c] != record.mode[t - 1][c] { switches += 1 }
                }
            }
            self.occupancy = occupancy.map { $0 / Double((total - start) * chains) }
            modeSwitchRate = Double(switches) / Double(max(1, (total - start - 1) * chains))
            // Mean responsibility of each component: its exact expectation is the mixture weight
            // (the argmax occupancy above is only close to it for well-separated modes).
            let responsibilities = (0..<chains).map { c in (start..<total).map { mixture.responsibilities(record.position[$0][c]) } }
            for m in 0..<modes {
                let series = responsibilities.map { $0.map { $0[m] } }
                quantities.append(Quantity(name: "weight[\(m)]", estimate: MeanEstimate.estimate(chains: series), exact: mixture.mixture.weights[m]))
            }
        }
    }
}
