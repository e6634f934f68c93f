/// A dense layer y = x K + b with K stored [inputs, outputs] row-major (the `.l2z` convention),
/// optionally replaced by a rank-r factorization K ~ P Q (P [inputs, r], Q [r, outputs]) that is
/// evaluated as two GEMMs, (x P) Q, so the work really shrinks.
public final class DenseLayer {
    public let inputs: Int
    public let outputs: Int
    /// [inputs, outputs]
    public let kernel: [Double]
    /// [outputs]
    public let bias: [Double]
    /// Rank-r factors, when compressed.
    public private(set) var lowRank: (p: [Double], q: [Double], rank: Int)? { didSet { version &+= 1 } }
    /// Changes whenever the layer is (de)compressed (derived data such as permuted copies check it).
    private(set) var version = 0

    public init(kernel: [Double], bias: [Double], inputs: Int, outputs: Int) {
        precondition(kernel.count == inputs * outputs && bias.count == outputs, "dense layer shapes")
        self.kernel = kernel; self.bias = bias; self.inputs = inputs; self.outputs = outputs
    }

    /// The singular value decomposition of the kernel.
    public func svd() throws -> TruncatedSVD { try TruncatedSVD(matrix: kernel, rows: inputs, cols: outputs) }

    /// Replaces the kernel by its rank-`rank` truncated SVD (no-op if rank >= min(in, out)).
    /// Returns the fraction of sum s_i^2 kept.
    @discardableResult
    public func compress(rank: Int, svd precomputed: TruncatedSVD? = nil) throws -> Double {
        let d = try precomputed ?? svd()
        let full = min(inputs, outputs)
        guard rank < full else { lowRank = nil; return 1 }
        let f = d.factors(rank: rank)
        lowRank = (f.p, f.q, rank)
        return d.energyRetained(rank: rank)
    }

    /// Rank in use (min(in, out) when uncompressed).
    public var rank: Int { lowRank?.rank ?? min(inputs, outputs) }

    /// Multiply-adds per input row, the FLOP model of the benchmark (x2 for FLOPs).
    public var multiplyAddsPerRow: Int { lowRank.map { $0.rank * (inputs + outputs) } ?? inputs * outputs }

    /// out[rows, outputs] (leading dimension ldo) = x[rows, inputs] K (+ out if accumulate).
    /// The bias is NOT added (callers fold biases together). `scratch` needs rows * rank doubles
    /// when compressed.
    @inline(__always)
    func multiply(_ x: UnsafePointer<Double>, ldx: Int, rows: Int, into out: UnsafeMutablePointer<Double>, ldo: Int,
                  accumulate: Bool, scratch: UnsafeMutablePointer<Double>) {
        let beta: Double = accumulate ? 1 : 0
        if let lr = lowRank {
            lr.p.withUnsafeBufferPointer { p in
                BLAS.gemm(m: rows, n: lr.rank, k: inputs, a: x, lda: ldx, b: p.baseAddress!, ldb: lr.rank, beta: 0, c: scratch, ldc: lr.rank)
            }
            lr.q.withUnsafeBufferPointer { q in
                BLAS.gemm(m: rows, n: outputs, k: lr.rank, a: scratch, lda: lr.rank, b: q.baseAddress!, ldb: outputs, beta: beta, c: out, ldc: ldo)
            }
        } else {
            kernel.withUnsafeBufferPointer { k in
                BLAS.gemm(m: rows, n: outputs, k: inputs, a: x, lda: ldx, b: k.baseAddress!, ldb: outputs, beta: beta, c: out, ldc: ldo)
            }
        }
    }
}
