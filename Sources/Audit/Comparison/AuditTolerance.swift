/// One documented bound of the audit: the largest deviation allowed for a quantity when two
/// implementations (or two evaluations) of the same mathematics are compared, and why.
public struct AuditTolerance: Sendable, Equatable {
    /// What is compared ("network heads S, T, Q", "log-det", ...).
    public let quantity: String
    /// The bound: a deviation passes when it is <= `bound` (strictly below for crossval's
    /// checks, as they always were).
    public let bound: Double
    /// Whether deviations are measured relative to max(1, |reference|) (otherwise absolute).
    public let relative: Bool
    /// The justification of the bound.
    public let reason: String

    /// The bound as crossval prints it: `1e-10`, `1e-9`, `1e-5` (no zero-padded exponent).
    public var text: String {
        String(format: "%g", bound).replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+0", with: "e+")
    }
}

/// The tolerance table of the audit: the golden path comparison (trainer path vs runtime path,
/// ``PathComparison``) and `crossval` take every bound from here.
///
/// Common ground (float64 throughout): both paths evaluate the same formulas with different
/// summation orders (OpenBLAS GEMM blocking versus the trainer's GEMMs on different shapes, fused
/// versus unfused elementwise loops, atan2 versus the same atan2 on rounded inputs). Each
/// operation is correctly rounded to 1e-16 relative; the deviations grow through N_LF steps of
/// four sub-updates with O(1) Jacobians, to ~1e-14 in practice. Each bound is 100x or more above
/// the deviations observed and many orders below what any wrong weight, sign, mask or step size
/// produces (>= 1e-4; GoldenTests.MutationTests shows each such fault caught).
public enum AuditTolerances {
    // MARK: golden comparison, per sub-update (PathComparison)

    /// A single network evaluation: sums of a few hundred terms, each rounded to 1e-16.
    public static let heads = AuditTolerance(
        quantity: "network heads S, T, Q", bound: 1e-12, relative: true,
        reason: "a single network evaluation, sums of a few hundred terms each rounded to 1e-16 relative")
    /// States after each sub-update (v', x', x'', v'' of every step); x angle-aware on U(1).
    public static let state = AuditTolerance(
        quantity: "states x (angle-aware), v after each sub-update", bound: 1e-11, relative: true,
        reason: "rounding of ~1e-16 per operation grown through N_LF steps of four sub-updates with O(1) Jacobians (~1e-14 observed)")
    /// The running log-det after each sub-update.
    public static let logDet = AuditTolerance(
        quantity: "running log-det", bound: 1e-10, relative: false,
        reason: "a sum of n terms per sub-update, each ~1e-16 relative")
    /// The Metropolis-Hastings acceptance probability from each side's own energies.
    public static let acceptance = AuditTolerance(
        quantity: "acceptance probability", bound: 1e-10, relative: false,
        reason: "exp of a difference of O(100) energies: cancellation costs about two digits")

    // MARK: crossval (whole trajectories)

    /// crossval's recomputation, x and v after a whole trajectory (both directions): the state
    /// bound above is per sub-update on random weights; a trained model's trajectory starts
    /// from thermalized states and ends after all 4 N_LF sub-updates, so crossval allows one
    /// more decade (still six orders below the >= 1e-4 of any real fault).
    public static let recomputationState = AuditTolerance(
        quantity: "recomputation: x (angle-aware), v after a trajectory", bound: 1e-10, relative: true,
        reason: "the per-sub-update state bound (1e-11) with one decade for whole trajectories from thermalized states")
    /// crossval's recomputation, the log-det after a whole trajectory: the running log-det
    /// bound above accumulated over every sub-update of the trajectory (one decade more).
    public static let recomputationLogDet = AuditTolerance(
        quantity: "recomputation: log-det after a trajectory", bound: 1e-9, relative: false,
        reason: "the running log-det bound (1e-10) accumulated over all 4 N_LF sub-updates")
    /// F L F L (forward, flip, forward, flip) returns the start: the same arithmetic run
    /// forward and then inverted, so only the rounding of two trajectories separates them.
    public static let reversibility = AuditTolerance(
        quantity: "reversibility: |dx|, |dv|, |log-det sum| after F L F L", bound: 1e-10, relative: false,
        reason: "forward then inverse of the same arithmetic: rounding of two trajectories, ~1e-14 observed")
    /// The log|det| of the numerical Jacobian against the accumulated log-det: central
    /// differences with h = 1e-6 are accurate to ~1e-9 per entry; the log-det of a 2n x 2n
    /// well-conditioned matrix then to ~1e-6.
    public static let numericalJacobian = AuditTolerance(
        quantity: "numerical Jacobian log|det| vs accumulated log-det", bound: 1e-5, relative: true,
        reason: "central differences (h = 1e-6) give each entry to ~1e-9, the log-det of a 2n x 2n well-conditioned matrix to ~1e-6")

    // MARK: flows (family `flow`)

    /// f^-1(f(z)) = z per link (angle-aware), and the log-dets of the two directions: each
    /// layer's mixture is solved by Newton in a bracket to a few ulp, so only the rounding of a
    /// forward and an inverse pass (~1e-14 observed on 16 layers) separates them.
    public static let flowInverse = AuditTolerance(
        quantity: "flow inverse: |f^-1(f(z)) - z|, log-det difference", bound: 1e-10, relative: false,
        reason: "forward then Newton-solved inverse: rounding of two passes, ~1e-14 observed")
    /// The reverse-mode FT-HMC force against central differences of S~ (h = 1e-5): truncation
    /// h^2 |S~'''| / 6 ~ 1e-9 and rounding 1e-16 |S~| / h ~ 1e-9 for |S~| ~ 100, per component,
    /// relative to max(1, |F|).
    public static let flowForce = AuditTolerance(
        quantity: "flow force dS~/dz vs central differences", bound: 1e-6, relative: true,
        reason: "central differences with h = 1e-5 are accurate to ~1e-8 for actions of size ~100")
    /// The trainer's flow (its own forward and reverse pass) against the runtime's: x, the
    /// log-det and the force, relative to max(1, |reference|).
    public static let flowRecomputation = AuditTolerance(
        quantity: "flow recomputation: x, log-det and force, trainer vs runtime", bound: 1e-10, relative: true,
        reason: "the same formulas with different summation orders through every layer, ~1e-13 observed")

    /// Every bound, in the order documented above.
    public static let all: [AuditTolerance] = [heads, state, logDet, acceptance, recomputationState, recomputationLogDet,
                                               reversibility, numericalJacobian, flowInverse, flowForce, flowRecomputation]
}
