/// Cross-field rules of a sampler description and the exact set of arrays it needs.
///
/// The array table here is the single canonical name table of the format (docs/FORMAT.md,
/// "Canonical arrays"); readers, writers and converters all use it.
public enum SamplerRules {
    /// One array the architecture needs: its shape and the dtypes it may be stored in.
    public struct ExpectedArray: Equatable, Sendable {
        public var shape: [Int]
        public var dtypes: [DType]
        public var role: Role

        public init(shape: [Int], dtypes: [DType], role: Role) { self.shape = shape; self.dtypes = dtypes; self.role = role }
    }

    public enum Role: Equatable, Sendable {
        /// A trained network parameter (kernel, bias, coefficient, batch-norm statistic).
        case weight
        /// A bias or coefficient that may legitimately be all zero only if untrained.
        case bias
        case stepSize
        case mask
        case probe
        /// An `ext.` array: ignored by the sampler, checked only for integrity.
        case extensionArray
    }

    static let floatTypes: [DType] = [.float64, .float32]

    /// Rejects descriptions that cannot define a correct sampler.
    public static func validate(_ s: SamplerSpec) throws {
        let n = s.network
        if let local = n.kind.local { try LocalNetworkRules.validate(s, local) }
        if let stack = n.convStack { try ConvStackRules.validate(s, stack) }
        switch s.target {
        case let .u1(l):
            if s.dynamics.xUpdate == .linear && s.netWeights.xScale != 0 {
                throw L2ZError.manifestInvalidValue(
                    path: "net_weights.x_scale",
                    expected: "0 for a U(1) model with x_update \"linear\" (scaling then wrapping an angle is not a bijection; use \"ncp\")",
                    actual: "\(s.netWeights.xScale)")
            }
            guard l.lt <= 4096, l.lx <= 4096 else {
                throw L2ZError.manifestInvalidValue(path: "target", expected: "lt and lx at most 4096", actual: "\(l.lt) x \(l.lx)")
            }
        case let .gaussianMixture(g):
            guard g.dimension <= 1 << 16 else {
                throw L2ZError.manifestInvalidValue(path: "target.dimension", expected: "at most 65536", actual: "\(g.dimension)")
            }
            try validateMixture(g)
            if s.dynamics.xUpdate != .linear {
                throw L2ZError.manifestInvalidValue(path: "dynamics.x_update", expected: "\"linear\" for a Gaussian mixture (R^D)", actual: "\"\(s.dynamics.xUpdate.rawValue)\"")
            }
            for (key, enc) in [("x_net_input", n.xNetInput), ("v_net_input", n.vNetInput)] where enc != .raw {
                throw L2ZError.manifestInvalidValue(path: "network.\(key)", expected: "\"raw\" for a Gaussian mixture", actual: "\"\(enc.rawValue)\"")
            }
        }
        if n.xNetInput == .raw, n.maskPlacement != nil {
            throw L2ZError.manifestInvalidValue(path: "network.mask_placement", expected: "absent when x_net_input is \"raw\"", actual: "\"\(n.maskPlacement?.rawValue ?? "")\"")
        }
        if n.xNetInput != .raw, n.maskPlacement == nil {
            throw L2ZError.manifestMissingField(path: "network.mask_placement")
        }
        for (i, w) in s.netWeights.values.enumerated() where !w.isFinite {
            throw L2ZError.manifestInvalidValue(path: "net_weights.\(NetWeights.keys[i])", expected: "a finite number", actual: "\(w)")
        }
        guard s.dynamics.nLF <= 4096 else {
            throw L2ZError.manifestInvalidValue(path: "dynamics.n_lf", expected: "at most 4096", actual: "\(s.dynamics.nLF)")
        }
        guard n.hiddenUnits.count <= 64, n.hiddenUnits.allSatisfy({ $0 <= 1 << 16 }) else {
            throw L2ZError.manifestInvalidValue(path: "network.hidden_units", expected: "at most 64 layers of at most 65536 units", actual: "\(n.hiddenUnits)")
        }
    }

