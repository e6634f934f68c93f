/// What kind of network computes S, T and Q.
public enum NetworkKind: Equatable, Sendable {
    /// Dense layers over all n coordinates (``NetworkSpec``'s description): input and head widths
    /// are n, so the model runs only at its own size.
    case dense
    /// Translation-equivariant convolutions with periodic padding over the sites of a U(1)
    /// lattice, with heads per link (docs/FORMAT.md, "Local networks"). No array's shape depends
    /// on the lattice, so the model runs at any lattice size; masks are a rule.
    case local(LocalNetworkSpec)

    /// The manifest's `network.kind` value.
    public var name: String {
        switch self {
        case .dense: return "dense"
        case .local: return "local"
        }
    }

    /// The local network's description, or nil for a dense network.
    public var local: LocalNetworkSpec? {
        if case let .local(l) = self { return l }
        return nil
    }
}

/// The convolution geometry and mask rule of a local network (docs/FORMAT.md, "Local networks").
public struct LocalNetworkSpec: Equatable, Sendable {
    /// Odd side k of every convolution kernel (k x k sites), 1 ... ``LocalNetworkRules/maxKernelSize``.
    public var kernelSize: Int
    public var maskRule: LocalMaskRule

    public init(kernelSize: Int, maskRule: LocalMaskRule = .checkerboard) {
        self.kernelSize = kernelSize; self.maskRule = maskRule
    }
}

/// How the masks of a local model are computed for any lattice, instead of being stored.
public enum LocalMaskRule: String, CaseIterable, Sendable {
    /// Step k's mask is 1 on link (mu, t, x) iff t + x + mu + k is even.
    case checkerboard
}
