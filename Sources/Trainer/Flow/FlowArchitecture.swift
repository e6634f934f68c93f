import ModelFormat

/// The shape of a U(1) plaquette-coupling flow (issue 15, /work/flow-contract.md): `layers`
/// coupling layers with masks from the rule `plaquette_stripes_4`, each with an inner
/// convolutional network of `hiddenChannels.count + 1` circular k x k convolutions
/// (channels 2 -> hidden... -> nMix + 1, `activation` after every convolution but the last)
/// whose outputs are the mixture scales s_0..s_{nMix-1} and the shift t of the NCP transform.
/// Nothing here depends on the lattice size: the same weights run on any lt x lx with
/// lt, lx divisible by 4 (``FlowLattice``).
public struct FlowArchitecture: Sendable, Equatable {
    public var layers: Int
    public var hiddenChannels: [Int]
    /// Odd side of every kernel.
    public var kernelSize: Int
    /// Components of the NCP mixture (at least 1).
    public var nMix: Int
    public var activation: Activation

    public init(layers: Int = 16, hiddenChannels: [Int] = [8, 8], kernelSize: Int = 3, nMix: Int = 2, activation: Activation = .leakyRelu) {
        self.layers = layers; self.hiddenChannels = hiddenChannels; self.kernelSize = kernelSize; self.nMix = nMix; self.activation = activation
    }

    /// Channels of the inner network's activations: [2] + hidden + [nMix + 1].
    public var channels: [Int] { [2] + hiddenChannels + [nMix + 1] }

    /// The canonical array names of layer i's convolution j (kernel [k, k, c_in, c_out], bias [c_out]).
    public static func kernelName(layer i: Int, conv j: Int) -> String { FlowRules.kernelName(layer: i, conv: j) }
    public static func biasName(layer i: Int, conv j: Int) -> String { FlowRules.biasName(layer: i, conv: j) }

    /// The architecture of a flow file's coupling description (mask rule `plaquette_stripes_4`
    /// and the uniform prior are the only ones of family version 1; the angle convention
    /// does not change the map modulo 2 pi).
    public init(_ c: FlowCoupling) {
        self.init(layers: c.layers, hiddenChannels: c.hiddenChannels, kernelSize: c.kernelSize, nMix: c.nMix, activation: c.activation)
    }

    /// The format's coupling description of this architecture (angles in [-pi, pi), as the trainer produces them).
    public var coupling: FlowCoupling {
        FlowCoupling(layers: layers, maskRule: .plaquetteStripes4, nMix: nMix, kernelSize: kernelSize, hiddenChannels: hiddenChannels,
                     activation: activation, prior: .uniform, angleConvention: .minusPiToPi)
    }
}
