/// Converts between ``Manifest`` and its JSON form, strictly.
///
/// Decoding checks the format name and version first (so a file of an unknown major is refused
/// with both versions named before anything else is interpreted), then every field's presence,
/// type and range, then the cross-field rules of docs/FORMAT.md ("Manifest rules").
public enum ManifestCodec {
    // MARK: Decoding

    public static func decode(_ json: JSONValue) throws -> Manifest {
        // Format identity before anything else.
        guard case let .object(root) = json else {
            throw L2ZError.manifestWrongType(path: "(root)", expected: "an object", actual: json.typeName)
        }
        guard let formatValue = root["format"] else { throw L2ZError.manifestMissingField(path: "format") }
        let format = try JSONObjectReader.string(formatValue, path: "format")
        guard format == Manifest.formatName else { throw L2ZError.wrongFormatName(found: format) }
        guard let versionValue = root["format_version"] else { throw L2ZError.manifestMissingField(path: "format_version") }
        let versionText = try JSONObjectReader.string(versionValue, path: "format_version")
        guard let version = FormatVersion(versionText) else { throw L2ZError.malformedVersion(path: "format_version", found: versionText) }
        let current = Manifest.currentVersion
        guard version.major == current.major else {
            throw L2ZError.unsupportedFormatVersion(found: version.description, supported: "\(current.major).0 to \(current)")
        }
        let newerMinor = version.minor > current.minor

        var r = try JSONObjectReader(json, path: "", tolerateUnknownKeys: newerMinor)
        r.allowsExtensions = true
        _ = try r.string("format"); _ = try r.string("format_version")
        let features = try r.array("required_features").enumerated().map {
            try JSONObjectReader.string($0.element, path: "required_features[\($0.offset)]")
        }
        for f in features where !Manifest.knownFeatures.contains(f) {
            throw L2ZError.unknownRequiredFeature(feature: f, fileVersion: version.description, readerVersion: current.description)
        }
        guard Set(features).count == features.count else {
            throw L2ZError.manifestInvalidValue(path: "required_features", expected: "distinct names", actual: "\(features)")
        }
        // A feature newer than the file's version: the file claims a version that cannot hold it.
        let needsVersion = Manifest.minimumVersion(for: features)
        if version < needsVersion, let newest = features.first(where: { Manifest.featureVersions[$0] == needsVersion }) {
            throw L2ZError.manifestInvalidValue(path: "format_version", expected: "\(needsVersion) or newer, since required_features lists \"\(newest)\" (added in format \(needsVersion))",
                                                actual: "\"\(version)\"")
        }
        var arch = try r.object("architecture")
        let archName = try arch.string("name")
        let archVersion = try arch.int("version")
        try arch.finish()
        let architecture = ModelArchitecture(name: archName, version: archVersion)
        guard let family = ModelFamilies.decoder(for: architecture) else {
            throw L2ZError.unsupportedArchitecture(found: architecture.description, supported: ModelFamilies.supported)
        }
        let model = try family.decode(root: &r)

        var arraysReader = try r.object("arrays")
        var arrays: [String: ArrayEntry] = [:]
        guard case let .object(arrayObjects) = try r.required("arrays") else {
            throw L2ZError.manifestWrongType(path: "arrays", expected: "an object", actual: "other")
        }
        for name in arrayObjects.keys.sorted() {
            let path = "arrays.\(name)"
            try ArrayName.validate(name)
            var e = try JSONObjectReader(arraysReader.required(name), path: path, tolerateUnknownKeys: newerMinor)
            let dtypeText = try e.string("dtype")
            guard let dtype = DType(rawValue: dtypeText) else {
                throw L2ZError.manifestInvalidValue(path: "\(path).dtype", expected: "one of \(DType.allCases.map(\.rawValue))", actual: "\"\(dtypeText)\"")
            }
            let shape = try JSONObjectReader.ints(try e.required("shape"), path: "\(path).shape")
            for (i, d) in shape.enumerated() where d < 0 {
                throw L2ZError.manifestInvalidValue(path: "\(path).shape[\(i)]", expected: "a dimension >= 0", actual: "\(d)")
            }
            let sha = try e.string("sha256")
            guard sha.count == 64, sha.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw L2ZError.manifestInvalidValue(path: "\(path).sha256", expected: "64 lower-case hex digits", actual: "\"\(sha.prefix(80))\"")
            }
            try e.finish()
            arrays[name] = ArrayEntry(dtype: dtype, shape: shape, sha256: sha)
        }
        try arraysReader.finish()

