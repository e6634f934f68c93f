/// The layout and conventions of the S, T, Q networks.
///
/// Every network has the same shape (seed 001 sec. 7): three input layers summed,
/// h_1 = act(x_layer(x_in) + v_layer(v_in) + t_layer(tau)), then `hiddenUnits.count - 1` dense
/// layers h_i = act(hidden_i(h_{i-1})), optional inference-mode batch norm of the last h, and
/// three heads: S = tanh(scale(h)) [e^{coeff_S}], T = translation(h), Q = tanh(transformation(h)) [e^{coeff_Q}].
/// Dense layers compute y = x K + b with kernels stored (in, out).
///
/// A ``NetworkKind/local(_:)`` network has the same heads, activation, batch norm, time input and
/// layout, but convolutions over the lattice sites in place of the dense layers:
/// `hiddenUnits` then holds the channels per site, `xNetInput`/`vNetInput` are `cosSinBlocks` and
/// `maskPlacement` is `afterTrig` (its fixed per-site features, docs/FORMAT.md "Local networks").
public struct NetworkSpec: Equatable, Sendable {
    /// Dense (the default) or local.
    public var kind: NetworkKind = .dense
    /// The upstream convolution stack in front of `x_layer` (dense networks only, format 1.3), or nil.
    public var convStack: ConvStackSpec?
    public var layout: NetworkLayout
    /// 1: one x-network per step used for both x sub-updates; 2: `xnet_first` and `xnet_second`.
    public var xNetworksPerStep: Int
    /// Encoding of x entering the x-networks.
    public var xNetInput: InputEncoding
    /// Encoding of x entering the v-networks.
    public var vNetInput: InputEncoding
    /// Where the mask acts when an x-network's input is cos/sin encoded; nil for raw input.
    public var maskPlacement: MaskPlacement?
    /// Whether tau_k = (cos 2 pi k/N, sin 2 pi k/N) enters every network through `t_layer`.
    public var timeInput: Bool
    /// Widths of h_1 ... h_L (at least one); channels per site for a local network.
    public var hiddenUnits: [Int]
    public var activation: Activation
    public var scaleHead: SquashedHead
    public var transformationHead: SquashedHead
    /// Inference-mode batch norm of h_L, or nil.
    public var batchNorm: BatchNormSpec?

    public init(layout: NetworkLayout, xNetworksPerStep: Int = 1, xNetInput: InputEncoding, vNetInput: InputEncoding,
                maskPlacement: MaskPlacement?, timeInput: Bool, hiddenUnits: [Int], activation: Activation = .relu,
                scaleHead: SquashedHead = .tanhExpCoeff, transformationHead: SquashedHead = .tanhExpCoeff,
                batchNorm: BatchNormSpec? = nil) {
        self.layout = layout; self.xNetworksPerStep = xNetworksPerStep; self.xNetInput = xNetInput
        self.vNetInput = vNetInput; self.maskPlacement = maskPlacement; self.timeInput = timeInput
        self.hiddenUnits = hiddenUnits; self.activation = activation; self.scaleHead = scaleHead
        self.transformationHead = transformationHead; self.batchNorm = batchNorm
    }

    /// A local network (``NetworkKind/local(_:)``) with `channels` per conv layer; the inputs and
    /// mask placement are the fixed per-site ones.
    public static func local(_ local: LocalNetworkSpec, layout: NetworkLayout, xNetworksPerStep: Int = 1, timeInput: Bool,
                             channels: [Int], activation: Activation = .relu, scaleHead: SquashedHead = .tanhExpCoeff,
                             transformationHead: SquashedHead = .tanhExpCoeff, batchNorm: BatchNormSpec? = nil) -> NetworkSpec {
        var n = NetworkSpec(layout: layout, xNetworksPerStep: xNetworksPerStep, xNetInput: .cosSinBlocks, vNetInput: .cosSinBlocks,
                            maskPlacement: .afterTrig, timeInput: timeInput, hiddenUnits: channels, activation: activation,
                            scaleHead: scaleHead, transformationHead: transformationHead, batchNorm: batchNorm)
        n.kind = .local(local)
        return n
    }
}

/// Whether one set of networks serves every leapfrog step or each step has its own.
public enum NetworkLayout: String, CaseIterable, Sendable {
    case shared
    case perStep = "per_step"
}

/// How positions are encoded for a network input.
public enum InputEncoding: String, CaseIterable, Sendable {
    /// The n values themselves (angles or real coordinates).
    case raw
    /// [cos x_1 .. cos x_n, sin x_1 .. sin x_n] (width 2n).
    case cosSinBlocks = "cos_sin_blocks"
    /// [cos x_1, sin x_1, cos x_2, sin x_2, ...] (width 2n).
    case cosSinInterleaved = "cos_sin_interleaved"

    public func width(stateSize n: Int) -> Int { self == .raw ? n : 2 * n }
}

/// For cos/sin x-network inputs: where the input mask acts. An x sub-update that changes the
/// coordinates selected by a mask u reads x only through (1 - u) (seed 001 eq. 18-19); raw inputs
/// are always (1 - u) x.
public enum MaskPlacement: String, CaseIterable, Sendable {
    /// cos((1 - u) x), sin((1 - u) x): the links being updated enter as (1, 0).
    case beforeTrig = "before_trig"
    /// (1 - u) cos x, (1 - u) sin x: the links being updated enter as (0, 0).
    case afterTrig = "after_trig"
}

/// The hidden activation (docs/FORMAT.md section 5.1).
public enum Activation: String, CaseIterable, Sendable {
    case relu, tanh, swish, linear
    /// `z` for `z >= 0`, `0.01 z` for `z < 0` (PyTorch's `nn.LeakyReLU()` default slope; not
    /// Keras's `LeakyReLU`, slope 0.3, nor `tf.nn.leaky_relu`, 0.2). Format 1.1, feature
    /// `leaky_relu`.
    case leakyRelu = "leaky_relu"

    /// The slope of ``leakyRelu`` for negative inputs.
    public static let leakyReluSlope = 0.01
}

/// The form of the S and Q heads.
public enum SquashedHead: String, CaseIterable, Sendable {
    /// tanh(W h + b) * exp(coeff), with a stored `coeff` array of length n.
    case tanhExpCoeff = "tanh_exp_coeff"
    /// tanh(W h + b) (the coefficient is absent, i.e. exp(0) = 1).
    case tanh
}

/// Inference-mode batch normalization: y = gamma (h - moving_mean) / sqrt(moving_variance + epsilon) + beta.
public struct BatchNormSpec: Equatable, Sendable {
    public var epsilon: Double
    public init(epsilon: Double) { self.epsilon = epsilon }
}
