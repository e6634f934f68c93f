/// The parsed `manifest.json` of a `.l2z` file (formats 1.0 to 1.3). docs/FORMAT.md is the
/// contract; this type is its exact image: ``ManifestCodec`` reads and writes it strictly.
public struct Manifest: Equatable, Sendable {
    /// The only accepted value of `format`.
    public static let formatName = "l2z"
    /// The newest format version this library reads. It writes the oldest version that holds the
    /// model (``minimumVersion(for:)``), so files without newer features stay 1.0, byte for byte.
    public static let currentVersion = FormatVersion(major: 1, minor: 3)
    /// Every feature this reader implements, with the format version that introduced it: a file
    /// may list a feature only if its `format_version` is at least that version.
    public static let featureVersions: [String: FormatVersion] = [
        "ncp_x_update": FormatVersion(major: 1, minor: 0), "per_step_networks": FormatVersion(major: 1, minor: 0),
        "split_x_networks": FormatVersion(major: 1, minor: 0), "cos_sin_input": FormatVersion(major: 1, minor: 0),
        "batch_norm": FormatVersion(major: 1, minor: 0), "probe": FormatVersion(major: 1, minor: 0),
        "leaky_relu": FormatVersion(major: 1, minor: 1), "local_network": FormatVersion(major: 1, minor: 2),
        "conv_stack": FormatVersion(major: 1, minor: 3),
    ]
    /// Features a file may list in `required_features` that this reader implements.
    public static let knownFeatures: Set<String> = Set(featureVersions.keys)

    /// The oldest format version that has every feature in `features` (1.0 when none is newer):
    /// the version the writer gives a manifest with these required features. Unknown names
    /// count as 1.0 (the reader refuses them separately).
    public static func minimumVersion(for features: [String]) -> FormatVersion {
        features.compactMap { featureVersions[$0] }.reduce(FormatVersion(major: 1, minor: 0), max)
    }
    /// The l2hmc family's architecture name. A manifest's own is `manifest.architecture`: the
    /// family is chosen per file (``ModelSpec``, ``ModelFamilies``).
    @available(*, deprecated, message: "the architecture is per manifest: use manifest.architecture")
    public static var architectureName: String { L2HMCFamily.architecture.name }
    @available(*, deprecated, message: "the architecture is per manifest: use manifest.architecture")
    public static var architectureVersion: Int { L2HMCFamily.architecture.version }

    public var formatVersion: FormatVersion
    /// Features a reader must implement to use this file (see ``knownFeatures``).
    public var requiredFeatures: [String]
    /// The model, by family; `architecture.name` chose its decoder.
    public var model: ModelSpec
    /// Every array in the file, by canonical name.
    public var arrays: [String: ArrayEntry]
    /// The stored self-check, if any.
    public var probe: ProbeSpec?
    public var provenance: Provenance
    /// Root-level `x-` extension keys, kept verbatim.
    public var extensions: [String: JSONValue]

    /// `formatVersion` nil: ``minimumVersion(for:)`` of `requiredFeatures`.
    public init(formatVersion: FormatVersion? = nil, requiredFeatures: [String],
                model: ModelSpec, arrays: [String: ArrayEntry], probe: ProbeSpec?,
                provenance: Provenance, extensions: [String: JSONValue] = [:]) {
        self.formatVersion = formatVersion ?? Manifest.minimumVersion(for: requiredFeatures)
        self.requiredFeatures = requiredFeatures; self.model = model
        self.arrays = arrays; self.probe = probe; self.provenance = provenance; self.extensions = extensions
    }

    /// An l2hmc manifest.
    public init(formatVersion: FormatVersion? = nil, requiredFeatures: [String],
                sampler: SamplerSpec, arrays: [String: ArrayEntry], probe: ProbeSpec?,
                provenance: Provenance, extensions: [String: JSONValue] = [:]) {
        self.init(formatVersion: formatVersion, requiredFeatures: requiredFeatures, model: .l2hmc(sampler), arrays: arrays,
                  probe: probe, provenance: provenance, extensions: extensions)
    }

    /// The manifest's `architecture` (the model family's name and version).
    public var architecture: ModelArchitecture { model.architecture }

