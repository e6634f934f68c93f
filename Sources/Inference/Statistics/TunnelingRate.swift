import Foundation

/// Tunneling rate of the topological charge.
///
/// Definition (docs/physics): `rate = mean over chains and steps of |Q(t+1) - Q(t)|` with
/// `Q = round(Q_int)` (round half away from zero). The input charges are `Double`s because the
/// sampler stores them that way; `Q_int` is an integer up to rounding, so the rounding only
/// removes that noise (a smooth proxy such as `Q_sin` should not be passed here).
///
/// Contract: `events` is the total `sum |dQ|` (a jump by 2 counts as 2 events), `transitions`
/// the number of (t, t+1) pairs over all chains, `rate = events / transitions` (0 when there are
/// no transitions), and `changedSteps` the number of pairs with `dQ != 0`. Chains may differ in
/// length; chains shorter than 2 contribute no transition. Non-finite charges are a precondition
/// failure.
public struct TunnelingRate: Sendable, Equatable {
    public let rate: Double
    public let events: Int
    public let transitions: Int
    public let changedSteps: Int

    public init(rate: Double, events: Int, transitions: Int, changedSteps: Int) {
        self.rate = rate
        self.events = events
        self.transitions = transitions
        self.changedSteps = changedSteps
    }

    /// Measures the rate from per-chain charge series `charges[chain][step]`.
    public static func measure(charges: [[Double]]) -> TunnelingRate {
        var events = 0
        var transitions = 0
        var changed = 0
        for chain in charges where chain.count >= 2 {
            var previous = integerCharge(chain[0])
            for q in chain.dropFirst() {
                let current = integerCharge(q)
                let jump = abs(current - previous)
                events += jump
                if jump != 0 { changed += 1 }
                transitions += 1
                previous = current
            }
        }
        let rate = transitions > 0 ? Double(events) / Double(transitions) : 0
        return TunnelingRate(rate: rate, events: events, transitions: transitions, changedSteps: changed)
    }

    private static func integerCharge(_ q: Double) -> Int {
        precondition(q.isFinite, "TunnelingRate: non-finite charge \(q)")
        return Int(q.rounded(.toNearestOrAwayFromZero))
    }
}
