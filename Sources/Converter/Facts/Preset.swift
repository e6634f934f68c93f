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

    public static let all: [Preset] = keras + torch
    /// The TensorFlow eras (Keras HDF5 sources).
    public static let keras: [Preset] = [tf1_2019, tf2Eager2020, tf2Functional2020, tf2Functional2021, head2022]
    /// The PyTorch eras (PyTorch and safetensors sources; their step sizes are in the file).
    public static let torch: [Preset] = [torch2022_08, torch2022_12, torch2023_06]

    public static func named(_ name: String) throws -> Preset {
        guard let p = all.first(where: { $0.name == name }) else { throw ConvertError.unknownPreset(name: name, known: all.map(\.name) + FlowPreset.all.map(\.name)) }
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

    /// The upstream PyTorch code (2022-07-22 on; the state-dict keys of ``TorchNaming``): no time
    /// input, cos/sin blocks with the mask applied to the angle (masked links enter as (1, 0)) on
    /// the (N, 2, Nt, Nx) link order, v-networks on raw angles, + sign, NCP x update, torch's
    /// BatchNorm1d epsilon 1e-5 (never configurable upstream), masks given in upstream's meaning
    /// (1 = kept by the first x update: `np.stack(dynamics.masks)`). The eras differ in two facts
    /// nothing in a weight file shows, which each preset fixes and the report prints: the head
    /// coefficient (`coeff * tanh` 2022-08-14 .. 2022-12-12, `exp(coeff) * tanh` after) and the
    /// step size used (the raw parameter until 2023-06-11, eps / (1 + eps) from 2023-06-12).
    /// Still needed unless a hydra config.yaml is given (`--config`): lattice, beta, activation;
    /// always: the masks (never saved upstream).
    private static func torch(_ name: String, _ summary: String, head: HeadCoefficient, eps: StepSizeParametrization) -> Preset {
        make(name, summary, needs: [.lattice, .beta, .masks, .activation], { f, o in
            f.linkLayout = Sourced(.muTX, o)
            f.xNetInput = Sourced(.cosSinBlocks, o)
            f.maskPlacement = Sourced(.beforeTrig, o)
            f.vNetInput = Sourced(.raw, o)
            f.timeInput = Sourced(false, o)
            f.translationSign = Sourced(.plus, o)
            f.xUpdate = Sourced(.ncp, o)
            f.epsXParametrization = Sourced(eps, o)
            f.epsVParametrization = Sourced(eps, o)
            f.batchNormEpsilon = Sourced(1e-5, o)
            f.maskMeaning = Sourced(.keptFirst, o)
            f.headCoefficient = Sourced(head, o)
        })
    }

    /// PyTorch, 2022-08-14 .. 2022-12-12: `coeff * tanh` heads, raw step sizes.
    public static let torch2022_08 = torch("torch-2022-08", "PyTorch 2022-08-14..2022-12-12: coeff*tanh heads, raw eps, mu_t_x, NCP", head: .linear, eps: .raw)
    /// PyTorch, 2022-12-13 .. 2023-06-11: `exp(coeff) * tanh` heads, raw step sizes.
    public static let torch2022_12 = torch("torch-2022-12", "PyTorch 2022-12-13..2023-06-11: exp(coeff)*tanh heads, raw eps, mu_t_x, NCP", head: .exp, eps: .raw)
    /// PyTorch, 2023-06-12 on (the code as of 2024): `exp(coeff) * tanh` heads, eps / (1 + eps).
    public static let torch2023_06 = torch("torch-2023-06", "PyTorch 2023-06-12 on: exp(coeff)*tanh heads, eps/(1+eps), mu_t_x, NCP", head: .exp, eps: .epsOverOnePlusEps)
}
