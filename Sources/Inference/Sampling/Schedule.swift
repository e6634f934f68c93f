/// Which sampler produces each trajectory: an optional HMC warm-up of `hmcStart` trajectories,
/// then a repeating pattern such as `l2hmc:1,hmc:4`.
public struct Schedule: Equatable, Sendable, CustomStringConvertible {
    /// The samplers: `l2hmc` (an L2HMC model), `hmc` (plain leapfrog), `fthmc` (HMC in the
    /// latent field z of a flow model, ``FieldTransformedHMC``), `flow` (independence Metropolis
    /// with flow proposals, ``FlowIndependenceProposal``).
    public enum Kind: String, CaseIterable, Sendable {
        case l2hmc, hmc, fthmc, flow

        /// The code of this kind in a run directory's `sampler.npy` (0 l2hmc, 1 hmc, 2 fthmc, 3 flow).
        public var code: UInt8 {
            switch self {
            case .l2hmc: return 0
            case .hmc: return 1
            case .fthmc: return 2
            case .flow: return 3
            }
        }

        /// The kind of a `sampler.npy` code, nil for an unknown code.
        public init?(code: UInt8) {
            guard let k = Kind.allCases.first(where: { $0.code == code }) else { return nil }
            self = k
        }

        /// True for the kinds that run a flow model.
        public var usesFlow: Bool { self == .fthmc || self == .flow }
    }

    public let pattern: [(kind: Kind, count: Int)]
    public let hmcStart: Int

    public static func == (a: Schedule, b: Schedule) -> Bool {
        a.hmcStart == b.hmcStart && a.pattern.map(\.kind) == b.pattern.map(\.kind) && a.pattern.map(\.count) == b.pattern.map(\.count)
    }

    public init(pattern: [(kind: Kind, count: Int)], hmcStart: Int = 0) {
        precondition(!pattern.isEmpty && pattern.allSatisfy { $0.count >= 1 } && hmcStart >= 0)
        self.pattern = pattern
        self.hmcStart = hmcStart
    }

    /// Parses `kind:count,kind:count,...` (a bare `kind` means count 1).
    public init(parsing text: String, hmcStart: Int = 0) throws {
        var pattern: [(kind: Kind, count: Int)] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            guard let kind = Kind(rawValue: String(fields[0]).trimmingCharacters(in: .whitespaces)), fields.count <= 2 else {
                throw InferenceError.invalidOption(name: "--schedule", reason: "\"\(part)\" is not kind:count with kind l2hmc, hmc, fthmc or flow (example: l2hmc:1,hmc:4)")
            }
            var count = 1
            if fields.count == 2 {
                guard let c = Int(fields[1]), c >= 1 else {
                    throw InferenceError.invalidOption(name: "--schedule", reason: "count in \"\(part)\" must be a positive integer")
                }
                count = c
            }
            pattern.append((kind, count))
        }
        guard hmcStart >= 0 else { throw InferenceError.invalidOption(name: "--hmc-start", reason: "must be >= 0") }
        self.init(pattern: pattern, hmcStart: hmcStart)
    }

    public static let l2hmcOnly = Schedule(pattern: [(.l2hmc, 1)])
    public static let hmcOnly = Schedule(pattern: [(.hmc, 1)])

    /// The sampler of trajectory t (0-based, counted from the start of the run).
    public func kind(at t: Int) -> Kind {
        if t < hmcStart { return .hmc }
        let period = pattern.reduce(0) { $0 + $1.count }
        var r = (t - hmcStart) % period
        for entry in pattern {
            if r < entry.count { return entry.kind }
            r -= entry.count
        }
        return pattern[pattern.count - 1].kind  // init requires a non-empty pattern
    }

    /// The kinds this schedule runs (each once, in ``Kind`` order).
    public var kinds: [Kind] { Kind.allCases.filter { kind in kind == .hmc ? usesHMC : pattern.contains { $0.kind == kind } } }

    public var usesL2HMC: Bool { pattern.contains { $0.kind == .l2hmc } }
    /// True when a trajectory uses a flow model (fthmc or flow).
    public var usesFlow: Bool { pattern.contains { $0.kind.usesFlow } }
    /// True when the schedule needs a model (L2HMC or a flow).
    public var needsModel: Bool { usesL2HMC || usesFlow }
    public var usesHMC: Bool { hmcStart > 0 || pattern.contains { $0.kind == .hmc } }

    public var description: String {
        (hmcStart > 0 ? "hmc x \(hmcStart), then " : "") + pattern.map { "\($0.kind.rawValue):\($0.count)" }.joined(separator: ",")
    }
}

import Foundation