        var probe: ProbeSpec?
        if let p = r.optional("probe") { probe = try decodeProbe(try JSONObjectReader(p, path: "probe", tolerateUnknownKeys: newerMinor)) }
        let provenance = try decodeProvenance(try r.object("provenance"))
        let extensions = r.extensions()
        try r.finish()

        let manifest = Manifest(formatVersion: version, requiredFeatures: features, model: model, arrays: arrays,
                                probe: probe, provenance: provenance, extensions: extensions)
        try model.validate()
        if let probe { try model.validate(probe: probe) }
        let needed = Set(model.requiredFeatures(probe: probe))
        for f in needed.sorted() where !features.contains(f) {
            throw L2ZError.manifestInvalidValue(path: "required_features", expected: "a list including \"\(f)\", which this model uses", actual: "\(features)")
        }
        return manifest
    }

    // MARK: Targets alone (a run's params.json)

    /// Reads a target object (`{"kind": "u1_2d", ...}` or `{"kind": "gaussian_mixture", ...}`)
    /// with the manifest's strict rules: every key known and present, each of its type, integers
    /// >= 1 where the manifest requires it, beta > 0. Errors name `path` (e.g. `target.lt`).
    /// The size limits and mixture consistency are ``SamplerRules/validate(target:)``'s.
    public static func decodeTarget(_ json: JSONValue, path: String = "target") throws -> Target {
        try decodeTarget(try JSONObjectReader(json, path: path, tolerateUnknownKeys: false))
    }

    static func decodeTarget(_ reader: JSONObjectReader) throws -> Target {
        var t = reader
        let kind = try t.string("kind")
        let result: Target
        switch kind {
        case "u1_2d":
            let lt = try t.int("lt", min: 1), lx = try t.int("lx", min: 1)
            let beta = try t.double("beta")
            guard beta > 0 else { throw L2ZError.manifestInvalidValue(path: t.childPath("beta"), expected: "a number > 0", actual: "\(beta)") }
            let layout = try t.choice("link_layout", LinkLayout.self)
            result = .u1(U1Lattice(lt: lt, lx: lx, beta: beta, linkLayout: layout))
        case "gaussian_mixture":
            let dim = try t.int("dimension", min: 1)
            let weights = try JSONObjectReader.doubles(try t.required("weights"), path: t.childPath("weights"))
            guard case let .array(meansJSON) = try t.required("means") else {
                throw L2ZError.manifestWrongType(path: t.childPath("means"), expected: "an array of arrays", actual: "other")
            }
            let means = try meansJSON.enumerated().map { try JSONObjectReader.doubles($0.element, path: "\(t.childPath("means"))[\($0.offset)]") }
            guard case let .array(covJSON) = try t.required("covariances") else {
                throw L2ZError.manifestWrongType(path: t.childPath("covariances"), expected: "an array of matrices", actual: "other")
            }
            let covs: [[[Double]]] = try covJSON.enumerated().map { (m, matrix) in
                guard case let .array(rows) = matrix else {
                    throw L2ZError.manifestWrongType(path: "\(t.childPath("covariances"))[\(m)]", expected: "a matrix", actual: matrix.typeName)
                }
                return try rows.enumerated().map { try JSONObjectReader.doubles($0.element, path: "\(t.childPath("covariances"))[\(m)][\($0.offset)]") }
            }
            result = .gaussianMixture(GaussianMixture(dimension: dim, weights: weights, means: means, covariances: covs))
        default:
            throw L2ZError.manifestInvalidValue(path: t.childPath("kind"), expected: "\"u1_2d\" or \"gaussian_mixture\"", actual: "\"\(kind)\"")
        }
        try t.finish()
        return result
    }

    static func decodeDynamics(_ reader: JSONObjectReader) throws -> Dynamics {
        var d = reader
        let nLF = try d.int("n_lf", min: 1)
        let xUpdate = try d.choice("x_update", XUpdateForm.self)
        let signValue = try d.int("translation_sign")
        guard let sign = TranslationSign(rawValue: signValue) else {
            throw L2ZError.manifestInvalidValue(path: d.childPath("translation_sign"), expected: "1 or -1", actual: "\(signValue)")
        }
        let ex = try d.choice("eps_x_parametrization", StepSizeParametrization.self)
        let ev = try d.choice("eps_v_parametrization", StepSizeParametrization.self)
        try d.finish()
        return Dynamics(nLF: nLF, xUpdate: xUpdate, translationSign: sign, epsXParametrization: ex, epsVParametrization: ev)
    }

    static func decodeNetwork(_ reader: JSONObjectReader) throws -> NetworkSpec {
        var n = reader
        var kind = "dense"
        if n.optional("kind") != nil { kind = try n.string("kind") }
        switch kind {
        case "dense": break
        case "local": return try decodeLocalNetwork(n)
        default:
            throw L2ZError.manifestInvalidValue(path: n.childPath("kind"), expected: "\"dense\" or \"local\"", actual: "\"\(kind)\"")
        }
        let layout = try n.choice("layout", NetworkLayout.self)
        let xPerStep = try n.int("x_networks_per_step")
        guard xPerStep == 1 || xPerStep == 2 else {
            throw L2ZError.manifestInvalidValue(path: n.childPath("x_networks_per_step"), expected: "1 or 2", actual: "\(xPerStep)")
        }
        let xIn = try n.choice("x_net_input", InputEncoding.self)
        let vIn = try n.choice("v_net_input", InputEncoding.self)
        var placement: MaskPlacement?
        if n.optional("mask_placement") != nil { placement = try n.choice("mask_placement", MaskPlacement.self) }
        let time = try n.bool("time_input")
        let units = try JSONObjectReader.ints(try n.required("hidden_units"), path: n.childPath("hidden_units"))
        guard !units.isEmpty, units.allSatisfy({ $0 >= 1 }) else {
            throw L2ZError.manifestInvalidValue(path: n.childPath("hidden_units"), expected: "a non-empty list of widths >= 1", actual: "\(units)")
        }
        let act = try n.choice("activation", Activation.self)
        let scale = try n.choice("scale_head", SquashedHead.self)
        let transformation = try n.choice("transformation_head", SquashedHead.self)
        let batchNorm = try decodeBatchNorm(&n)
        var convStack: ConvStackSpec?
        if n.optional("conv_stack") != nil { convStack = try decodeConvStack(try n.object("conv_stack")) }
        try n.finish()
        var spec = NetworkSpec(layout: layout, xNetworksPerStep: xPerStep, xNetInput: xIn, vNetInput: vIn, maskPlacement: placement,
                               timeInput: time, hiddenUnits: units, activation: act, scaleHead: scale,
                               transformationHead: transformation, batchNorm: batchNorm)
        spec.convStack = convStack
        return spec
    }

    /// The `network.conv_stack` object (format 1.3; docs/FORMAT.md, "Convolution stack"). Ranges
    /// and the fit to the lattice are ``ConvStackRules/validate(_:_:)``'s.
    private static func decodeConvStack(_ reader: JSONObjectReader) throws -> ConvStackSpec {
        var c = reader
        let applies = try c.choice("applies_to", ConvStackSpec.AppliesTo.self)
        let layers: [ConvStackSpec.Layer] = try c.array("layers").enumerated().map { j, value in
            var l = try JSONObjectReader(value, path: "\(c.childPath("layers"))[\(j)]", tolerateUnknownKeys: c.tolerateUnknownKeys)
            let layer = ConvStackSpec.Layer(filters: try l.int("filters"), kernelSize: try l.int("kernel_size"), pool: try l.int("pool"),
                                            activation: try l.bool("activation"))
            try l.finish()
            return layer
        }
        let order = try c.choice("pool_order", ConvStackSpec.PoolOrder.self)
        let dense = try c.int("dense_units")
        try c.finish()
        return ConvStackSpec(appliesTo: applies, layers: layers, poolOrder: order, denseUnits: dense)
    }

    /// A `"kind": "local"` network object (docs/FORMAT.md, "Local networks"): the dense keys that
    /// keep their meaning, `channels` for `hidden_units`, `kernel_size` and `mask_rule`; no input
    /// encodings or mask placement (the per-site features are fixed).
    private static func decodeLocalNetwork(_ reader: JSONObjectReader) throws -> NetworkSpec {
        var n = reader
        let layout = try n.choice("layout", NetworkLayout.self)
        let xPerStep = try n.int("x_networks_per_step")
        guard xPerStep == 1 || xPerStep == 2 else {
            throw L2ZError.manifestInvalidValue(path: n.childPath("x_networks_per_step"), expected: "1 or 2", actual: "\(xPerStep)")
        }
        let time = try n.bool("time_input")
        let channels = try JSONObjectReader.ints(try n.required("channels"), path: n.childPath("channels"))
        guard !channels.isEmpty, channels.allSatisfy({ $0 >= 1 }) else {
            throw L2ZError.manifestInvalidValue(path: n.childPath("channels"), expected: "a non-empty list of channel counts >= 1", actual: "\(channels)")
        }
        let kernel = try n.int("kernel_size")
        let rule = try n.choice("mask_rule", LocalMaskRule.self)
        let act = try n.choice("activation", Activation.self)
        let scale = try n.choice("scale_head", SquashedHead.self)
        let transformation = try n.choice("transformation_head", SquashedHead.self)
        let batchNorm = try decodeBatchNorm(&n)
        try n.finish()
        return NetworkSpec.local(LocalNetworkSpec(kernelSize: kernel, maskRule: rule), layout: layout, xNetworksPerStep: xPerStep,
                                 timeInput: time, channels: channels, activation: act, scaleHead: scale,
                                 transformationHead: transformation, batchNorm: batchNorm)
    }

    /// The optional `batch_norm` object (null or absent: none).
    private static func decodeBatchNorm(_ n: inout JSONObjectReader) throws -> BatchNormSpec? {
        guard let bn = n.optional("batch_norm"), bn != .null else { return nil }
        var b = try JSONObjectReader(bn, path: n.childPath("batch_norm"), tolerateUnknownKeys: n.tolerateUnknownKeys)
        let eps = try b.double("epsilon")
        guard eps > 0 else { throw L2ZError.manifestInvalidValue(path: b.childPath("epsilon"), expected: "a number > 0", actual: "\(eps)") }
        try b.finish()
        return BatchNormSpec(epsilon: eps)
    }

    static func decodeNetWeights(_ reader: JSONObjectReader) throws -> NetWeights {
        var w = reader
        let values = try NetWeights.keys.map { try w.double($0) }
        try w.finish()
        return NetWeights(values: values)
    }

    private static func decodeTolerance(_ reader: JSONObjectReader) throws -> Tolerance {
        var t = reader
        let a = try t.double("abs"), r = try t.double("rel")
        guard a >= 0, r >= 0 else { throw L2ZError.manifestInvalidValue(path: t.path, expected: "abs >= 0 and rel >= 0", actual: "abs \(a), rel \(r)") }
        try t.finish()
        return Tolerance(abs: a, rel: r)
    }

    private static func decodeProbe(_ reader: JSONObjectReader) throws -> ProbeSpec {
        var p = reader
        let batch = try p.int("batch", min: 1)
        let nets = try p.array("networks").enumerated().map { try JSONObjectReader.string($0.element, path: "probe.networks[\($0.offset)]") }
        let traj = try p.bool("trajectory")
        var tol = try p.object("tolerances")
        let heads = try decodeTolerance(try tol.object("heads"))
        let trajectory = try decodeTolerance(try tol.object("trajectory"))
        let logDet = try decodeTolerance(try tol.object("log_det"))
        try tol.finish()
        try p.finish()
        return ProbeSpec(batch: batch, networks: nets, trajectory: traj, headsTolerance: heads,
                         trajectoryTolerance: trajectory, logDetTolerance: logDet)
    }

    private static func decodeProvenance(_ reader: JSONObjectReader) throws -> Provenance {
        var p = reader
        let producer = try p.string("producer"), version = try p.string("producer_version")
        var sha: String?, source: String?, created: String?, training: [String: JSONValue]?
        if let v = p.optional("source_sha256") {
            let s = try JSONObjectReader.string(v, path: "provenance.source_sha256")
            guard s.count == 64, s.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw L2ZError.manifestInvalidValue(path: "provenance.source_sha256", expected: "64 lower-case hex digits", actual: "\"\(s.prefix(80))\"")
            }
            sha = s
        }
        if let v = p.optional("source") { source = try JSONObjectReader.string(v, path: "provenance.source") }
        if let v = p.optional("created") { created = try JSONObjectReader.string(v, path: "provenance.created") }
        if let v = p.optional("training") {
            guard case let .object(o) = v else { throw L2ZError.manifestWrongType(path: "provenance.training", expected: "an object", actual: v.typeName) }
            training = o
        }
        try p.finish()
        return Provenance(producer: producer, producerVersion: version, sourceSHA256: sha, source: source, training: training, created: created)
    }

    // MARK: Sampler descriptions alone (checkpoints and sidecars)

    /// The sampler part of a manifest: an object with `target`, `dynamics`, `network`,
    /// `net_weights`, in the manifest's schema.
    public static func encodeSampler(_ s: SamplerSpec) -> JSONValue {
        .object(L2HMCFamily.encode(s))
    }

    /// Reads what ``encodeSampler(_:)`` writes, with every manifest rule.
    public static func decodeSampler(_ json: JSONValue) throws -> SamplerSpec {
        var r = try JSONObjectReader(json, path: "", tolerateUnknownKeys: false)
        let s = SamplerSpec(target: try decodeTarget(try r.object("target")), dynamics: try decodeDynamics(try r.object("dynamics")),
                            network: try decodeNetwork(try r.object("network")), netWeights: try decodeNetWeights(try r.object("net_weights")))
        try r.finish()
        try SamplerRules.validate(s)
        return s
    }

    // MARK: Encoding

    public static func encode(_ m: Manifest) -> JSONValue {
        var root: [String: JSONValue] = [
            "format": .string(Manifest.formatName),
            "format_version": .string(m.formatVersion.description),
            "required_features": .array(m.requiredFeatures.sorted().map { .string($0) }),
            "architecture": .object(["name": .string(m.model.architecture.name), "version": .int(Int64(m.model.architecture.version))]),
            "arrays": .object(m.arrays.mapValues { e in
                .object(["dtype": .string(e.dtype.rawValue), "shape": .array(e.shape.map { .int(Int64($0)) }), "sha256": .string(e.sha256)])
            }),
            "provenance": encodeProvenance(m.provenance),
        ]
        for (k, v) in m.model.manifestFields() { root[k] = v }
        if let p = m.probe { root["probe"] = encodeProbe(p) }
        for (k, v) in m.extensions { root[k] = v }
        return .object(root)
    }

    /// A target object in the manifest's schema; ``decodeTarget(_:path:)`` reads it back.
    public static func encodeTarget(_ t: Target) -> JSONValue {
        switch t {
        case let .u1(l):
            return .object(["kind": .string("u1_2d"), "lt": .int(Int64(l.lt)), "lx": .int(Int64(l.lx)),
                            "beta": .double(l.beta), "link_layout": .string(l.linkLayout.rawValue)])
        case let .gaussianMixture(g):
            return .object([
                "kind": .string("gaussian_mixture"), "dimension": .int(Int64(g.dimension)),
                "weights": .array(g.weights.map { .double($0) }),
                "means": .array(g.means.map { .array($0.map { .double($0) }) }),
                "covariances": .array(g.covariances.map { .array($0.map { .array($0.map { .double($0) }) }) }),
            ])
        }
    }

    static func encodeDynamics(_ d: Dynamics) -> JSONValue {
        .object(["n_lf": .int(Int64(d.nLF)), "x_update": .string(d.xUpdate.rawValue),
                 "translation_sign": .int(Int64(d.translationSign.rawValue)),
                 "eps_x_parametrization": .string(d.epsXParametrization.rawValue),
                 "eps_v_parametrization": .string(d.epsVParametrization.rawValue)])
    }

    /// A dense network's object has no `kind` (files stay as they were before local networks).
    static func encodeNetwork(_ n: NetworkSpec) -> JSONValue {
        var o: [String: JSONValue] = [
            "layout": .string(n.layout.rawValue), "x_networks_per_step": .int(Int64(n.xNetworksPerStep)),
            "time_input": .bool(n.timeInput),
            "activation": .string(n.activation.rawValue), "scale_head": .string(n.scaleHead.rawValue),
            "transformation_head": .string(n.transformationHead.rawValue),
            "batch_norm": n.batchNorm.map { .object(["epsilon": .double($0.epsilon)]) } ?? .null,
        ]
        switch n.kind {
        case .dense:
            o["x_net_input"] = .string(n.xNetInput.rawValue); o["v_net_input"] = .string(n.vNetInput.rawValue)
            o["hidden_units"] = .array(n.hiddenUnits.map { .int(Int64($0)) })
            if let p = n.maskPlacement { o["mask_placement"] = .string(p.rawValue) }
            if let c = n.convStack { o["conv_stack"] = encodeConvStack(c) }
        case let .local(l):
            o["kind"] = .string("local"); o["channels"] = .array(n.hiddenUnits.map { .int(Int64($0)) })
            o["kernel_size"] = .int(Int64(l.kernelSize)); o["mask_rule"] = .string(l.maskRule.rawValue)
        }
        return .object(o)
    }

    /// Written only when present, so files without a stack keep their bytes.
    private static func encodeConvStack(_ c: ConvStackSpec) -> JSONValue {
        .object(["applies_to": .string(c.appliesTo.rawValue), "pool_order": .string(c.poolOrder.rawValue),
                 "dense_units": .int(Int64(c.denseUnits)),
                 "layers": .array(c.layers.map { l in
                     .object(["filters": .int(Int64(l.filters)), "kernel_size": .int(Int64(l.kernelSize)), "pool": .int(Int64(l.pool)),
                              "activation": .bool(l.activation)])
                 })])
    }

    private static func encodeTolerance(_ t: Tolerance) -> JSONValue { .object(["abs": .double(t.abs), "rel": .double(t.rel)]) }

    private static func encodeProbe(_ p: ProbeSpec) -> JSONValue {
        .object(["batch": .int(Int64(p.batch)), "networks": .array(p.networks.map { .string($0) }), "trajectory": .bool(p.trajectory),
                 "tolerances": .object(["heads": encodeTolerance(p.headsTolerance), "trajectory": encodeTolerance(p.trajectoryTolerance),
                                        "log_det": encodeTolerance(p.logDetTolerance)])])
    }

    private static func encodeProvenance(_ p: Provenance) -> JSONValue {
        var o: [String: JSONValue] = ["producer": .string(p.producer), "producer_version": .string(p.producerVersion)]
        if let s = p.sourceSHA256 { o["source_sha256"] = .string(s) }
        if let s = p.source { o["source"] = .string(s) }
        if let s = p.created { o["created"] = .string(s) }
        if let t = p.training { o["training"] = .object(t) }
        return .object(o)
    }
}
