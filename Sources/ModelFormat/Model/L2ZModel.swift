/// A sampler model: its description and its arrays, as stored in one `.l2z` file.
public struct L2ZModel: Equatable, Sendable {
    /// The model's description, by family.
    public var spec: ModelSpec
    /// Every array by canonical name (see ``ModelSpec/expectedArrays(probe:)``), plus any
    /// `ext.` extension arrays.
    public var arrays: [String: NDArray]
    public var probe: ProbeSpec?
    public var provenance: Provenance
    /// Root-level `x-` manifest extensions.
    public var extensions: [String: JSONValue]

    public init(spec: ModelSpec, arrays: [String: NDArray], probe: ProbeSpec? = nil,
                provenance: Provenance, extensions: [String: JSONValue] = [:]) {
        self.spec = spec; self.arrays = arrays; self.probe = probe
        self.provenance = provenance; self.extensions = extensions
    }

    /// An l2hmc model.
    public init(sampler: SamplerSpec, arrays: [String: NDArray], probe: ProbeSpec? = nil,
                provenance: Provenance, extensions: [String: JSONValue] = [:]) {
        self.init(spec: .l2hmc(sampler), arrays: arrays, probe: probe, provenance: provenance, extensions: extensions)
    }

    /// The l2hmc payload; ``L2ZError/wrongFamily(found:expected:)`` (`model.wrong_family`) for a
    /// model of another family, so an l2hmc-only command refuses a flow with a coded error.
    public var sampler: SamplerSpec {
        get throws { try spec.l2hmc() }
    }

    /// Changes the l2hmc payload in place (`model.wrong_family` for another family).
    public mutating func updateSampler(_ change: (inout SamplerSpec) throws -> Void) throws {
        var s = try spec.l2hmc()
        try change(&s)
        spec = .l2hmc(s)
    }

    /// The array `name` as Double values; throws ``L2ZError/arrayMissing(name:reason:)`` if absent.
    public func doubles(_ name: String) throws -> [Double] {
        guard let a = arrays[name] else { throw L2ZError.arrayMissing(name: name, reason: "requested by the caller") }
        return a.doubles()
    }

    /// The manifest describing this model (array checksums computed from the data).
    public func manifest() -> Manifest {
        Manifest(requiredFeatures: spec.requiredFeatures(probe: probe), model: spec,
                 arrays: arrays.mapValues { ArrayEntry(dtype: $0.dtype, shape: $0.shape, sha256: SHA256Digest.hex($0.bytes)) },
                 probe: probe, provenance: provenance, extensions: extensions)
    }
}
