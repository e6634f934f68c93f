import Foundation

/// How many chains never changed their integer topological charge.
///
/// A chain is frozen when `round(Q_int)` (half away from zero, as in ``TunnelingRate``) takes one
/// value over all of its samples. A chain with a non-finite charge is not counted as frozen (its
/// charge is not known to be constant). Chains may differ in length; an empty chain is not
/// counted at all. `fraction = frozenChains / chains` (0 when there are no chains).
public struct FrozenCharge: Sendable, Equatable {
    public let frozenChains: Int
    public let chains: Int
    public var fraction: Double { chains > 0 ? Double(frozenChains) / Double(chains) : 0 }

    public init(frozenChains: Int, chains: Int) {
        self.frozenChains = frozenChains
        self.chains = chains
    }

    /// Counts the frozen chains of `charges[chain][step]`.
    public static func measure(charges: [[Double]]) -> FrozenCharge {
        var frozen = 0
        var counted = 0
        for chain in charges where !chain.isEmpty {
            counted += 1
            guard chain.allSatisfy({ $0.isFinite }) else { continue }
            let first = chain[0].rounded(.toNearestOrAwayFromZero)
            if chain.allSatisfy({ $0.rounded(.toNearestOrAwayFromZero) == first }) { frozen += 1 }
        }
        return FrozenCharge(frozenChains: frozen, chains: counted)
    }
}
