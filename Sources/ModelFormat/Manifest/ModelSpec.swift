/// The model a manifest describes, one case per model family. The manifest's
/// `architecture.name` (with its version) chooses the family's decoder (``ModelFamilies``); the
/// family's payload holds everything needed to rebuild the model apart from its arrays.
///
/// Everything that differs between families goes through this enum: validation, required
/// features, the canonical array table (one walker that both lists and counts) and the manifest
/// keys. docs/FORMAT.md ("Adding a model family") says how a new family lands.
public enum ModelSpec: Equatable, Sendable {
    /// An L2HMC sampler (architecture `l2hmc` version 1).
    case l2hmc(SamplerSpec)
    /// A U(1) normalizing flow (architecture `flow` version 1).
    case flow(FlowSpec)

    /// The name and version written to the manifest's `architecture` object.
    public var architecture: ModelArchitecture {
        switch self {
        case .l2hmc: return L2HMCFamily.architecture
        case .flow: return FlowFamily.architecture
        }
    }

    /// The distribution the model samples.
    public var target: Target {
        switch self {
        case let .l2hmc(s): return s.target
        case let .flow(f): return .u1(f.target)
        }
    }

    /// Number of real variables in x.
    public var stateSize: Int { target.stateSize }

    /// Rejects descriptions that cannot define a correct model (the family's cross-field rules).
    public func validate() throws {
        switch self {
        case let .l2hmc(s): try SamplerRules.validate(s)
        case let .flow(f): try FlowRules.validate(f)
        }
    }

    /// Checks a probe description against the model.
    public func validate(probe: ProbeSpec) throws {
        switch self {
        case let .l2hmc(s): try SamplerRules.validate(probe: probe, for: s)
        case let .flow(f): try FlowRules.validate(probe: probe, for: f)
        }
    }

    /// Features a file with this model (and probe) must list in `required_features`.
    public func requiredFeatures(probe: ProbeSpec?) -> [String] {
        switch self {
        case let .l2hmc(s): return SamplerRules.requiredFeatures(of: s, probe: probe)
        case let .flow(f): return FlowRules.requiredFeatures(of: f, probe: probe)
        }
    }

    /// The family's one walk over its canonical array table.
    public func walkArrays<V: ArrayTableVisitor>(probe: ProbeSpec?, into visitor: inout V) {
        switch self {
        case let .l2hmc(s): SamplerRules.walkArrays(s, probe: probe, into: &visitor)
        case let .flow(f): FlowRules.walkArrays(f, probe: probe, into: &visitor)
        }
    }

    /// The exact set of arrays a model with this description must contain.
    public func expectedArrays(probe: ProbeSpec?) -> [String: SamplerRules.ExpectedArray] {
        var builder = ArrayTableBuilder()
        walkArrays(probe: probe, into: &builder)
        return builder.table
    }

    /// The size of ``expectedArrays(probe:)``, from the same walk without building the table.
    public func expectedArrayCount(probe: ProbeSpec?) -> Int {
        var counter = ArrayTableCounter()
        walkArrays(probe: probe, into: &counter)
        return counter.count
    }

    /// The manifest's root keys that belong to the family (l2hmc: `target`, `dynamics`,
    /// `network`, `net_weights`).
    /// The l2hmc payload, or ``L2ZError/wrongFamily(found:expected:)`` for another family.
    public func l2hmc() throws -> SamplerSpec {
        switch self {
        case let .l2hmc(s): return s
        case .flow: throw L2ZError.wrongFamily(found: architecture.description, expected: L2HMCFamily.architecture.description)
        }
    }

    /// The flow payload, or ``L2ZError/wrongFamily(found:expected:)`` for another family.
    public func flow() throws -> FlowSpec {
        switch self {
        case let .flow(f): return f
        case .l2hmc: throw L2ZError.wrongFamily(found: architecture.description, expected: FlowFamily.architecture.description)
        }
    }

    func manifestFields() -> [String: JSONValue] {
        switch self {
        case let .l2hmc(s): return L2HMCFamily.encode(s)
        case let .flow(f): return FlowFamily.encode(f)
        }
    }
}

/// A manifest's `architecture` object: the family's name and its own version.
public struct ModelArchitecture: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var version: Int
    public init(name: String, version: Int) { self.name = name; self.version = version }
    /// "name vN", as error messages and `inspect` print it.
    public var description: String { "\(name) v\(version)" }
}