    /// Checks a target on its own (a run's `params.json`): lattice sizes 1...4096 and a finite
    /// beta > 0, or a mixture with consistent, positive definite components.
    public static func validate(target: Target) throws {
        switch target {
        case let .u1(l):
            guard (1...4096).contains(l.lt), (1...4096).contains(l.lx) else {
                throw L2ZError.manifestInvalidValue(path: "target", expected: "lt and lx in 1...4096", actual: "\(l.lt) x \(l.lx)")
            }
            guard l.beta > 0, l.beta.isFinite else {
                throw L2ZError.manifestInvalidValue(path: "target.beta", expected: "a finite number > 0", actual: "\(l.beta)")
            }
        case let .gaussianMixture(g):
            guard (1...(1 << 16)).contains(g.dimension) else {
                throw L2ZError.manifestInvalidValue(path: "target.dimension", expected: "1...65536", actual: "\(g.dimension)")
            }
            try validateMixture(g)
        }
    }

    private static func validateMixture(_ g: GaussianMixture) throws {
        let k = g.weights.count
        guard k >= 1, g.means.count == k, g.covariances.count == k else {
            throw L2ZError.manifestInvalidValue(path: "target", expected: "as many means and covariances as weights (\(k))",
                                                actual: "\(g.means.count) means, \(g.covariances.count) covariances")
        }
        guard g.weights.allSatisfy({ $0 > 0 }), abs(g.weights.reduce(0, +) - 1) <= 1e-12 else {
            throw L2ZError.manifestInvalidValue(path: "target.weights", expected: "positive weights summing to 1", actual: "\(g.weights)")
        }
        for (m, mu) in g.means.enumerated() where mu.count != g.dimension {
            throw L2ZError.manifestInvalidValue(path: "target.means[\(m)]", expected: "\(g.dimension) entries", actual: "\(mu.count)")
        }
        for (m, c) in g.covariances.enumerated() {
            guard c.count == g.dimension, c.allSatisfy({ $0.count == g.dimension }) else {
                throw L2ZError.manifestInvalidValue(path: "target.covariances[\(m)]", expected: "a \(g.dimension)x\(g.dimension) matrix", actual: "\(c.count) rows")
            }
            guard isSymmetricPositiveDefinite(c) else {
                throw L2ZError.manifestInvalidValue(path: "target.covariances[\(m)]", expected: "a symmetric positive definite matrix", actual: "\(c)")
            }
        }
    }

    /// Cholesky test; symmetry to 1e-12 relative.
    static func isSymmetricPositiveDefinite(_ a: [[Double]]) -> Bool {
        let d = a.count
        var l = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for i in 0..<d {
            for j in 0..<d where abs(a[i][j] - a[j][i]) > 1e-12 * max(abs(a[i][j]), 1) { return false }
            for j in 0...i {
                var sum = a[i][j]
                for k in 0..<j { sum -= l[i][k] * l[j][k] }
                if i == j {
                    guard sum > 0 else { return false }
                    l[i][i] = sum.squareRoot()
                } else {
                    l[i][j] = sum / l[j][j]
                }
            }
        }
        return true
    }

    /// Features a file with this sampler (and probe) must list in `required_features`.
    public static func requiredFeatures(of s: SamplerSpec, probe: ProbeSpec?) -> [String] {
        var f: [String] = []
        if s.dynamics.xUpdate == .ncp { f.append("ncp_x_update") }
        if s.network.layout == .perStep { f.append("per_step_networks") }
        if s.network.xNetworksPerStep == 2 { f.append("split_x_networks") }
        if s.network.kind.local != nil {
            f.append("local_network")
        } else if s.network.xNetInput != .raw || s.network.vNetInput != .raw {
            f.append("cos_sin_input")
        }
        if s.network.batchNorm != nil { f.append("batch_norm") }
        if s.network.convStack != nil { f.append("conv_stack") }
        if s.network.activation == .leakyRelu { f.append("leaky_relu") }
        if probe != nil { f.append("probe") }
        return f.sorted()
    }

