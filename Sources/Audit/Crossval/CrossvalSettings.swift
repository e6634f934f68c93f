import Inference
import ModelFormat

/// The options of a `crossval` audit (the CLI's flags, parsed).
public struct CrossvalSettings: Sendable {
    /// Chains and trajectories per statistics run (the first 25 % are dropped).
    public var chains = 32
    public var trajectories = 300
    /// Extra N_LF values and ranks to test (per-step models use the cyclic mapping for N_LF).
    public var nLFValues: [Int] = []
    public var ranks: [Int] = []
    /// HMC step size of the reference runs and of the thermalization.
    public var hmcEps = 0.1
    /// Largest |z| accepted against exact values.
    public var zThreshold = ZScore.defaultThreshold
    public var seed: UInt64 = 1
    /// Step-size jitter of the HMC reference runs (`--hmc-jitter`, 0 <= F < 1; ``RunSettings/hmcJitter``).
    public var hmcJitter = 0.0
    /// Audit a local model at this lattice instead of the one it was trained on (`--lattice`;
    /// nil: the model's). Dense models run only at their own lattice.
    public var lattice: LatticeSize?

    public init() {}

    /// Refuses settings outside their domain (`run.invalid_option`, a usage error), before any
    /// work: --z-threshold and --hmc-eps positive and finite, --hmc-jitter in [0, 1), --chains >= 2, --trajectories >= 20.
    public func validate() throws {
        for (flag, value) in [("--z-threshold", zThreshold), ("--hmc-eps", hmcEps)] where !(value.isFinite && value > 0) {
            throw InferenceError.invalidOption(name: flag, reason: "must be a positive finite number (got \(value))")
        }
        try RunSettings.validate(hmcJitter: hmcJitter)
        guard chains >= 2 else { throw InferenceError.invalidOption(name: "--chains", reason: "must be >= 2 (got \(chains))") }
        guard trajectories >= 20 else { throw InferenceError.invalidOption(name: "--trajectories", reason: "must be >= 20 (got \(trajectories))") }
    }
}
