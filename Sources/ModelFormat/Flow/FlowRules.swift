/// Cross-field rules of a flow description and its canonical array table (docs/FORMAT.md
/// section 13): per coupling layer i and convolution j, `layer<i>.conv<j>.kernel`
/// [k, k, c_in, c_out] and `layer<i>.conv<j>.bias` [c_out]; no array depends on the lattice size.
public enum FlowRules {
    /// The only coupling kind of family version 1: U(1) plaquette coupling with the
    /// non-compact-projection mixture transform.
    public static let couplingKind = "u1_plaquette_ncp"

    /// Largest counts a file may declare (each far above any published flow).
    static let maxLayers = 4096, maxMix = 64, maxKernel = 31, maxHiddenLayers = 16, maxChannels = 1024, maxSteps = 4096

    public static func validate(_ s: FlowSpec) throws {
        func bad(_ path: String, _ expected: String, _ actual: String) -> L2ZError {
            .manifestInvalidValue(path: path, expected: expected, actual: actual)
        }
        let c = s.coupling
        guard s.target.linkLayout == .muTX else { throw bad("target.link_layout", "\"mu_t_x\" for a flow", "\"\(s.target.linkLayout.rawValue)\"") }
        try validate(lattice: s.target, rule: c.maskRule, path: "target")
        guard c.layers <= maxLayers else { throw bad("flow.layers", "at most \(maxLayers)", "\(c.layers)") }
        guard c.nMix <= maxMix else { throw bad("flow.n_mix", "at most \(maxMix)", "\(c.nMix)") }
        guard c.kernelSize % 2 == 1, c.kernelSize <= maxKernel else {
            throw bad("flow.kernel_size", "an odd integer 1...\(maxKernel) (circular padding k/2 on each side)", "\(c.kernelSize)")
        }
        guard c.hiddenChannels.count <= maxHiddenLayers else {
            throw bad("flow.hidden_channels", "at most \(maxHiddenLayers) hidden convolutions", "\(c.hiddenChannels.count)")
        }
        if let i = c.hiddenChannels.firstIndex(where: { $0 < 1 || $0 > maxChannels }) {
            throw bad("flow.hidden_channels[\(i)]", "an integer 1...\(maxChannels)", "\(c.hiddenChannels[i])")
        }
        guard s.hmc.stepSize > 0 else { throw bad("hmc.step_size", "a number > 0", "\(s.hmc.stepSize)") }
        guard s.hmc.nLF <= maxSteps else { throw bad("hmc.n_lf", "at most \(maxSteps)", "\(s.hmc.nLF)") }
    }

    /// A lattice the mask rule is defined on: both extents positive multiples of 4 for
    /// `plaquette_stripes_4` (otherwise the stripes of a layer overlap and frozen plaquettes
    /// would change). Errors name `path` (`target`, or the run's `--lattice`).
    public static func validate(lattice l: U1Lattice, rule: FlowMaskRule, path: String) throws {
        switch rule {
        case .plaquetteStripes4:
            for (name, size) in [("lt", l.lt), ("lx", l.lx)] where size % 4 != 0 || size < 4 {
                throw L2ZError.manifestInvalidValue(path: "\(path).\(name)", expected: "a multiple of 4 (the mask rule plaquette_stripes_4 has period 4)", actual: "\(size)")
            }
        }
    }

    /// A flow file lists only `probe`, when it has one.
    public static func requiredFeatures(of s: FlowSpec, probe: ProbeSpec?) -> [String] { probe == nil ? [] : ["probe"] }

    /// A flow probe stores the flow on a batch (`networks` [] and `trajectory` true): z, x, the
    /// log-det and the FT-HMC force (``FlowProbeArrayNames``).
    public static func validate(probe p: ProbeSpec, for s: FlowSpec) throws {
        guard p.networks.isEmpty, p.trajectory else {
            throw L2ZError.manifestInvalidValue(path: "probe", expected: "\"networks\": [] and \"trajectory\": true for a flow (z, x, log-det and force)",
                                                actual: "networks \(p.networks), trajectory \(p.trajectory)")
        }
        guard p.batch <= 1 << 16 else { throw L2ZError.manifestInvalidValue(path: "probe.batch", expected: "at most 65536", actual: "\(p.batch)") }
    }

    /// The name of the kernel of convolution `conv` in coupling layer `layer`.
    public static func kernelName(layer: Int, conv: Int) -> String { "layer\(layer).conv\(conv).kernel" }
    /// The name of the bias of convolution `conv` in coupling layer `layer`.
    public static func biasName(layer: Int, conv: Int) -> String { "layer\(layer).conv\(conv).bias" }

    /// The one walk over the flow's array table: every layer's convolutions, then the probe.
    public static func walkArrays<V: ArrayTableVisitor>(_ s: FlowSpec, probe: ProbeSpec?, into visitor: inout V) {
        let c = s.coupling, k = c.kernelSize
        let floats: [DType] = [.float64, .float32]
        visitor.group((0..<c.layers).map { "layer\($0)" }) { v, name in
            for (j, ch) in c.convolutionChannels.enumerated() {
                v.add("\(name).conv\(j).kernel", .init(shape: [k, k, ch.cIn, ch.cOut], dtypes: floats, role: .weight))
                v.add("\(name).conv\(j).bias", .init(shape: [ch.cOut], dtypes: floats, role: .bias))
            }
        }
        guard let p = probe else { return }
        let b = p.batch, n = s.stateSize
        typealias P = FlowProbeArrayNames
        for name in [P.z, P.x, P.force] { visitor.add(name, .init(shape: [b, n], dtypes: [.float64], role: .probe)) }
        visitor.add(P.logDet, .init(shape: [b], dtypes: [.float64], role: .probe))
    }
}

/// The probe arrays of a flow (docs/FORMAT.md section 13.4), float64, at the trained lattice.
/// Tolerances: `trajectory` for x (compared modulo 2 pi), `log_det` for the log-det, `heads`
/// for the force.
public enum FlowProbeArrayNames {
    /// Inputs z [B, n] (link layout `mu_t_x`).
    public static let z = "probe.flow.z"
    /// x = f(z) [B, n].
    public static let x = "probe.flow.x"
    /// log|det df/dz| [B].
    public static let logDet = "probe.flow.log_det"
    /// The FT-HMC force dS~/dz [B, n], S~(z) = S(f(z)) - log|det df/dz|, S = beta sum_P (1 - cos P).
    public static let force = "probe.flow.force"
}