    /// Names of the networks, in leapfrog order: for each step index k (0 only when shared),
    /// `vnet.k` then `xnet.k` or `xnet_first.k`, `xnet_second.k`.
    public static func networkNames(_ s: SamplerSpec) -> [String] {
        let steps = s.network.layout == .shared ? 1 : s.dynamics.nLF
        var names: [String] = []
        for k in 0..<steps {
            names.append("vnet.\(k)")
            if s.network.xNetworksPerStep == 2 {
                names += ["xnet_first.\(k)", "xnet_second.\(k)"]
            } else {
                names.append("xnet.\(k)")
            }
        }
        return names
    }

    /// How many arrays ``expectedArrays(_:probe:)`` lists: the same walk, counted without
    /// building the table (each network's arrays are counted once and multiplied), so an absurd
    /// manifest is rejected quickly.
    public static func expectedArrayCount(_ s: SamplerSpec, probe: ProbeSpec?) -> Int {
        var counter = ArrayTableCounter()
        walkArrays(s, probe: probe, into: &counter)
        return counter.count
    }

    /// The exact set of arrays a model with this description must contain.
    public static func expectedArrays(_ s: SamplerSpec, probe: ProbeSpec?) -> [String: ExpectedArray] {
        var builder = ArrayTableBuilder()
        walkArrays(s, probe: probe, into: &builder)
        return builder.table
    }

    /// The one walk over the canonical array table (docs/FORMAT.md, "Canonical arrays"): step
    /// sizes and masks, each network's layers, then the probe's arrays.
    public static func walkArrays<V: ArrayTableVisitor>(_ s: SamplerSpec, probe: ProbeSpec?, into visitor: inout V) {
        let n = s.stateSize
        let net = s.network
        func entry(_ shape: [Int], _ role: Role, _ dtypes: [DType] = floatTypes) -> ExpectedArray {
            ExpectedArray(shape: shape, dtypes: dtypes, role: role)
        }
        func xWidth(_ name: String) -> Int { (name.hasPrefix("vnet") ? net.vNetInput : net.xNetInput).width(stateSize: n) }
        visitor.add("eps_x", entry([s.dynamics.nLF], .stepSize))
        visitor.add("eps_v", entry([s.dynamics.nLF], .stepSize))
        if let local = net.kind.local {
            // No masks array (a rule) and no shape depends on the lattice.
            visitor.group(networkNames(s)) { v, name in LocalNetworkRules.walkNetwork(name, net, local, into: &v, entry: { entry($0, $1) }) }
        } else {
            walkDenseArrays(s, into: &visitor)
        }
        guard let p = probe else { return }
        let b = p.batch
        visitor.group(p.networks) { v, name in
            v.add(ProbeArrayNames.inX(name), entry([b, xWidth(name)], .probe, [.float64]))
            v.add(ProbeArrayNames.inV(name), entry([b, n], .probe, [.float64]))
            if net.timeInput { v.add(ProbeArrayNames.inT(name), entry([b, 2], .probe, [.float64])) }
            for head in ProbeArrayNames.Head.allCases { v.add(ProbeArrayNames.output(name, head), entry([b, n], .probe, [.float64])) }
        }
        if p.trajectory {
            typealias T = ProbeArrayNames.Trajectory
            for a in [T.x0, T.v0, T.x1, T.v1] { visitor.add(a, entry([b, n], .probe, [.float64])) }
            visitor.add(T.direction, entry([b], .probe, [.float64]))
            visitor.add(T.logDet, entry([b], .probe, [.float64]))
        }
    }

