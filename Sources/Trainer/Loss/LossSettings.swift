/// Weights and scales of the training loss (seed 001 eq. 36-37, 50, 77, 80-81, and an acceptance reward).
public struct LossSettings: Sendable, Equatable {
    /// Weight of the ESJD term l_lambda(delta A) (eq. 36), metric 1 - cos (U(1), eq. 50) or
    /// squared Euclidean (mixtures, eq. 35).
    public var esjdWeight: Double = 1
    /// The length scale lambda of eq. 36.
    public var lambda: Double = 1
    /// Weight and scale of the plaquette term (eq. 77); U(1) only.
    public var plaquetteWeight: Double = 0
    public var lambdaPlaquette: Double = 1
    /// Weight and scale of the charge term -(dQ_sin / lambda_Q)^2 A (eq. 80-81); U(1) only.
    public var chargeWeight: Double = 0
    public var lambdaCharge: Double = 1
    /// Weight w_A of the acceptance reward -w_A A per chain: it counts every accepted
    /// trajectory, whether or not it moved far, so a loss that rewards only large moves (the
    /// charge term) cannot trade acceptance away for them unchecked. 0: off.
    public var acceptanceWeight: Double = 0
    /// lambda_b of eq. 37: weight of chains drawn fresh from the initialization distribution.
    public var auxWeight: Double = 0
    /// Added to delta A in denominators so a chain that did not move gives a large but finite loss.
    public var denominatorFloor: Double = 1e-4

    public init() {}
}
