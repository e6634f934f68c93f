/// How one model family reads its part of a manifest. Encoding and the rules live in the
/// family's ``ModelSpec`` case; this is the decoder that `architecture.name` selects.
protocol ModelFamilyDecoder {
    /// The `architecture` name and version this decoder reads.
    static var architecture: ModelArchitecture { get }
    /// Reads the family's root keys, each strictly (presence, type, range), in a fixed order.
    /// Cross-field rules are checked later, through ``ModelSpec/validate()``.
    static func decode(root: inout JSONObjectReader) throws -> ModelSpec
}

/// The registry of model families this reader implements: one line per family.
enum ModelFamilies {
    static var decoders: [any ModelFamilyDecoder.Type] { [L2HMCFamily.self, FlowFamily.self] }

    /// The decoder for `architecture`, or nil (an unsupported architecture).
    static func decoder(for architecture: ModelArchitecture) -> (any ModelFamilyDecoder.Type)? {
        decoders.first { $0.architecture == architecture }
    }

    /// "l2hmc v1" (every supported architecture, comma separated), for error messages.
    static var supported: String { decoders.map { $0.architecture.description }.joined(separator: ", ") }
}

/// The l2hmc family: an L2HMC sampler (``SamplerSpec``) under `target`, `dynamics`, `network`
/// and `net_weights`; its rules and array table are ``SamplerRules``.
enum L2HMCFamily: ModelFamilyDecoder {
    static let architecture = ModelArchitecture(name: "l2hmc", version: 1)

    static func decode(root r: inout JSONObjectReader) throws -> ModelSpec {
        let target = try ManifestCodec.decodeTarget(try r.object("target"))
        let dynamics = try ManifestCodec.decodeDynamics(try r.object("dynamics"))
        let network = try ManifestCodec.decodeNetwork(try r.object("network"))
        let netWeights = try ManifestCodec.decodeNetWeights(try r.object("net_weights"))
        return .l2hmc(SamplerSpec(target: target, dynamics: dynamics, network: network, netWeights: netWeights))
    }

    static func encode(_ s: SamplerSpec) -> [String: JSONValue] {
        ["target": ManifestCodec.encodeTarget(s.target), "dynamics": ManifestCodec.encodeDynamics(s.dynamics),
         "network": ManifestCodec.encodeNetwork(s.network),
         "net_weights": .object(Dictionary(uniqueKeysWithValues: zip(NetWeights.keys, s.netWeights.values.map { JSONValue.double($0) })))]
    }
}
