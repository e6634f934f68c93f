/// The seam between the training loop and where tiles are computed. A participant (this
/// process, or one MPI rank) computes the tiles ``localTiles(tileCount:)`` names; ``combine``
/// returns every tile's ``TileResult`` in global tile order, identical on every participant, so
/// each then makes the same ordered sum, clipping, Adam update and chain update and holds the
/// same state. An MPI implementation is an allgather of the per-tile results; the in-process one
/// (``InProcessExchange``) computes every tile itself.
public protocol GradientExchange {
    /// The tiles this participant computes, ascending.
    func localTiles(tileCount: Int) -> [Int]
    /// Every tile's result, index k holding tile k, given this participant's own results.
    func combine(localTiles: [TileResult], tileCount: Int) -> [TileResult]
}

/// One process computes every tile (on its threads).
public struct InProcessExchange: GradientExchange {
    public init() {}

    public func localTiles(tileCount: Int) -> [Int] { Array(0..<tileCount) }

    public func combine(localTiles: [TileResult], tileCount: Int) -> [TileResult] {
        let ordered = localTiles.sorted { $0.tile < $1.tile }
        precondition(ordered.map(\.tile) == Array(0..<tileCount), "the in-process exchange holds every tile once")
        return ordered
    }
}
