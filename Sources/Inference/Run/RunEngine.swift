import Foundation
import ModelFormat

/// Runs a schedule of proposals (HMC, L2HMC, or any ``Proposal``) over many chains and records
/// the sampler bookkeeping and the target's observables (``TargetAction/observables``).
///
/// The same settings and seed give the same numbers, whatever the thread count or the number
/// of processes, and a run continued from its saved state
/// (``resume(states:trajectoryIndex:record:)``) gives exactly the numbers of one uninterrupted run.
///
/// With a ``RunProcessGroup`` of R processes, each holds a contiguous block of whole tiles
/// (``TileSplit``) and runs them; ``step()`` gathers every
/// trajectory's rows to the root, whose ``record`` is the whole run's (the others' stays empty).
public final class RunEngine {
    public let settings: RunSettings
    public let target: TargetAction
    public let sampler: ChainSampler
    /// The L2HMC proposal when the schedule uses one (for reports).
    public let l2hmc: L2HMCDynamics?
    /// Per-layer report when the networks were compressed.
    public let compression: [L2HMCDynamics.LayerCompression]
    /// The run's record (on the root of a process group; empty on the other processes).
    public private(set) var record = RunRecord()
    /// What is recorded per trajectory (the target's observables, in order).
    public let observables: [Observable]
    /// The processes sharing this run (nil: this process alone).
    public let group: RunProcessGroup?
    /// Chains per process, in rank order (one entry without a group).
    public let chainsPerProcess: [Int]

    /// The proposal of each kind the schedule uses is chosen here, once: `proposals` given by
    /// the caller first (a new proposal kind, or a replacement), then L2HMC from `model` and plain
    /// leapfrog from the settings. A schedule naming a kind none of these provides (L2HMC without
    /// a model) is refused with a usage error (`run.invalid_option`); plain HMC needs no model.
    /// - model: required when the schedule uses L2HMC and `proposals` has none.
    /// - threads: lanes the tiles of this process are spread over (1 ... its tile count; the
    ///   numbers do not depend on it).
    /// - group: the processes sharing the run (at most one per tile), or nil.
    public init(settings: RunSettings, target: TargetAction, model: L2ZModel?, proposals: [Proposal] = [], threads: Int = 1,
                group: RunProcessGroup? = nil) throws {
        try settings.validate()
        let size = group?.size ?? 1, rank = group?.rank ?? 0, tile = settings.effectiveTile
        guard size <= settings.tileCount else {
            throw InferenceError.invalidOption(name: "mpirun -np", reason: "\(size) processes but only \(settings.tileCount) tile(s) of \(tile) chains; use at most \(settings.tileCount) processes, or a smaller --tile")
        }
        let ranges = (0..<size).map { r -> Range<Int> in
            let t = TileSplit.tiles(rank: r, size: size, tileCount: settings.tileCount)
            return (t.lowerBound * tile)..<min(t.upperBound * tile, settings.chains)
        }
        chainsPerProcess = ranges.map(\.count)
        let local = ranges[rank]
        let localTiles = (local.count + tile - 1) / tile
        guard threads >= 1 && threads <= localTiles else {
            throw InferenceError.invalidOption(name: "--threads", reason: "must be in 1...\(localTiles), the number of tiles of \(tile) chains\(size > 1 ? " of this process" : "") (got \(threads)); use fewer threads or a smaller --tile")
        }
        self.settings = settings
        self.target = target
        self.group = size > 1 ? group : nil
        var table: [Schedule.Kind: Proposal] = [:]
        for p in proposals {
            guard p.capacity >= tile else {
                throw InferenceError.invalidOption(name: "--chains", reason: "the \(p.kind.rawValue) proposal holds \(p.capacity) chains, fewer than a tile (\(tile))")
            }
            table[p.kind] = p
        }
        var compression: [L2HMCDynamics.LayerCompression] = []
        var flow: FlowMap?
        func flowMap() throws -> FlowMap {
            if let flow { return flow }
            guard let model else { throw InferenceError.invalidOption(name: "--model", reason: "the fthmc and flow samplers need a flow model") }
            guard let lattice = target.u1Lattice, lattice.linkLayout == .muTX else {
                throw InferenceError.modelTargetMismatch("a flow samples a U(1) lattice with link layout mu_t_x")
            }
            let made = try FlowMap(model: model, lattice: lattice, capacity: tile, action: target)
            flow = made
            return made
        }
        for kind in settings.schedule.kinds where table[kind] == nil {
            switch kind {
            case .l2hmc:
                guard let model else { throw InferenceError.invalidOption(name: "--model", reason: "an L2HMC schedule needs a model") }
                let dyn = try L2HMCDynamics(model: model, target: target, nLF: settings.l2hmcSteps, mapping: settings.stepMapping, capacity: tile)
                if let w = settings.netWeights { try dyn.setNetWeights(w) }
                compression = try settings.compression.map { try dyn.compress($0) } ?? []
                if settings.precision != .float64 {
                    guard !dyn.isLocal else {
                        throw InferenceError.invalidOption(name: "--precision", reason: "\(settings.precision.rawValue) networks are not implemented for local models; use float64")
                    }
                    dyn.setPrecision(settings.precision)
                }
                table[.l2hmc] = dyn
            case .fthmc:
                let map = try flowMap()
                table[.fthmc] = FieldTransformedHMC(flow: map, stepSize: settings.flowStepSize ?? map.spec.hmc.stepSize,
                                                    stepCount: settings.flowSteps ?? map.spec.hmc.nLF)
            case .flow:
                table[.flow] = FlowIndependenceProposal(flow: try flowMap())
            case .hmc:
                let hmc = LeapfrogDynamics(target: target, stepSize: settings.hmcStepSize, stepCount: settings.hmcSteps, capacity: tile)
                hmc.jitter = settings.hmcJitter
                table[.hmc] = hmc
            }
        }
        self.compression = compression
        sampler = try ChainSampler(target: target, proposals: settings.schedule.kinds.compactMap { table[$0] }, chains: local.count, seed: settings.seed,
                               tile: settings.tile, threads: threads, firstChain: local.lowerBound)
        l2hmc = sampler.l2hmc
        observables = target.observables
        for o in observables { record.observables[o.name] = [] }
        if settings.hotStart { sampler.randomizeStart() }
    }

