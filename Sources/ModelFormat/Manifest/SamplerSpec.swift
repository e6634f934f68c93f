/// Everything needed to rebuild an L2HMC sampler, apart from its arrays.
///
/// The update equations are those of seed 001 sec. 4-6 (forward eq. 17-20, backward eq. 21-24,
/// log-det eq. 26) with the conventions named here; docs/FORMAT.md states each one precisely.
public struct SamplerSpec: Equatable, Sendable {
    public var target: Target
    public var dynamics: Dynamics
    public var network: NetworkSpec
    /// Default weights multiplying the six network outputs (seed 001 sec. 11.1).
    public var netWeights: NetWeights

    public init(target: Target, dynamics: Dynamics, network: NetworkSpec, netWeights: NetWeights = .all(1)) {
        self.target = target; self.dynamics = dynamics; self.network = network; self.netWeights = netWeights
    }

    /// Number of real variables in x.
    public var stateSize: Int { target.stateSize }
}

/// Leapfrog conventions.
public struct Dynamics: Equatable, Sendable {
    /// Number of leapfrog steps the model was trained with (>= 1).
    public var nLF: Int
    public var xUpdate: XUpdateForm
    /// Sign s of T in the v update: v' = v e^{eps S/2} - eps/2 (F e^{eps Q} + s T).
    public var translationSign: TranslationSign
    /// How the stored `eps_x` values become the step size of the x updates.
    public var epsXParametrization: StepSizeParametrization
    /// How the stored `eps_v` values become the step size of the v updates.
    public var epsVParametrization: StepSizeParametrization

    public init(nLF: Int, xUpdate: XUpdateForm, translationSign: TranslationSign = .plus,
                epsXParametrization: StepSizeParametrization = .raw, epsVParametrization: StepSizeParametrization = .raw) {
        self.nLF = nLF; self.xUpdate = xUpdate; self.translationSign = translationSign
        self.epsXParametrization = epsXParametrization; self.epsVParametrization = epsVParametrization
    }
}

/// The x sub-update applied to the updated coordinates.
public enum XUpdateForm: String, CaseIterable, Sendable {
    /// x' = x e^{eps S_x} + eps (v e^{eps Q_x} + T_x) (then wrapped for angles). On U(1) only
    /// valid with the x-scale off (net weight 0): scaling then wrapping is not a bijection.
    case linear
    /// Non-compact projection (seed 001 eq. 85-86): x' = wrap(2 atan(e^{eps S_x} tan(x/2)) + eps (v e^{eps Q_x} + T_x)).
    case ncp
}

/// The sign of T_v in the v update.
public enum TranslationSign: Int, CaseIterable, Sendable {
    case plus = 1
    case minus = -1
}

/// Maps a stored step-size parameter e > 0 to the step size used.
public enum StepSizeParametrization: String, CaseIterable, Sendable {
    /// eps = e
    case raw
    /// eps = e / (1 + e)
    case epsOverOnePlusEps = "eps_over_one_plus_eps"

    public func stepSize(_ stored: Double) -> Double {
        switch self {
        case .raw: return stored
        case .epsOverOnePlusEps: return stored / (1 + stored)
        }
    }
}

/// The six multipliers of the network outputs (seed 001 sec. 11.1). Zero turns a function off;
/// all zero reproduces plain leapfrog.
public struct NetWeights: Equatable, Sendable {
    public var xScale: Double, xTranslation: Double, xTransformation: Double
    public var vScale: Double, vTranslation: Double, vTransformation: Double

    public init(xScale: Double, xTranslation: Double, xTransformation: Double,
                vScale: Double, vTranslation: Double, vTransformation: Double) {
        self.xScale = xScale; self.xTranslation = xTranslation; self.xTransformation = xTransformation
        self.vScale = vScale; self.vTranslation = vTranslation; self.vTransformation = vTransformation
    }

    public static func all(_ a: Double) -> NetWeights { NetWeights(xScale: a, xTranslation: a, xTransformation: a, vScale: a, vTranslation: a, vTransformation: a) }

    /// Manifest keys in their canonical order (x then v; scale, translation, transformation).
    public static let keys = ["x_scale", "x_translation", "x_transformation", "v_scale", "v_translation", "v_transformation"]

    public var values: [Double] { [xScale, xTranslation, xTransformation, vScale, vTranslation, vTransformation] }

    public init(values v: [Double]) {
        precondition(v.count == 6, "six net weights")
        self.init(xScale: v[0], xTranslation: v[1], xTransformation: v[2], vScale: v[3], vTranslation: v[4], vTransformation: v[5])
    }
}
