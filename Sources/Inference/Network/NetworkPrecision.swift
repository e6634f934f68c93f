/// The arithmetic of the network evaluations (`--precision`).
///
/// - float64: every GEMM, activation and head in double (the default; the golden-tested path).
/// - float32: the networks (input encodings from the network's entry on, the first-layer GEMMs or
///   the fused small-input kernel, hidden layers, activations, batch norm, the head GEMMs and
///   low-rank head factors) run in float with SGEMM on weights rounded once to float at load;
///   the raw head outputs h_L K (or the factors z = h_L P) are widened back to double where the
///   dynamics hand them to the update kernels. States, forces, energies, log-dets, the x and v
///   updates and Metropolis-Hastings stay double. The proposal is still an exact involution up to
///   rounding (forward and backward evaluate the same float networks on the same inputs), so the
///   chain stays exact to the measured reversibility error (docs/RUNTIME.md, "float32 networks").
public enum NetworkPrecision: String, Sendable, CaseIterable {
    case float64
    case float32

    /// Unit roundoff of the network arithmetic (2^-53 or 2^-24).
    public var unitRoundoff: Double { self == .float64 ? 0x1p-53 : 0x1p-24 }
}