    /// True on the process that keeps the record and writes the output.
    public var isRoot: Bool { group?.rank ?? 0 == 0 }

    /// Trajectories done (the same on every process).
    public var trajectoriesDone: Int { sampler.trajectoryIndex }

    /// Continues from saved states after `trajectoryIndex` trajectories with their record.
    /// - states: every chain's state [chains, n] (each process keeps its own rows).
    /// - record: the saved record (on the root; the other processes pass an empty one).
    public func resume(states: [Double], trajectoryIndex: Int, record: RunRecord) throws {
        let n = target.stateSize
        guard states.count == settings.chains * n else {
            throw InferenceError.invalidOption(name: "--resume", reason: "saved states have \(states.count) values, expected \(settings.chains * n)")
        }
        if isRoot {
            guard record.count == trajectoryIndex else {
                throw InferenceError.invalidOption(name: "--resume", reason: "saved record has \(record.count) trajectories, state says \(trajectoryIndex)")
            }
            if let o = observables.first(where: { record.observables[$0.name]?.count != trajectoryIndex }) {
                throw InferenceError.invalidOption(name: "--resume", reason: "saved record lacks \(trajectoryIndex) trajectories of observable \(o.name)")
            }
            if let t = record.sampler.indices.first(where: { record.sampler[$0] != settings.schedule.kind(at: $0) }) {
                throw InferenceError.io(path: "sampler.npy", reason: "trajectory \(t) was recorded as \(record.sampler[t].rawValue), but the saved schedule makes it \(settings.schedule.kind(at: t).rawValue); the run directory is damaged or was edited")
            }
            self.record = record
        }
        let first = sampler.firstChain * n
        sampler.restore(states: Array(states[first..<(first + sampler.chains * n)]), trajectoryIndex: trajectoryIndex)
    }

