import ModelFormat

/// The conventions of the two upstream U(1) normalizing-flow codes (docs/CONVERT.md, "PyTorch
/// U(1) flows"; facts from the fthmc fact sheet). A flow file's tensors give the layers, the
/// kernel size, the hidden channels and n_mix; they do not give the activation, the angle
/// convention, beta or the trained lattice, which a preset, a sidecar or flags must.
public struct FlowPreset: Sendable {
    public let name: String
    public let summary: String
    public let facts: Facts
    /// What the user still has to give (or, for fthmc, what its checkpoint path states).
    public let stillNeeded: [FactKey]

    public static let all: [FlowPreset] = [tutorial2021, fthmc]

    public static func named(_ name: String) -> FlowPreset? { all.first { $0.name == name } }

    private static func make(_ name: String, _ summary: String, needs: [FactKey], _ fill: (inout Facts, String) -> Void) -> FlowPreset {
        var f = Facts()
        fill(&f, "preset \(name)")
        return FlowPreset(name: name, summary: summary, facts: f, stillNeeded: needs)
    }

    /// Albergo et al. 2021 tutorial (arXiv:2101.08176), its U(1) example: `nn.LeakyReLU()`
    /// (slope 0.01), angles in [0, 2pi), trained at L = 8, beta = 2 (its pretrained weights).
    public static let tutorial2021 = make("tutorial-2021", "Albergo et al. 2021 tutorial U(1) flow: LeakyReLU, angles in [0, 2pi), 8x8, beta 2",
                                          needs: [], { f, o in
        f.activation = Sourced(.leakyRelu, o)
        f.angleConvention = Sourced(.zeroToTwoPi, o)
        f.lattice = Sourced([8, 8], o)
        f.beta = Sourced(2.0, o)
    })

    /// nftqcd/fthmc (2021-07-15 on): `nn.SiLU` (its default activation), angles in [-pi, pi).
    /// Lattice and beta are only in the checkpoint's directory name
    /// (`logs/models/lat{L}x{L}/beta{b}/...`), read from there when present.
    public static let fthmc = make("fthmc", "nftqcd/fthmc: SiLU, angles in [-pi, pi); lattice and beta from its directory lat{L}x{L}/beta{b} or flags",
                                   needs: [.lattice, .beta], { f, o in
        f.activation = Sourced(.swish, o)
        f.angleConvention = Sourced(.minusPiToPi, o)
    })
}
