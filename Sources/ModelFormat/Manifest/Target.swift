/// The distribution a sampler targets.
public enum Target: Equatable, Sendable {
    /// 2D U(1) Wilson gauge theory on an Lt x Lx torus; the state is the 2 Lt Lx link angles.
    case u1(U1Lattice)
    /// A Gaussian mixture in R^D.
    case gaussianMixture(GaussianMixture)

    /// Number of real variables in the state x (and in v).
    public var stateSize: Int {
        switch self {
        case let .u1(l): return 2 * l.lt * l.lx
        case let .gaussianMixture(g): return g.dimension
        }
    }

    /// True when the state lives on the circle (angles wrapped to [-pi, pi)).
    public var isCompact: Bool { if case .u1 = self { return true } else { return false } }
}

/// How the 2 Lt Lx link angles are flattened into one vector.
public enum LinkLayout: String, CaseIterable, Sendable {
    /// index = ((t * Lx) + x) * 2 + mu (the TensorFlow eras: shape (B, T, X, 2)).
    case tXMu = "t_x_mu"
    /// index = (mu * Lt + t) * Lx + x (the PyTorch era: shape (N, 2, Nt, Nx)).
    case muTX = "mu_t_x"

    /// Flat index of link mu at site (t, x).
    public func index(t: Int, x: Int, mu: Int, lt: Int, lx: Int) -> Int {
        switch self {
        case .tXMu: return (t * lx + x) * 2 + mu
        case .muTX: return (mu * lt + t) * lx + x
        }
    }
}

/// The U(1) lattice: extents, coupling and link flattening.
public struct U1Lattice: Equatable, Sendable {
    public var lt: Int
    public var lx: Int
    /// Inverse coupling of the Wilson action S = beta sum_P (1 - cos phi_P); beta > 0.
    public var beta: Double
    public var linkLayout: LinkLayout

    public init(lt: Int, lx: Int, beta: Double, linkLayout: LinkLayout = .tXMu) {
        self.lt = lt; self.lx = lx; self.beta = beta; self.linkLayout = linkLayout
    }
}

/// p(x) = sum_m weights[m] N(x; means[m], covariances[m]).
public struct GaussianMixture: Equatable, Sendable {
    public var dimension: Int
    /// Mixture weights; positive, summing to 1 within 1e-12.
    public var weights: [Double]
    /// [components][dimension]
    public var means: [[Double]]
    /// [components][dimension][dimension]; symmetric positive definite.
    public var covariances: [[[Double]]]

    public init(dimension: Int, weights: [Double], means: [[Double]], covariances: [[[Double]]]) {
        self.dimension = dimension; self.weights = weights; self.means = means; self.covariances = covariances
    }
}
