import Foundation

/// A stationarity diagnostic of the kept (post-thermalization) data of a run, and its verdict.
///
/// Two kinds of evidence that the chains have not reached equilibrium:
/// - **drift**: for each observable, ``HalfDrift`` compares the first and the second half of the
///   kept data; a drift is significant when `|z| > driftThreshold` (4);
/// - **frozen topology** (U(1)): the fraction of chains whose integer charge never changed during
///   the kept data (``FrozenCharge``); the topology is frozen when that fraction exceeds
///   `frozenFractionThreshold` (0.5, i.e. most chains).
///
/// The verdict is `notEquilibrated` when there is any significant drift or the topology is
/// frozen, `notAssessed` when there is nothing to test (fewer than ``HalfDrift/minimumSamples``
/// kept samples per chain and no charge), and `equilibrated` otherwise, which means only that
/// these tests found nothing.
///
/// Why |z| > 4. With honest errors the drift z of a stationary run is close to standard normal
/// and, because adjacent halves are positively correlated, a little narrower; `P(|z| > 4)` is
/// 6.3e-5 per observable, below 1e-3 for a table of up to ten observables, while a run still
/// relaxing from a hot or cold start drifts by tens of standard deviations. Why most chains:
/// a chain that never changed Q contributed one value of Q^2 to the average, so when most chains
/// are frozen `<Q^2>` reflects their starting charges, not the equilibrium distribution, whatever
/// its error bar says; a well-sampled run has almost no frozen chain (plain HMC at beta 1 on 4x4
/// tunnels every few trajectories), so one half is far from both.
public struct Equilibration: Sendable, Equatable {
    public enum Verdict: String, Sendable, Equatable {
        case equilibrated
        case notEquilibrated = "not equilibrated"
        case notAssessed = "not assessed"
    }

    /// The drift of one named observable.
    public struct Drift: Sendable, Equatable {
        public let name: String
        public let drift: HalfDrift
        public init(name: String, drift: HalfDrift) {
            self.name = name
            self.drift = drift
        }
    }

    public static let driftThreshold = 4.0
    public static let frozenFractionThreshold = 0.5

    /// Every observable whose halves could be compared, in the order given.
    public let drifts: [Drift]
    /// U(1) only.
    public let frozenCharge: FrozenCharge?

    public init(drifts: [Drift], frozenCharge: FrozenCharge?) {
        self.drifts = drifts
        self.frozenCharge = frozenCharge
    }

    /// The drifts with `|z| > driftThreshold` (NaN is never significant).
    public var significantDrifts: [Drift] { drifts.filter { abs($0.drift.z) > Self.driftThreshold } }

    /// The drift with the largest `|z|` (NaN ignored); nil when there is none.
    public var largestDrift: Drift? {
        drifts.filter { !$0.drift.z.isNaN }.max { abs($0.drift.z) < abs($1.drift.z) }
    }

    /// True when more than `frozenFractionThreshold` of the chains never changed Q.
    public var topologyFrozen: Bool { frozenCharge.map { $0.chains > 0 && $0.fraction > Self.frozenFractionThreshold } ?? false }

    public var verdict: Verdict {
        if !significantDrifts.isEmpty || topologyFrozen { return .notEquilibrated }
        if drifts.isEmpty && (frozenCharge?.chains ?? 0) == 0 { return .notAssessed }
        return .equilibrated
    }

    /// One sentence per piece of evidence: each significant drift (or, when there is none, the
    /// largest drift tested), then the frozen count (with its threshold when it is evidence
    /// against equilibrium). Empty when nothing was tested.
    public var evidence: [String] {
        var lines: [String] = []
        let significant = significantDrifts
        for d in significant {
            lines.append(String(format: "%@ drifts between the halves of the kept data (%.6g -> %.6g, z = %+.2f, threshold %g)",
                                d.name, d.drift.first.mean, d.drift.second.mean, d.drift.z, Self.driftThreshold))
        }
        if significant.isEmpty, let d = largestDrift {
            lines.append(String(format: "largest drift between the halves %@ z = %+.2f (threshold %g)", d.name, d.drift.z, Self.driftThreshold))
        }
        if let f = frozenCharge, f.chains > 0 {
            let threshold = topologyFrozen ? String(format: " (threshold: more than %.0f%%)", 100 * Self.frozenFractionThreshold) : ""
            lines.append(String(format: "%d of %d chains (%.0f%%) never changed Q", f.frozenChains, f.chains, 100 * f.fraction) + threshold)
        }
        return lines
    }
}
