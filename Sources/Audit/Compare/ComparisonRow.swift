import Foundation
import Inference

/// One sampler setting of a comparison and what its run measured.
public struct ComparisonRow: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Plain HMC at one grid point.
        case hmc
        /// The model as `l2hmc-run` runs it (its net weights).
        case model
        /// The model with all six net weights 0: its learned step sizes only.
        case networksOff = "networks_off"
    }

    public let kind: Kind
    /// HMC: eps; the model: the mean of its x step sizes.
    public let stepSize: Double
    /// Leapfrog steps per trajectory.
    public let steps: Int
    /// HMC: eps N_LF; the model: the sum of its x step sizes.
    public let length: Double
    /// Mean acceptance probability over the kept trajectories and chains.
    public let acceptance: Double
    /// Tunneling rate of Q_int over the kept trajectories (``TunnelingRate``).
    public let tunneling: TunnelingRate
    public let tau: ChargeAutocorrelationTime
    /// Force evaluations per chain and trajectory, counted over the whole run.
    public let forcesPerTrajectory: Double
    /// Process CPU seconds per chain and trajectory (all threads; the whole run, measurements included).
    public let cpuSecondsPerTrajectory: Double

    public init(kind: Kind, stepSize: Double, steps: Int, length: Double, acceptance: Double, tunneling: TunnelingRate,
                tau: ChargeAutocorrelationTime, forcesPerTrajectory: Double, cpuSecondsPerTrajectory: Double) {
        self.kind = kind; self.stepSize = stepSize; self.steps = steps; self.length = length; self.acceptance = acceptance
        self.tunneling = tunneling; self.tau = tau; self.forcesPerTrajectory = forcesPerTrajectory
        self.cpuSecondsPerTrajectory = cpuSecondsPerTrajectory
    }

    /// "hmc eps 0.118 N_LF 10", "model", "networks off".
    public var label: String {
        switch kind {
        case .hmc: return "hmc eps \(String(format: "%.4g", stepSize)) N_LF \(steps)"
        case .model: return "model"
        case .networksOff: return "networks off"
        }
    }

    /// The cost of one trajectory of one chain in `measure`.
    public func unit(_ measure: CostMeasure) -> Double {
        switch measure {
        case .trajectory: return 1
        case .forceEvaluation: return forcesPerTrajectory
        case .cpuSecond: return cpuSecondsPerTrajectory
        }
    }

    /// `tau_int(Q)` times ``unit(_:)``: the cost of one independent sample of Q.
    public func cost(_ measure: CostMeasure) -> Double { tau.tau * unit(measure) }
}