    /// Runs until `settings.trajectories` are done, calling `progress(done, total)` after
    /// each trajectory; stops early (keeping what was computed) when `shouldStop()` is true.
    /// Single process only (a process group needs the collective loop of the tool):
    /// `run.invalid_option` otherwise; a failing step's error is passed on.
    public func run(progress: (Int, Int) -> Void = { _, _ in }, shouldStop: () -> Bool = { false }) throws {
        guard group == nil else {
            throw InferenceError.invalidOption(name: "group", reason: "RunEngine.run is for one process; a process group steps collectively with step()")
        }
        while !isFinished && !shouldStop() {
            try step()
            progress(record.count, settings.trajectories)
        }
    }

    /// True when `settings.trajectories` are done.
    public var isFinished: Bool { trajectoriesDone >= settings.trajectories }

    /// Runs the next trajectory of the schedule on this process's chains and records it (on
    /// the root, after gathering every process's rows; collective with a group).
    public func step() throws {
        let kind = settings.schedule.kind(at: trajectoriesDone)
        let outcome = sampler.step(kind: kind)
        let values = target.measure(sampler.x.pointer, rows: sampler.chains)
        guard let group else { return append(outcome, values) }
        var packet = outcome.acceptProbability + outcome.energyChange + outcome.logDet + outcome.energyBefore + outcome.accepted.map { $0 ? 1 : 0 }
        for v in values { packet += v }
        guard let parts = try group.gather(DoubleBytes.encode(packet)) else { return }
        var whole = ChainSampler.Outcome(kind: kind, acceptProbability: [], accepted: [], energyChange: [], logDet: [])
        var wholeValues = [[Double]](repeating: [], count: values.count)
        for (r, bytes) in parts.enumerated() {
            let c = chainsPerProcess[r], d = DoubleBytes.decode(bytes)
            let expected = 5 * c + observables.reduce(0) { $0 + c * $1.width }
            guard d.count == expected else {
                throw InferenceError.io(path: "process \(r)", reason: "sent \(d.count) values for trajectory \(trajectoriesDone - 1), expected \(expected)")
            }
            whole.acceptProbability += d[0..<c]; whole.energyChange += d[c..<(2 * c)]; whole.logDet += d[(2 * c)..<(3 * c)]
            whole.energyBefore += d[(3 * c)..<(4 * c)]; whole.accepted += d[(4 * c)..<(5 * c)].map { $0 != 0 }
            var offset = 5 * c
            for (i, o) in observables.enumerated() {
                wholeValues[i] += d[offset..<(offset + c * o.width)]
                offset += c * o.width
            }
        }
        append(whole, wholeValues)
    }

    private func append(_ o: ChainSampler.Outcome, _ values: [[Double]]) {
        record.sampler.append(o.kind)
        record.acceptProbability.append(o.acceptProbability)
        record.accepted.append(o.accepted)
        record.energyChange.append(o.energyChange)
        record.energyBefore.append(o.energyBefore)
        record.logDet.append(o.logDet)
        for (o, v) in zip(observables, values) { record.observables[o.name, default: []].append(v) }
    }

    /// What every process does next, decided together (collective with a group): stop when any
    /// process asks to (its signal), checkpoint when the root says so.
    public func agree(stop: Bool, checkpoint: Bool) throws -> (stop: Bool, checkpoint: Bool) {
        guard let group else { return (stop, checkpoint) }
        let flags = try group.gather([stop ? 1 : 0])
        let anyStop = flags.map { $0.contains { $0.first == 1 } } ?? false
        let decided = try group.broadcast([anyStop ? 1 : 0, checkpoint ? 1 : 0])
        guard decided.count == 2 else { throw InferenceError.io(path: "process 0", reason: "sent a malformed decision") }
        return (decided[0] == 1, decided[1] == 1)
    }

    /// This process's chain states [its chains, n].
    public var states: [Double] { sampler.x.array }

    /// Every chain's state [chains, n] on the root, nil on the other processes (collective).
    public func gatheredStates() throws -> [Double]? {
        guard let group else { return states }
        guard let parts = try group.gather(DoubleBytes.encode(states)) else { return nil }
        let all = parts.flatMap(DoubleBytes.decode)
        guard all.count == settings.chains * target.stateSize else {
            throw InferenceError.io(path: "process group", reason: "gathered \(all.count) state values, expected \(settings.chains * target.stateSize)")
        }
        return all
    }
}
