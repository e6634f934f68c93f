/// What one tile contributes to a training step: its share of the gradient and of the
/// metrics, and its chains' states after Metropolis-Hastings. Every field is computed from the
/// tile's own chains only, in a fixed order, so the value is the same whichever thread or
/// process computes it; the trainer adds the tiles in tile order (``L2HMCTrainer``).
public struct TileResult: Sendable, Equatable {
    /// The tile index (``Tiling``).
    public var tile: Int
    /// dl/dparams of this tile's chains, both batches, with the weights 1/chains and
    /// aux_weight/chains already applied (same layout as the parameter vector).
    public var gradient: [Double]
    /// Sums over the tile's chains, in chain order: the per-chain loss of the persistent batch
    /// and of the auxiliary batch (unweighted), the acceptance A, A times the jump distance, and
    /// the target's tunneling measure.
    public var lossSum: Double
    public var auxLossSum: Double
    public var acceptanceSum: Double
    public var esjdSum: Double
    public var tunnelingSum: Double
    /// The tile's chain states after accept/reject, [rows, n] row-major.
    public var chains: [Double]

    public init(tile: Int, gradient: [Double], lossSum: Double, auxLossSum: Double, acceptanceSum: Double, esjdSum: Double,
                tunnelingSum: Double, chains: [Double]) {
        self.tile = tile; self.gradient = gradient; self.lossSum = lossSum; self.auxLossSum = auxLossSum
        self.acceptanceSum = acceptanceSum; self.esjdSum = esjdSum; self.tunnelingSum = tunnelingSum; self.chains = chains
    }
}
