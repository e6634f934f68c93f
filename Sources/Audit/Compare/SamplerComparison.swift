import Foundation
import Inference
import ModelFormat

/// `l2hmc-run compare`: plain HMC over a grid of step sizes and trajectory lengths, the model,
/// and the model with its six net weights 0, each run at the same lattice and beta with the same
/// budget and seed (``ComparisonSettings``), measured as ``ComparisonRow``s and ranked by
/// ``ComparisonResult``.
///
/// Each run is a ``RunEngine`` run as `l2hmc-run` makes it: `--seed`, a random start, the tile
/// of ``TilePolicy/defaultTile(chains:sampler:)``, single-threaded GEMMs, so every number except
/// the CPU times is a function of the settings alone (not of `threads`). Force evaluations are
/// counted by a wrapping target (which passes the U(1) lattice on, so local models run through it); CPU time is the process's (`CLOCK_PROCESS_CPUTIME_ID`, all
/// threads) over the run, divided by chains x trajectories.
public struct SamplerComparison {
    public let settings: ComparisonSettings
    public let model: L2ZModel
    /// The lattice and beta of every run.
    public let lattice: U1Lattice

    /// Refuses a model whose target has no topological charge (`compare.unsupported_target`)
    /// and invalid settings (`compare.invalid_option`).
    public init(settings: ComparisonSettings, model: L2ZModel, lattice: U1Lattice) throws {
        try settings.validate()
        guard case .u1 = model.spec.target else {
            throw ComparisonError.unsupportedTarget("compare ranks samplers by tau_int of the topological charge, which only U(1) models have; this model's target is a Gaussian mixture")
        }
        self.settings = settings; self.model = model; self.lattice = lattice
    }

    /// True for a flow model, whose row runs FT-HMC (`fthmc`) with the model's step size and
    /// N_LF in z, and which has no networks-off row (a flow with zero weights is the identity, so
    /// that row would be HMC again).
    public var isFlow: Bool { if case .flow = model.spec { return true } else { return false } }

    /// The model's mean x step size and trajectory length (the sum of its x step sizes) at its
    /// trained N_LF; for a flow, its FT-HMC step size in z, eps N_LF and N_LF.
    public func modelStep() throws -> (stepSize: Double, length: Double, steps: Int) {
        if case let .flow(f) = model.spec { return (f.hmc.stepSize, f.hmc.stepSize * Double(f.hmc.nLF), f.hmc.nLF) }
        let dyn = try L2HMCDynamics(model: model, target: makeTarget(.u1(lattice)), capacity: 1)
        let eps = dyn.plan.steps.map(\.epsX)
        let sum = eps.reduce(0, +)
        return (sum / Double(max(1, eps.count)), sum, eps.count)
    }

    /// The runs in order: the HMC grid, then the model, then networks off (not for a flow).
    public func plan() throws -> [(kind: ComparisonRow.Kind, point: ComparisonSettings.HMCPoint?)] {
        let m = try modelStep()
        let grid = try settings.grid(modelStepSize: m.stepSize, modelLength: m.length)
        return grid.map { (ComparisonRow.Kind.hmc, $0) } + [(.model, nil)] + (isFlow ? [] : [(.networksOff, nil)])
    }

    /// The `RunSettings` of one run (what `l2hmc-run` would use for the same options).
    public func runSettings(kind: ComparisonRow.Kind, point: ComparisonSettings.HMCPoint?) -> RunSettings {
        let hmc = kind == .hmc
        var s = RunSettings(chains: settings.chains, trajectories: settings.trajectories, seed: settings.seed,
                            schedule: hmc ? .hmcOnly : isFlow ? Schedule(pattern: [(.fthmc, 1)]) : .l2hmcOnly, hmcStepSize: point?.stepSize ?? 0.1, hmcSteps: point?.steps ?? 1)
        s.thermalization = settings.thermalization
        s.hotStart = !settings.coldStart
        if hmc { s.hmcJitter = settings.hmcJitter }
        if kind == .networksOff { s.netWeights = NetWeights(values: [Double](repeating: 0, count: 6)) }
        s.tile = TilePolicy.defaultTile(chains: settings.chains, sampler: hmc ? nil : try? model.sampler)
        return s
    }

    /// Runs every setting of ``plan()``; `note(index, count, row)` after each, `progress(done,
    /// total)` after every trajectory (counted over all runs). Returns nil when `shouldStop` ended a run early (nothing
    /// is reported then).
    public func run(threads: Int, note: (Int, Int, ComparisonRow) -> Void = { _, _, _ in },
                    progress: (Int, Int) -> Void = { _, _ in }, shouldStop: () -> Bool = { false }) throws -> ComparisonResult? {
        BLAS.setThreads(1)
        let target = ForceCountingTarget(makeTarget(.u1(lattice)))
        let step = try modelStep()
        let runs = try plan()
        var rows: [ComparisonRow] = []
        for (i, r) in runs.enumerated() {
            let s = runSettings(kind: r.kind, point: r.point)
            let engine = try RunEngine(settings: s, target: target, model: r.kind == .hmc ? nil : model, threads: max(1, min(threads, s.tileCount)))
            target.reset()
            let cpu0 = Self.processCPUSeconds()
            let before = i * settings.trajectories, total = runs.count * settings.trajectories
            try engine.run(progress: { done, _ in progress(before + done, total) }, shouldStop: shouldStop)
            let cpu = Self.processCPUSeconds() - cpu0
            guard engine.isFinished else { return nil }
            let chainTrajectories = Double(s.chains * s.trajectories)
            let row = Self.measure(engine.record, target: target.base, kind: r.kind, thermalization: s.thermalization,
                                   stepSize: r.point?.stepSize ?? step.stepSize, steps: r.point?.steps ?? step.steps,
                                   length: r.point?.length ?? step.length,
                                   forcesPerTrajectory: Double(target.forceRows) / chainTrajectories,
                                   cpuSecondsPerTrajectory: cpu / chainTrajectories)
            rows.append(row)
            note(i, runs.count, row)
        }
        return ComparisonResult(rows: rows)
    }

    /// A row from a run's record: acceptance, tunneling and tau_int of the charge observable
    /// over the kept trajectories.
    static func measure(_ record: RunRecord, target: TargetAction, kind: ComparisonRow.Kind, thermalization: Double, stepSize: Double, steps: Int,
                        length: Double, forcesPerTrajectory: Double, cpuSecondsPerTrajectory: Double) -> ComparisonRow {
        let total = record.count, start = Thermalization.droppedCount(count: total, fraction: thermalization)
        let chains = record.acceptProbability.first?.count ?? 0
        let kept = max(0, total - start)
        let acceptance = kept > 0 && chains > 0 ? record.acceptProbability[start...].reduce(0) { $0 + $1.reduce(0, +) } / Double(kept * chains) : .nan
        let name = target.observables.first { $0.role == .topologicalCharge }?.name ?? ""
        let series = record.series(name)
        let charges = (0..<chains).map { c in (start..<min(total, series.count)).map { series[$0][c] } }
        return ComparisonRow(kind: kind, stepSize: stepSize, steps: steps, length: length, acceptance: acceptance,
                             tunneling: TunnelingRate.measure(charges: charges), tau: ChargeAutocorrelationTime.measure(charges: charges),
                             forcesPerTrajectory: forcesPerTrajectory, cpuSecondsPerTrajectory: cpuSecondsPerTrajectory)
    }

    /// CPU seconds used by this process so far (all threads).
    static func processCPUSeconds() -> Double {
        var t = timespec()
        guard clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) == 0 else { return .nan }
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}
