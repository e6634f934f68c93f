/// The kind of an L2HMC network, as the source names it.
public enum NetworkKind: String, Sendable, CaseIterable {
    case v = "vnet"
    case x = "xnet"
    case xFirst = "xnet_first"
    case xSecond = "xnet_second"
}

/// A layer of one network, in canonical terms (docs/FORMAT.md sec. 6.1), plus the linear
/// layers of the September 2020 layout that are folded into the heads.
public enum LayerRole: Hashable, Sendable {
    case xLayer, vLayer, tLayer
    /// `hidden<i>` (i >= 1): the i-th dense layer after the input sum.
    case hidden(Int)
    case batchNorm
    case scale, translation, transformation
    /// Sep 2020 `h_layer1` / `h_layer2`: dense layers without activation between the input sum's
    /// activation and the heads; folded exactly into each head (docs/CONVERT.md).
    case linear(Int)
    /// Convolution `j` (0-based) of the network's convolution stack (`conv_stack.conv<j>`).
    case convStack(Int)
    /// The dense layer after the convolution stack's flatten (`conv_stack.dense`).
    case convStackDense

    /// Canonical layer name (`x_layer`, `hidden2`, `batch_norm`, `scale`, ...).
    public var canonicalName: String {
        switch self {
        case .xLayer: return "x_layer"
        case .vLayer: return "v_layer"
        case .tLayer: return "t_layer"
        case let .hidden(i): return "hidden\(i)"
        case .batchNorm: return "batch_norm"
        case .scale: return "scale"
        case .translation: return "translation"
        case .transformation: return "transformation"
        case let .linear(i): return "h_layer\(i)"
        case let .convStack(j): return "conv_stack.conv\(j)"
        case .convStackDense: return "conv_stack.dense"
        }
    }

    /// Variables a layer of this role has.
    var variables: Set<String> {
        switch self {
        case .batchNorm: return ["gamma", "beta", "moving_mean", "moving_variance"]
        case .scale, .transformation: return ["kernel", "bias", "coeff"]
        default: return ["kernel", "bias"]
        }
    }
}

/// What a source weight is: network kind, step index as the source names it (nil for
/// un-indexed, shared networks), layer and variable.
public struct WeightRef: Hashable, Sendable {
    public var net: NetworkKind
    public var step: Int?
    public var layer: LayerRole
    public var variable: String

    public init(net: NetworkKind, step: Int?, layer: LayerRole, variable: String) {
        self.net = net; self.step = step; self.layer = layer; self.variable = variable
    }

    /// `vnet.0`, `xnet_first.3`.
    public var networkName: String { "\(net.rawValue).\(step ?? 0)" }

    /// The canonical array name (`vnet.0.x_layer.kernel`); for Sep 2020 linear layers a
    /// pseudo-name (`xnet.0.h_layer1.kernel`) that never reaches a model.
    public var canonicalName: String { "\(networkName).\(layer.canonicalName).\(variable)" }
}
