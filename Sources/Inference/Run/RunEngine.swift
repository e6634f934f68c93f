import Foundation
import ModelFormat

/// Runs a schedule of proposals (HMC, L2HMC, or any ``Proposal``) over many chains and records
/// the sampler bookkeeping and the target's observables (``TargetAction/observables``).
///
/// The same settings and seed give the same numbers, whatever the thread count, and a run
/// continued from its saved state (``resume(states:trajectoryIndex:record:)``) gives exactly the
/// numbers of one uninterrupted run.
public final class RunEngine {
    public let settings: RunSettings
    public let target: TargetAction
    public let sampler: ChainSampler
    /// The L2HMC proposal when the schedule uses one (for reports).
    public let l2hmc: L2HMCDynamics?
    /// Per-layer report when the networks were compressed.
    public let compression: [L2HMCDynamics.LayerCompression]
    public private(set) var record = RunRecord()
    /// What is recorded per trajectory (the target's observables, in order).
    public let observables: [Observable]

    /// The proposal of each kind the schedule uses is chosen here, once: `proposals` given by
    /// the caller first (a new proposal kind, or a replacement), then L2HMC from `model` and plain
    /// leapfrog from the settings. A schedule naming a kind none of these provides (L2HMC without
    /// a model) is refused with a usage error (`run.invalid_option`); plain HMC needs no model.
    /// - model: required when the schedule uses L2HMC and `proposals` has none.
    public init(settings: RunSettings, target: TargetAction, model: L2ZModel?, proposals: [Proposal] = []) throws {
        try settings.validate()
        self.settings = settings
        self.target = target
        var table: [Schedule.Kind: Proposal] = [:]
        for p in proposals {
            guard p.capacity >= settings.chains else {
                throw InferenceError.invalidOption(name: "--chains", reason: "the \(p.kind.rawValue) proposal holds \(p.capacity) chains, fewer than \(settings.chains)")
            }
            table[p.kind] = p
        }
        var compression: [L2HMCDynamics.LayerCompression] = []
        for kind in settings.schedule.kinds where table[kind] == nil {
            switch kind {
            case .l2hmc:
                guard let model else { throw InferenceError.invalidOption(name: "--model", reason: "an L2HMC schedule needs a model") }
                let dyn = try L2HMCDynamics(model: model, target: target, nLF: settings.l2hmcSteps, mapping: settings.stepMapping, capacity: settings.chains)
                if let w = settings.netWeights { try dyn.setNetWeights(w) }
                compression = try settings.compression.map { try dyn.compress($0) } ?? []
                if settings.precision != .float64 { dyn.setPrecision(settings.precision) }
                table[.l2hmc] = dyn
            case .hmc:
                table[.hmc] = LeapfrogDynamics(target: target, stepSize: settings.hmcStepSize, stepCount: settings.hmcSteps, capacity: settings.chains)
            }
        }
        self.compression = compression
        sampler = ChainSampler(target: target, proposals: settings.schedule.kinds.compactMap { table[$0] }, chains: settings.chains, seed: settings.seed)
        l2hmc = sampler.l2hmc
        observables = target.observables
        for o in observables { record.observables[o.name] = [] }
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
        if let o = observables.first(where: { record.observables[$0.name]?.count != trajectoryIndex }) {
            throw InferenceError.invalidOption(name: "--resume", reason: "saved record lacks \(trajectoryIndex) trajectories of observable \(o.name)")
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
        let values = target.measure(sampler.x.pointer, rows: settings.chains)
        for (o, v) in zip(observables, values) { record.observables[o.name, default: []].append(v) }
    }

    /// Current chain states [chains, n].
    public var states: [Double] { sampler.x.array }
}
