import Foundation
import ModelFormat

/// How leapfrog steps map onto trained per-step networks when N_LF differs from the trained N.
public enum StepMapping: String, CaseIterable, Sendable {
    /// Step k uses network k mod N_trained (the trained sequence repeated).
    case cyclic
    /// Step k uses network floor(k N_trained / N) (the trained sequence stretched or squeezed).
    case stretch
}

/// What each leapfrog step uses: network index, mask index, time encoding and step sizes.
///
/// Rules (docs/FORMAT.md, "Free N_LF"): with shared networks, step k of N uses network 0, the
/// time encoding tau(k, N) = (cos 2 pi k/N, sin 2 pi k/N), and the mask and step sizes of trained
/// step k mod N_trained. With per-step networks and N = N_trained, step k uses everything of
/// step k. With per-step networks and N != N_trained a ``StepMapping`` must be chosen; step k
/// then uses trained step j = map(k) entirely (network j, mask j, step sizes j, tau(j, N_trained)).
/// The backward direction visits the same steps in reverse order, so every choice keeps the
/// kernel exactly reversible.
public struct StepPlan: Equatable, Sendable {
    public struct Step: Equatable, Sendable {
        public let network: Int
        public let mask: Int
        public let tau: [Double]  // (cos, sin)
        public let epsX: Double
        public let epsV: Double
    }

    public let steps: [Step]
    public let mapping: StepMapping?

    public enum Failure: Error, CustomStringConvertible, Equatable {
        case invalidStepCount(Int)
        case mappingRequired(trained: Int, requested: Int)
        public var description: String {
            switch self {
            case let .invalidStepCount(n): return "N_LF must be >= 1 (got \(n))"
            case let .mappingRequired(trained, requested):
                return "this model has one network per leapfrog step (trained N_LF \(trained)); running N_LF \(requested) needs --step-mapping cyclic (network k mod \(trained)) or stretch (network floor(k * \(trained) / \(requested)))"
            }
        }
    }

    /// - epsX, epsV: the stored step-size parameters (one per trained step); the parametrizations
    ///   of `dynamics` convert them to step sizes.
    public init(dynamics: Dynamics, layout: NetworkLayout, epsX: [Double], epsV: [Double], nLF: Int, mapping: StepMapping?) throws {
        guard nLF >= 1 else { throw Failure.invalidStepCount(nLF) }
        let trained = dynamics.nLF
        func tau(_ k: Int, _ n: Int) -> [Double] { [cos(2 * .pi * Double(k) / Double(n)), sin(2 * .pi * Double(k) / Double(n))] }
        func eps(_ j: Int) -> (Double, Double) {
            (dynamics.epsXParametrization.stepSize(epsX[j]), dynamics.epsVParametrization.stepSize(epsV[j]))
        }
        var steps: [Step] = []
        switch layout {
        case .shared:
            for k in 0..<nLF {
                let j = k % trained
                let (ex, ev) = eps(j)
                steps.append(Step(network: 0, mask: j, tau: tau(k, nLF), epsX: ex, epsV: ev))
            }
            self.mapping = nil
        case .perStep:
            let map: StepMapping?
            if nLF == trained { map = nil } else {
                guard let mapping else { throw Failure.mappingRequired(trained: trained, requested: nLF) }
                map = mapping
            }
            for k in 0..<nLF {
                let j: Int
                switch map {
                case nil: j = k
                case .cyclic?: j = k % trained
                case .stretch?: j = k * trained / nLF
                }
                let (ex, ev) = eps(j)
                steps.append(Step(network: j, mask: j, tau: tau(j, trained), epsX: ex, epsV: ev))
            }
            self.mapping = map
        }
        self.steps = steps
    }
}
