import ModelFormat

/// Everything that determines a run's numbers (printed first, stored in params.json).
public struct RunSettings: Sendable, Equatable {
    public var chains: Int
    public var trajectories: Int
    public var seed: UInt64
    /// Fraction of the trajectories dropped before statistics (default 0.25).
    public var thermalization: Double = 0.25
    public var schedule: Schedule
    /// L2HMC leapfrog steps (nil: the model's trained N_LF).
    public var l2hmcSteps: Int?
    public var stepMapping: StepMapping?
    public var netWeights: NetWeights?
    public var compression: L2HMCDynamics.CompressionTarget?
    /// Plain-HMC step size and steps (used for HMC trajectories of the schedule).
    public var hmcStepSize: Double
    public var hmcSteps: Int
    /// Relative step-size jitter F of plain-HMC trajectories (`--hmc-jitter`, 0 <= F < 1): each
    /// chain's trajectory uses eps * (1 + F u), u uniform in [-1, 1] (``LeapfrogDynamics/jitter``).
    /// 0 (the default) is the fixed step size, number for number.
    public var hmcJitter: Double = 0
    /// FT-HMC step size in z and steps per trajectory (nil: the flow model's `hmc` defaults).
    public var flowStepSize: Double?
    public var flowSteps: Int?
    /// Random start (hot) or all zeros (cold).
    public var hotStart: Bool = true
    /// Arithmetic of the L2HMC networks (`--precision`; float64 unless asked).
    public var precision: NetworkPrecision = .float64
    /// Chains per tile, the unit of every batched call (``ChainSampler``): nil is one tile of
    /// all chains (the single batch of versions before 0.5, and of run directories without a
    /// `tile`). The numbers depend on it at the rounding level only, and never on the thread or
    /// process count.
    public var tile: Int?

    /// The tile size in effect: `tile`, at most the chain count.
    public var effectiveTile: Int { max(1, min(tile ?? chains, chains)) }
    /// Number of tiles (the most threads or processes that can share the work).
    public var tileCount: Int { (chains + effectiveTile - 1) / effectiveTile }

    public init(chains: Int, trajectories: Int, seed: UInt64, schedule: Schedule, hmcStepSize: Double, hmcSteps: Int) {
        self.chains = chains; self.trajectories = trajectories; self.seed = seed; self.schedule = schedule
        self.hmcStepSize = hmcStepSize; self.hmcSteps = hmcSteps
    }

    public static func == (a: RunSettings, b: RunSettings) -> Bool {
        a.chains == b.chains && a.trajectories == b.trajectories && a.seed == b.seed && a.thermalization == b.thermalization
            && a.schedule == b.schedule && a.l2hmcSteps == b.l2hmcSteps && a.stepMapping == b.stepMapping && a.netWeights == b.netWeights
            && a.compressionText == b.compressionText && a.hmcStepSize == b.hmcStepSize && a.hmcSteps == b.hmcSteps && a.hmcJitter == b.hmcJitter && a.hotStart == b.hotStart && a.tile == b.tile
            && a.precision == b.precision && a.flowStepSize == b.flowStepSize && a.flowSteps == b.flowSteps
    }

    public var compressionText: String {
        switch compression {
        case nil: return "none"
        case let .rank(r)?: return "rank \(r)"
        case let .energy(f)?: return "energy \(f)"
        }
    }

    /// Rejects settings that cannot run, with the option to fix.
    public func validate() throws {
        guard chains >= 1 else { throw InferenceError.invalidOption(name: "--chains", reason: "must be >= 1 (got \(chains))") }
        guard trajectories >= 1 else { throw InferenceError.invalidOption(name: "--trajectories", reason: "must be >= 1 (got \(trajectories))") }
        guard thermalization >= 0 && thermalization < 1 else {
            throw InferenceError.invalidOption(name: "--thermalization", reason: "must be in [0, 1) (got \(thermalization))")
        }
        if let t = tile, t < 1 { throw InferenceError.invalidOption(name: "--tile", reason: "must be >= 1 (got \(t))") }
        if let s = l2hmcSteps, s < 1 { throw InferenceError.invalidOption(name: "--nlf", reason: "must be >= 1 (got \(s))") }
        if schedule.usesHMC {
            guard hmcStepSize > 0, hmcStepSize.isFinite else { throw InferenceError.invalidOption(name: "--hmc-eps", reason: "must be > 0 (got \(hmcStepSize))") }
            guard hmcSteps >= 1 else { throw InferenceError.invalidOption(name: "--hmc-nlf", reason: "must be >= 1 (got \(hmcSteps))") }
        }
        try Self.validate(hmcJitter: hmcJitter)
        if let e = flowStepSize, !(e > 0 && e.isFinite) { throw InferenceError.invalidOption(name: "--eps", reason: "the FT-HMC step size must be > 0 (got \(e))") }
        if let k = flowSteps, !(1...4096).contains(k) { throw InferenceError.invalidOption(name: "--nlf", reason: "FT-HMC steps must be in 1...4096 (got \(k))") }
    }

    /// `--hmc-jitter` must be in [0, 1) (a factor 1 + F u stays positive); NaN is refused.
    public static func validate(hmcJitter f: Double) throws {
        guard f >= 0 && f < 1 else { throw InferenceError.invalidOption(name: "--hmc-jitter", reason: "must be in [0, 1) (got \(f))") }
    }
}
