/// Which sampler produces each trajectory: an optional HMC warm-up of `hmcStart` trajectories,
/// then a repeating pattern such as `l2hmc:1,hmc:4`.
public struct Schedule: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, CaseIterable, Sendable { case l2hmc, hmc }

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
                throw InferenceError.invalidOption(name: "--schedule", reason: "\"\(part)\" is not kind:count with kind l2hmc or hmc (example: l2hmc:1,hmc:4)")
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
    public var usesHMC: Bool { hmcStart > 0 || pattern.contains { $0.kind == .hmc } }

    public var description: String {
        (hmcStart > 0 ? "hmc x \(hmcStart), then " : "") + pattern.map { "\($0.kind.rawValue):\($0.count)" }.joined(separator: ",")
    }
}

import Foundation
