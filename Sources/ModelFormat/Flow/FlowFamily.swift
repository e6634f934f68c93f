/// The flow family (architecture `flow` version 1, docs/FORMAT.md section 13): a U(1) normalizing
/// flow under the root keys `target`, `flow` and `hmc`; its rules and array table are
/// ``FlowRules``.
enum FlowFamily: ModelFamilyDecoder {
    static let architecture = ModelArchitecture(name: "flow", version: 1)

    static func decode(root r: inout JSONObjectReader) throws -> ModelSpec {
        let target = try ManifestCodec.decodeTarget(try r.object("target"))
        guard case let .u1(lattice) = target else {
            throw L2ZError.manifestInvalidValue(path: "target.kind", expected: "\"u1_2d\" (flows are U(1) gauge flows)", actual: "\"gaussian_mixture\"")
        }
        let coupling = try decodeCoupling(try r.object("flow"))
        var h = try r.object("hmc")
        let step = try h.double("step_size"), nLF = try h.int("n_lf", min: 1)
        try h.finish()
        return .flow(FlowSpec(target: lattice, coupling: coupling, hmc: FlowHMCSettings(stepSize: step, nLF: nLF)))
    }

    private static func decodeCoupling(_ reader: JSONObjectReader) throws -> FlowCoupling {
        var f = reader
        let kind = try f.string("coupling")
        guard kind == FlowRules.couplingKind else {
            throw L2ZError.manifestInvalidValue(path: f.childPath("coupling"), expected: "\"\(FlowRules.couplingKind)\"", actual: "\"\(kind)\"")
        }
        let layers = try f.int("layers", min: 1)
        let rule = try f.choice("mask_rule", FlowMaskRule.self)
        let nMix = try f.int("n_mix", min: 1)
        let kernel = try f.int("kernel_size", min: 1)
        let hidden = try JSONObjectReader.ints(try f.required("hidden_channels"), path: f.childPath("hidden_channels"))
        let activation = try f.choice("activation", Activation.self)
        let prior = try f.choice("prior", FlowPrior.self)
        let convention = try f.choice("angle_convention", AngleConvention.self)
        try f.finish()
        return FlowCoupling(layers: layers, maskRule: rule, nMix: nMix, kernelSize: kernel, hiddenChannels: hidden,
                            activation: activation, prior: prior, angleConvention: convention)
    }

    static func encode(_ s: FlowSpec) -> [String: JSONValue] {
        let c = s.coupling
        return [
            "target": ManifestCodec.encodeTarget(.u1(s.target)),
            "flow": .object([
                "coupling": .string(FlowRules.couplingKind), "layers": .int(Int64(c.layers)), "mask_rule": .string(c.maskRule.rawValue),
                "n_mix": .int(Int64(c.nMix)), "kernel_size": .int(Int64(c.kernelSize)),
                "hidden_channels": .array(c.hiddenChannels.map { .int(Int64($0)) }), "activation": .string(c.activation.rawValue),
                "prior": .string(c.prior.rawValue), "angle_convention": .string(c.angleConvention.rawValue),
            ]),
            "hmc": .object(["step_size": .double(s.hmc.stepSize), "n_lf": .int(Int64(s.hmc.nLF))]),
        ]
    }
}
