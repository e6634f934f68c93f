/// Per-array statistics and warnings for `l2hmc-convert inspect`.
public struct ModelInspection: Sendable {
    public struct ArrayStats: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let sha256: String
        /// min, max and Euclidean norm over all elements (nil for an empty array).
        public let min: Double?, max: Double?, norm: Double?
        public let allZero: Bool
    }

    public let arrays: [ArrayStats]
    /// Human-readable warnings, e.g. trained parameters that are exactly all zero.
    public let warnings: [String]

    public init(model: L2ZModel) {
        let expected = model.spec.expectedArrays(probe: model.probe)
        var stats: [ArrayStats] = []
        var warnings: [String] = []
        for (name, a) in model.arrays.sorted(by: { $0.key < $1.key }) {
            let v = a.doubles()
            let allZero = !v.isEmpty && v.allSatisfy { $0 == 0 }
            stats.append(ArrayStats(name: name, dtype: a.dtype, shape: a.shape, sha256: SHA256Digest.hex(a.bytes),
                                    min: v.min(), max: v.max(), norm: v.isEmpty ? nil : v.reduce(0) { $0 + $1 * $1 }.squareRoot(),
                                    allZero: allZero))
            // Kernels and biases are trained; an exactly-zero one is the upstream export bug's
            // signature. (Head coefficients start at zero by design and are not flagged.)
            if allZero, let role = expected[name]?.role, role == .weight || role == .bias,
               name.hasSuffix(".kernel") || name.hasSuffix(".bias") {
                warnings.append("\(name) is exactly all zero: a trained \(name.hasSuffix(".bias") ? "bias" : "kernel") should not be (the upstream export bug returned zero biases)")
            }
        }
        self.arrays = stats
        self.warnings = warnings
    }
}
