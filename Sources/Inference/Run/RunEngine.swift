import Foundation
import ModelFormat

/// Runs a schedule of HMC and L2HMC trajectories over many chains and records the observables.
///
/// The same settings and seed give the same numbers, whatever the thread count, and a run
/// continued from its saved state (``resume(states:trajectoryIndex:record:)``) gives exactly the
/// numbers of one uninterrupted run.
public final class RunEngine {
    public let settings: RunSettings
    public let target: TargetAction
    public let sampler: ChainSampler
    public let l2hmc: L2HMCDynamics?
    /// Per-layer report when the networks were compressed.
    public let compression: [L2HMCDynamics.LayerCompression]
    public private(set) var record = RunRecord()

    /// - model: required when the schedule uses L2HMC.
    public init(settings: RunSettings, target: TargetAction, model: L2ZModel?) throws {
        try settings.validate()
        self.settings = settings
        self.target = target
        if settings.schedule.usesL2HMC {
            guard let model else { throw InferenceError.invalidOption(name: "--model", reason: "an L2HMC schedule needs a model") }
            let dyn = try L2HMCDynamics(model: model, target: target, nLF: settings.l2hmcSteps, mapping: settings.stepMapping, capacity: settings.chains)
            if let w = settings.netWeights { try dyn.setNetWeights(w) }
            compression = try settings.compression.map { try dyn.compress($0) } ?? []
            l2hmc = dyn
        } else {
            l2hmc = nil
            compression = []
        }
        let hmc = settings.schedule.usesHMC
            ? LeapfrogDynamics(target: target, stepSize: settings.hmcStepSize, stepCount: settings.hmcSteps, capacity: settings.chains) : nil
        sampler = ChainSampler(target: target, l2hmc: l2hmc, hmc: hmc, chains: settings.chains, seed: settings.seed)
        if settings.hotStart { sampler.randomizeStart() }
    }

    /// Continues from saved states after `trajectoryIndex` trajectories with their record.
    public func resume(states: [Double], trajectoryIndex: Int, record: RunRecord) throws {
        guard states.count == settings.chains * target.stateSize else {
            throw InferenceError.invalidOption(name: "--resume", reason: "saved states have \(states.count) values, expected \(settings.chains * target.stateSize)")
        }
        guard record.count == trajectoryIndex else {
            throw InferenceError.invalidOption(name: "--resume", reason: "saved record has \(record.count) trajectories, state says \(trajectoryIndex)")
        }
        if let t = record.sampler.indices.first(where: { record.sampler[$0] != settings.schedule.kind(at: $0) }) {
            throw InferenceError.io(path: "sampler.npy", reason: "trajectory \(t) was recorded as \(record.sampler[t].rawValue), but the saved schedule makes it \(settings.schedule.kind(at: t).rawValue); the run directory is damaged or was edited")
        }
        sampler.restore(states: states, trajectoryIndex: trajectoryIndex)
        self.record = record
    }

    /// Runs until `settings.trajectories` are recorded, calling `progress(done, total)` after
    /// each trajectory; stops early (keeping what was computed) when `shouldStop()` is true.
    public func run(progress: (Int, Int) -> Void = { _, _ in }, shouldStop: () -> Bool = { false }) {
        while !isFinished && !shouldStop() {
            step()
            progress(record.count, settings.trajectories)
        }
    }

    /// True when `settings.trajectories` are recorded.
    public var isFinished: Bool { record.count >= settings.trajectories }

    /// Runs and records the next trajectory of the schedule.
    public func step() {
        let kind = settings.schedule.kind(at: record.count)
        recordObservables(sampler.step(kind: kind))
    }

    private func recordObservables(_ o: ChainSampler.Outcome) {
        record.sampler.append(o.kind)
        record.acceptProbability.append(o.acceptProbability)
        record.accepted.append(o.accepted)
        record.energyChange.append(o.energyChange)
        record.energyBefore.append(o.energyBefore)
        record.logDet.append(o.logDet)
        let chains = settings.chains
        if let u1 = target as? U1Action {
            let obs = u1.observables(sampler.x.pointer, rows: chains)
            record.plaquette.append(obs.plaquette)
            record.qInt.append(obs.qInt)
            record.qSin.append(obs.qSin)
        } else if let mixture = target as? MixtureAction {
            let d = target.stateSize
            record.position.append((0..<chains).map { c in (0..<d).map { sampler.x[c * d + $0] } })
            record.mode.append(mixture.modeIndex(sampler.x.pointer, rows: chains))
        }
    }

    /// Current chain states [chains, n].
    public var states: [Double] { sampler.x.array }
}
