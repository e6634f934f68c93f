/// A normalizing flow x = f(z) of U(1) gauge-equivariant plaquette coupling layers (architecture
/// `flow` version 1; docs/FORMAT.md section 13), with the FT-HMC settings `l2hmc-run` uses by
/// default. Masks are rules of the lattice size; the weights are not.
public struct FlowSpec: Equatable, Sendable {
    /// The theory and the lattice the flow was trained on (`u1_2d`, link layout `mu_t_x`).
    public var target: U1Lattice
    public var coupling: FlowCoupling
    /// FT-HMC defaults: leapfrog step size in z and steps per trajectory.
    public var hmc: FlowHMCSettings

    public init(target: U1Lattice, coupling: FlowCoupling, hmc: FlowHMCSettings) {
        self.target = target; self.coupling = coupling; self.hmc = hmc
    }

    /// Number of link angles of the trained lattice.
    public var stateSize: Int { 2 * target.lt * target.lx }
}

/// The coupling layers: how many, their masks, their inner convolutional networks and their
/// plaquette transform.
public struct FlowCoupling: Equatable, Sendable {
    /// Number of coupling layers, 1...4096.
    public var layers: Int
    public var maskRule: FlowMaskRule
    /// Components of the non-compact-projection mixture (1...64); the inner network outputs
    /// n_mix scales and one shift.
    public var nMix: Int
    /// Odd kernel size k of every convolution (1...31), circular padding k / 2.
    public var kernelSize: Int
    /// Output channels of the hidden convolutions (0...16 entries, each 1...1024).
    public var hiddenChannels: [Int]
    public var activation: Activation
    public var prior: FlowPrior
    /// The range the source represented angles in; the map is the same modulo 2 pi.
    public var angleConvention: AngleConvention

    public init(layers: Int, maskRule: FlowMaskRule = .plaquetteStripes4, nMix: Int, kernelSize: Int, hiddenChannels: [Int],
                activation: Activation, prior: FlowPrior = .uniform, angleConvention: AngleConvention) {
        self.layers = layers; self.maskRule = maskRule; self.nMix = nMix; self.kernelSize = kernelSize
        self.hiddenChannels = hiddenChannels; self.activation = activation; self.prior = prior; self.angleConvention = angleConvention
    }

    /// (c_in, c_out) of convolution j = 0...hiddenChannels.count: 2 input channels (cos, sin),
    /// n_mix + 1 output channels (the scales, then the shift).
    public var convolutionChannels: [(cIn: Int, cOut: Int)] {
        let sizes = [2] + hiddenChannels + [nMix + 1]
        return (0..<(sizes.count - 1)).map { (sizes[$0], sizes[$0 + 1]) }
    }
}

/// Which plaquettes of layer i are frozen, active or passive, and which links change.
public enum FlowMaskRule: String, CaseIterable, Sendable {
    /// Layer i: mu = i mod 2, offset o = floor(i / 2) mod 4; on the coordinate perpendicular to
    /// mu, taken mod 4, plaquettes at o are active, at o+1 and o+2 frozen, at o+3 passive; the
    /// direction-mu links at the active sites change. Needs lt and lx divisible by 4.
    case plaquetteStripes4 = "plaquette_stripes_4"
}

/// The prior density r(z) of the flow's input.
public enum FlowPrior: String, CaseIterable, Sendable {
    /// Uniform (Haar) on every link angle: log r(z) = -n log(2 pi).
    case uniform
}

/// The interval a source's angles are represented in.
public enum AngleConvention: String, CaseIterable, Sendable {
    /// [-pi, pi): this runtime's convention, and fthmc's.
    case minusPiToPi = "minus_pi_to_pi"
    /// [0, 2 pi): the 2021 tutorial's.
    case zeroToTwoPi = "zero_to_two_pi"
}

/// The FT-HMC trajectory `l2hmc-run` uses unless told otherwise.
public struct FlowHMCSettings: Equatable, Sendable {
    /// Leapfrog step size in z, > 0.
    public var stepSize: Double
    /// Leapfrog steps per trajectory, 1...4096.
    public var nLF: Int
    public init(stepSize: Double, nLF: Int) { self.stepSize = stepSize; self.nLF = nLF }
}