    /// The l2hmc payload; `model.wrong_family` for a manifest of another family.
    public var sampler: SamplerSpec {
        get throws { try model.l2hmc() }
    }
}

/// MAJOR.MINOR. A reader refuses an unknown major; it reads a newer minor only when it knows
/// every feature the file lists as required.
public struct FormatVersion: Equatable, Comparable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public init(major: Int, minor: Int) { self.major = major; self.minor = minor }

    /// Parses "MAJOR.MINOR": decimal, no sign, no leading zeros, at most 4 digits each.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        func component(_ s: Substring) -> Int? {
            guard (1...4).contains(s.count), s.allSatisfy({ $0.isASCII && $0.isNumber }), s == "0" || !s.hasPrefix("0") else { return nil }
            return Int(s)
        }
        guard let a = component(parts[0]), let b = component(parts[1]) else { return nil }
        self.init(major: a, minor: b)
    }

    public var description: String { "\(major).\(minor)" }
    public static func < (l: FormatVersion, r: FormatVersion) -> Bool { (l.major, l.minor) < (r.major, r.minor) }
}

/// What the manifest records about one array.
public struct ArrayEntry: Equatable, Sendable {
    public var dtype: DType
    public var shape: [Int]
    /// Lower-case hex SHA-256 of the array's data bytes (little-endian, C order; not the npy header).
    public var sha256: String

    public init(dtype: DType, shape: [Int], sha256: String) { self.dtype = dtype; self.shape = shape; self.sha256 = sha256 }
}

/// A stored self-check: inputs and the outputs the producer computed from them.
///
/// `networks` lists the networks (e.g. `vnet.0`) whose heads were evaluated on the arrays
/// `probe.<net>.in_x`, `in_v`, `in_t` (when time input is on), giving `out_scale`,
/// `out_translation`, `out_transformation` (the network's own outputs, before net weights).
/// With `trajectory`, one trajectory of the trained N_LF steps with the default net weights maps
/// `probe.trajectory.x0`, `v0`, `direction` to `x1`, `v1`, `log_det` (no accept/reject).
public struct ProbeSpec: Equatable, Sendable {
    /// Number of probe rows B (>= 1).
    public var batch: Int
    public var networks: [String]
    public var trajectory: Bool
    /// Tolerance for network heads: |a - b| <= abs + rel |b| elementwise.
    public var headsTolerance: Tolerance
    /// Tolerance for x1 (angle-aware for U(1)) and v1.
    public var trajectoryTolerance: Tolerance
    /// Tolerance for the accumulated log-det.
    public var logDetTolerance: Tolerance

    public init(batch: Int, networks: [String], trajectory: Bool, headsTolerance: Tolerance,
                trajectoryTolerance: Tolerance, logDetTolerance: Tolerance) {
        self.batch = batch; self.networks = networks; self.trajectory = trajectory
        self.headsTolerance = headsTolerance; self.trajectoryTolerance = trajectoryTolerance; self.logDetTolerance = logDetTolerance
    }
}

/// |actual - expected| <= abs + rel * |expected|.
public struct Tolerance: Equatable, Sendable {
    public var abs: Double
    public var rel: Double
    public init(abs: Double, rel: Double) { self.abs = abs; self.rel = rel }
    public func accepts(actual: Double, expected: Double) -> Bool {
        Swift.abs(actual - expected) <= abs + rel * Swift.abs(expected)
    }
}

/// Where a model came from. Only `producer` and `producer_version` are required.
public struct Provenance: Equatable, Sendable {
    public var producer: String
    public var producerVersion: String
    /// SHA-256 of the file this model was converted from, if any.
    public var sourceSHA256: String?
    /// A short description of the source (e.g. "random-init seed 7", "ckpt.h5").
    public var source: String?
    /// Training settings, free-form (any JSON object).
    public var training: [String: JSONValue]?
    /// Creation time (RFC 3339). Optional and never written implicitly, so equal models give
    /// byte-identical files.
    public var created: String?

    public init(producer: String, producerVersion: String, sourceSHA256: String? = nil, source: String? = nil,
                training: [String: JSONValue]? = nil, created: String? = nil) {
        self.producer = producer; self.producerVersion = producerVersion; self.sourceSHA256 = sourceSHA256
        self.source = source; self.training = training; self.created = created
    }
}
