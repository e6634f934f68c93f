/// The upstream convolution stack in front of a dense network's `x_layer` (format 1.3, feature
/// `conv_stack`; docs/FORMAT.md, "Convolution stack").
///
/// The network's encoded `in_x` (width X) is read row-major as an image [C_0, lt, lx] with
/// C_0 = X / (lt lx) (4 for `cos_sin_blocks`, 2 for `raw`; channel = block * 2 + mu with the
/// `mu_t_x` layout). Layer j pads periodically by k_j - 1 on both sides of t and x, takes a valid
/// cross-correlation with its [k, k, C_j, C_{j+1}] kernel plus bias (each spatial size grows by
/// k_j - 1), then max-pools non-overlapping pool x pool windows (when pool > 1; sizes floor) and
/// applies the network's activation (when `activation`), in the order `poolOrder` says. The result
/// is flattened channel-major, (c h + t) w + x, and h_conv = act(flat K_d + b_d) (width
/// `denseUnits`) replaces `in_x` as the input of `x_layer`. The stack depends on the lattice size,
/// so the model runs only at its own lattice.
public struct ConvStackSpec: Equatable, Sendable {
    /// One convolution of the stack.
    public struct Layer: Equatable, Sendable {
        /// Output channels C_{j+1}, 1 ... ``ConvStackRules/maxFilters``.
        public var filters: Int
        /// Kernel side k (k x k), 1 ... ``ConvStackRules/maxKernelSize``; the periodic padding is k - 1.
        public var kernelSize: Int
        /// Max-pool window and stride (1: no pooling), 1 ... ``ConvStackRules/maxPool``.
        public var pool: Int
        /// Whether the network's activation follows this layer.
        public var activation: Bool

        public init(filters: Int, kernelSize: Int, pool: Int = 1, activation: Bool) {
            self.filters = filters; self.kernelSize = kernelSize; self.pool = pool; self.activation = activation
        }
    }

    /// Which networks carry the stack.
    public enum AppliesTo: String, CaseIterable, Sendable {
        /// Every network (PyTorch checkpoints from 2023-02-08 on).
        case xAndVNetworks = "x_and_v_networks"
        /// Only the x-networks; v-networks read `in_x` directly (PyTorch checkpoints before 2023-02-08).
        case xNetworks = "x_networks"
    }

    /// Whether a layer's activation acts after or before its max-pool.
    public enum PoolOrder: String, CaseIterable, Sendable {
        /// conv, pool, activation (PyTorch's ConvStack).
        case poolThenActivation = "pool_then_activation"
        /// conv, activation, pool (Keras: the activation is inside Conv2D).
        case activationThenPool = "activation_then_pool"
    }

    public var appliesTo: AppliesTo
    /// At least one, at most ``ConvStackRules/maxLayers``.
    public var layers: [Layer]
    public var poolOrder: PoolOrder
    /// D: width of the dense layer after the flatten (the activation always follows it).
    public var denseUnits: Int

    public init(appliesTo: AppliesTo = .xAndVNetworks, layers: [Layer], poolOrder: PoolOrder = .poolThenActivation, denseUnits: Int) {
        self.appliesTo = appliesTo; self.layers = layers; self.poolOrder = poolOrder; self.denseUnits = denseUnits
    }

    /// Whether network `name` (e.g. `vnet.0`, `xnet_first.1`) carries the stack.
    public func applies(toNetwork name: String) -> Bool {
        appliesTo == .xAndVNetworks || !name.hasPrefix("vnet")
    }
}
