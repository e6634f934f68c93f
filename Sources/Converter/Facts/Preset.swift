import ModelFormat

/// The conventions of one era of the TensorFlow L2HMC code (docs/CONVERT.md, "Presets";
/// facts from the history summarized in the project's upstream notes). A preset fills only
/// what the era fixed; what varied within an era (lattice, beta, step sizes, the x update
/// where NCP was optional, masks that were never saved, the hidden activation of the functional
/// eras, whose network config made it an option) stays missing: it must be given, unless the
/// file states it (a Keras model configuration: ``StatedFacts``).
public struct Preset: Sendable {
    public let name: String
    public let summary: String
    public let facts: Facts
    /// What the user still has to give, in words (printed by `--help` and the docs).
    public let stillNeeded: [FactKey]

    public static let all: [Preset] = [tf1_2019, tf2Eager2020, tf2Functional2020, tf2Functional2021, head2022]

    public static func named(_ name: String) throws -> Preset {
        guard let p = all.first(where: { $0.name == name }) else { throw ConvertError.unknownPreset(name: name, known: all.map(\.name)) }
        return p
    }

    private static func make(_ name: String, _ summary: String, needs: [FactKey], _ fill: (inout Facts, String) -> Void) -> Preset {
        var f = Facts()
        fill(&f, "preset \(name)")
        return Preset(name: name, summary: summary, facts: f, stillNeeded: needs)
    }

    /// TF1 + numpy cross-check era (2019-04 .. 2020): one shared xnet and vnet, raw angles in,
    /// time input, T entering with +, linear x update (x-scale weight 0: see docs), one step size,
    /// random masks saved in a pickle (never read: give them as .npy).
    public static let tf1_2019 = make("tf1-2019", "TF1 + numpy era: shared nets, raw inputs, + sign, linear x update",
                                      needs: [.lattice, .beta, .eps, .masks], { f, o in
        f.linkLayout = Sourced(.tXMu, o)
        f.layout = Sourced(.shared, o)
        f.xNetworksPerStep = Sourced(1, o)
        f.xNetInput = Sourced(.raw, o)
        f.vNetInput = Sourced(.raw, o)
        f.timeInput = Sourced(true, o)
        f.activation = Sourced(.relu, o)
        f.translationSign = Sourced(.plus, o)
        f.xUpdate = Sourced(.linear, o)
        f.epsXParametrization = Sourced(.raw, o)
        f.epsVParametrization = Sourced(.raw, o)
    })

    /// TF2 eager era (04-07/2020): cos/sin in blocks for both networks (updated links enter as
    /// (1, 0)), time input, + sign, linear x update, one step size, masks alternating mu = 0 / 1.
    public static let tf2Eager2020 = make("tf2-eager-2020", "TF2 eager era: cos/sin blocks, + sign, mu-alternating masks",
                                          needs: [.lattice, .beta, .eps], { f, o in
        f.linkLayout = Sourced(.tXMu, o)
        f.xNetworksPerStep = Sourced(1, o)
        f.xNetInput = Sourced(.cosSinBlocks, o)
        f.maskPlacement = Sourced(.beforeTrig, o)
        f.vNetInput = Sourced(.cosSinBlocks, o)
        f.timeInput = Sourced(true, o)
        f.activation = Sourced(.relu, o)
        f.translationSign = Sourced(.plus, o)
        f.xUpdate = Sourced(.linear, o)
        f.epsXParametrization = Sourced(.raw, o)
        f.epsVParametrization = Sourced(.raw, o)
        f.masks = Sourced(.rule(.muAlternating), o)
    })

    /// TF2 functional, September 2020 layout (`xnet/x_layer`, `h_layer1/2`, ScaledTanh heads with
    /// coeff): (m cos x, m sin x) interleaved (updated links (0, 0)), v-networks on raw angles,
    /// time input, - sign (from 2020-07-23), checkerboard masks, one step size; NCP was optional.
    public static let tf2Functional2020 = make("tf2-functional-2020", "TF2 functional, Sep 2020: interleaved cos/sin, - sign, checkerboard",
                                               needs: [.lattice, .beta, .eps, .xUpdate, .activation], { f, o in
        f.linkLayout = Sourced(.tXMu, o)
        f.xNetworksPerStep = Sourced(1, o)
        f.xNetInput = Sourced(.cosSinInterleaved, o)
        f.maskPlacement = Sourced(.afterTrig, o)
        f.vNetInput = Sourced(.raw, o)
        f.timeInput = Sourced(true, o)
        f.translationSign = Sourced(.minus, o)
        f.epsXParametrization = Sourced(.raw, o)
        f.epsVParametrization = Sourced(.raw, o)
        f.masks = Sourced(.rule(.checkerboard), o)
    })

    /// TF2 functional, 2021 layout (`{net}_x_layer`, ..., per-step `vnet{k}`, `xnet_first{k}`,
    /// `xnet_second{k}`): as Sep 2020 plus per-step split networks, per-step step sizes and Keras
    /// batch norm (epsilon 0.001, Keras's default); heads without coefficients (untracked).
    public static let tf2Functional2021 = make("tf2-functional-2021", "TF2 functional, 2021: per-step split nets, interleaved cos/sin, - sign",
                                               needs: [.lattice, .beta, .eps, .xUpdate, .activation], { f, o in
        f.linkLayout = Sourced(.tXMu, o)
        f.layout = Sourced(.perStep, o)
        f.xNetworksPerStep = Sourced(2, o)
        f.xNetInput = Sourced(.cosSinInterleaved, o)
        f.maskPlacement = Sourced(.afterTrig, o)
        f.vNetInput = Sourced(.raw, o)
        f.timeInput = Sourced(true, o)
        f.translationSign = Sourced(.minus, o)
        f.epsXParametrization = Sourced(.raw, o)
        f.epsVParametrization = Sourced(.raw, o)
        f.masks = Sourced(.rule(.checkerboard), o)
        f.batchNormEpsilon = Sourced(0.001, o)
    })

    /// 2022-2023 "HEAD", TensorFlow side: no time input, cos/sin blocks (updated links (1, 0)) on
    /// the (N, 2, Nt, Nx) link order, + sign, NCP, x step size eps/(1+eps) but raw v step size,
    /// per-step split networks; masks were random and never saved (give them as .npy).
    public static let head2022 = make("head-2022", "2022 HEAD (TF): no time input, cos/sin blocks, mu_t_x links, + sign, NCP",
                                      needs: [.lattice, .beta, .eps, .masks, .activation], { f, o in
        f.linkLayout = Sourced(.muTX, o)
        f.layout = Sourced(.perStep, o)
        f.xNetworksPerStep = Sourced(2, o)
        f.xNetInput = Sourced(.cosSinBlocks, o)
        f.maskPlacement = Sourced(.beforeTrig, o)
        f.vNetInput = Sourced(.raw, o)
        f.timeInput = Sourced(false, o)
        f.translationSign = Sourced(.plus, o)
        f.xUpdate = Sourced(.ncp, o)
        f.epsXParametrization = Sourced(.epsOverOnePlusEps, o)
        f.epsVParametrization = Sourced(.raw, o)
        f.batchNormEpsilon = Sourced(0.001, o)
    })
}
