import Foundation
import Inference

/// The budget and the plain-HMC grid of `l2hmc-run compare`.
///
/// Every setting (each HMC grid point, the model, the model with its networks off) is one run of
/// `chains` x `trajectories` from a random start (or a cold one, ``coldStart``) with the same `seed`, exactly as `l2hmc-run
/// --seed S` would run it (counter-based random numbers and the tile policy of `l2hmc-run`, so
/// the numbers do not depend on the thread count); the first `thermalization` fraction is
/// dropped before statistics.
///
/// **The HMC grid.** Step sizes `eps` times trajectory lengths `L`; each point runs
/// `N_LF = max(1, round(L / eps))` leapfrog steps (its actual length is `eps N_LF`), and points
/// that coincide are run once. Defaults, from the model's mean x step size `eps_m` and its
/// trajectory length `L_m = sum_k eps_x,k` (each link is drifted once per step):
/// `eps in {0.25, 0.5, 0.75, 1} x eps_m` and `L in {1, 2, 3, 4} x L_m`, each rounded to
/// three significant digits: 16 runs (for the shipped 8x8 model, eps 0.0587 ... 0.235 and L
/// 1.17 ... 4.7). Plain HMC at the model's own step size is already at the edge of stability
/// there (acceptance 0.47 at beta 4), and its cost per force evaluation still falls at 3 times
/// the model's length (tau_int(Q) drops about as 1 / L^2 while the cost grows as L), hence the
/// grid reaches down and out from the model; shorter lengths were never best.
public struct ComparisonSettings: Sendable, Equatable {
    public var chains = 64
    public var trajectories = 4000
    public var thermalization = Thermalization.defaultFraction
    public var seed: UInt64 = 1
    /// HMC step sizes and trajectory lengths (nil: the defaults relative to the model).
    public var hmcStepSizes: [Double]?
    public var hmcLengths: [Double]?
    /// Relative step-size jitter of the HMC runs (``RunSettings/hmcJitter``).
    public var hmcJitter = 0.0
    /// Start every run (HMC rows included) from all links 0 instead of uniformly random links
    /// (`l2hmc-run --cold-start`). A learned sampler whose step sizes were tuned at equilibrium
    /// may not leave a random start on a lattice larger than its training one (the shipped
    /// local model accepts nothing from a random start on 16x16 at beta 5, and 0.72 from a
    /// cold one); the thermalization fraction is then dropped as usual.
    public var coldStart = false

    public static let defaultStepFactors = [0.25, 0.5, 0.75, 1]
    public static let defaultLengthFactors: [Double] = [1, 2, 3, 4]

    public init() {}

    /// One plain-HMC setting of the grid.
    public struct HMCPoint: Sendable, Equatable {
        public let stepSize: Double
        public let steps: Int
        public var length: Double { stepSize * Double(steps) }
        public init(stepSize: Double, steps: Int) { self.stepSize = stepSize; self.steps = steps }
    }

    /// Refuses a budget or grid that cannot run (`compare.invalid_option`).
    public func validate() throws {
        guard chains >= 1 else { throw ComparisonError.invalidOption(name: "--chains", reason: "must be >= 1 (got \(chains))") }
        guard trajectories >= 4 else { throw ComparisonError.invalidOption(name: "--trajectories", reason: "must be >= 4 (got \(trajectories))") }
        guard thermalization >= 0 && thermalization < 1 else {
            throw ComparisonError.invalidOption(name: "--thermalization", reason: "must be in [0, 1) (got \(thermalization))")
        }
        guard trajectories - Thermalization.droppedCount(count: trajectories, fraction: thermalization) >= 4 else {
            throw ComparisonError.invalidOption(name: "--thermalization", reason: "leaves fewer than 4 of the \(trajectories) trajectories for statistics")
        }
        guard hmcJitter >= 0 && hmcJitter < 1 else { throw ComparisonError.invalidOption(name: "--hmc-jitter", reason: "must be in [0, 1) (got \(hmcJitter))") }
        for (name, list) in [("--hmc-eps", hmcStepSizes), ("--hmc-length", hmcLengths)] {
            guard let list else { continue }
            guard !list.isEmpty, list.count <= Self.maxListLength, list.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw ComparisonError.invalidOption(name: name, reason: "must be 1 to \(Self.maxListLength) positive finite numbers (got \(list.map { "\($0)" }.joined(separator: ",")))")
            }
        }
    }

    /// The longest `--hmc-eps` or `--hmc-length` list (a 16 x 16 grid is already 256 runs).
    public static let maxListLength = 16
    /// The most leapfrog steps one grid point may take (a length over a tiny step size).
    public static let maxSteps = 10_000

    /// The grid for a model of mean x step size `modelStepSize` and length `modelLength`, in
    /// order of step size, then length; coinciding points once. Throws when a point would take
    /// more than ``maxSteps`` steps.
    public func grid(modelStepSize: Double, modelLength: Double) throws -> [HMCPoint] {
        let eps = hmcStepSizes ?? Self.defaultStepFactors.map { Self.threeDigits($0 * modelStepSize) }
        let lengths = hmcLengths ?? Self.defaultLengthFactors.map { Self.threeDigits($0 * modelLength) }
        var points: [HMCPoint] = []
        for e in eps.sorted() {
            for l in lengths.sorted() {
                let n = max(1, (l / e).rounded())
                guard n <= Double(Self.maxSteps) else {
                    throw ComparisonError.invalidOption(name: "--hmc-length", reason: "length \(l) at step size \(e) needs \(n) leapfrog steps, more than \(Self.maxSteps)")
                }
                let p = HMCPoint(stepSize: e, steps: Int(n))
                if !points.contains(p) { points.append(p) }
            }
        }
        return points
    }

    /// `x` rounded to three significant digits (as its `%.3g` text reads back).
    public static func threeDigits(_ x: Double) -> Double {
        Double(String(format: "%.3g", x)) ?? x
    }
}