    /// The dense networks' masks and layers.
    private static func walkDenseArrays<V: ArrayTableVisitor>(_ s: SamplerSpec, into visitor: inout V) {
        let n = s.stateSize
        let net = s.network
        func entry(_ shape: [Int], _ role: Role, _ dtypes: [DType] = floatTypes) -> ExpectedArray {
            ExpectedArray(shape: shape, dtypes: dtypes, role: role)
        }
        func xWidth(_ name: String) -> Int { (name.hasPrefix("vnet") ? net.vNetInput : net.xNetInput).width(stateSize: n) }
        visitor.add("masks", entry([s.dynamics.nLF, n], .mask, [.uint8]))
        // v- and x-networks in separate groups: with a conv stack on the x-networks only, their
        // counts differ (a group's body must emit the same count for every name).
        let names = networkNames(s)
        for group in [names.filter { $0.hasPrefix("vnet") }, names.filter { !$0.hasPrefix("vnet") }] {
            visitor.group(group) { v, name in
                let h0 = net.hiddenUnits.first ?? 0  // validate() requires at least one layer
                let xIn = ConvStackRules.walkNetwork(name, s, xWidth: xWidth(name), into: &v, entry: { entry($0, $1) })
                v.add("\(name).x_layer.kernel", entry([xIn, h0], .weight)); v.add("\(name).x_layer.bias", entry([h0], .bias))
                v.add("\(name).v_layer.kernel", entry([n, h0], .weight)); v.add("\(name).v_layer.bias", entry([h0], .bias))
                if net.timeInput { v.add("\(name).t_layer.kernel", entry([2, h0], .weight)); v.add("\(name).t_layer.bias", entry([h0], .bias)) }
                for i in net.hiddenUnits.indices.dropFirst() {
                    v.add("\(name).hidden\(i).kernel", entry([net.hiddenUnits[i - 1], net.hiddenUnits[i]], .weight))
                    v.add("\(name).hidden\(i).bias", entry([net.hiddenUnits[i]], .bias))
                }
                let hl = net.hiddenUnits.last ?? 0  // validate() requires at least one layer
                if net.batchNorm != nil {
                    for p in ["gamma", "beta", "moving_mean", "moving_variance"] { v.add("\(name).batch_norm.\(p)", entry([hl], .weight)) }
                }
                for head in ["scale", "translation", "transformation"] {
                    v.add("\(name).\(head).kernel", entry([hl, n], .weight)); v.add("\(name).\(head).bias", entry([n], .bias))
                }
                if net.scaleHead == .tanhExpCoeff { v.add("\(name).scale.coeff", entry([n], .bias)) }
                if net.transformationHead == .tanhExpCoeff { v.add("\(name).transformation.coeff", entry([n], .bias)) }
            }
        }
    }

    /// Arrays whose names start with `ext.` are extension arrays: allowed, integrity-checked,
    /// never used by the sampler.
    public static func isExtensionArray(_ name: String) -> Bool { name.hasPrefix("ext.") }

    /// Checks a probe description against the sampler: networks must exist, be distinct.
    public static func validate(probe p: ProbeSpec, for s: SamplerSpec) throws {
        if s.network.kind.local != nil, !p.networks.isEmpty {
            throw L2ZError.manifestInvalidValue(path: "probe.networks", expected: "[] for a local network (only the trajectory probe)", actual: "\(p.networks)")
        }
        let names = Set(networkNames(s))
        for (i, net) in p.networks.enumerated() where !names.contains(net) {
            throw L2ZError.manifestInvalidValue(path: "probe.networks[\(i)]", expected: "one of the model's networks \(networkNames(s))", actual: "\"\(net)\"")
        }
        guard Set(p.networks).count == p.networks.count else {
            throw L2ZError.manifestInvalidValue(path: "probe.networks", expected: "distinct names", actual: "\(p.networks)")
        }
        guard !p.networks.isEmpty || p.trajectory else {
            throw L2ZError.manifestInvalidValue(path: "probe", expected: "at least one network or the trajectory", actual: "an empty probe")
        }
        guard p.batch <= 1 << 16 else {
            throw L2ZError.manifestInvalidValue(path: "probe.batch", expected: "at most 65536", actual: "\(p.batch)")
        }
    }
}
