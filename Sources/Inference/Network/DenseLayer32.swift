/// The float32 copy of a ``DenseLayer`` (its kernel, or its rank-r factors, and its bias, each
/// rounded once to float, round to nearest), multiplied with SGEMM. Immutable: a layer that is
/// (de)compressed later gets a new copy (``L2HMCNetwork32`` checks the version).
final class DenseLayer32 {
    let inputs: Int
    let outputs: Int
    /// [inputs, outputs], when the layer is not compressed.
    let kernel: FloatBuffer?
    let bias: FloatBuffer
    let lowRank: (p: FloatBuffer, q: FloatBuffer, rank: Int)?

    init(_ layer: DenseLayer) {
        inputs = layer.inputs
        outputs = layer.outputs
        bias = FloatBuffer(layer.bias)
        if let lr = layer.lowRank {
            lowRank = (FloatBuffer(lr.p), FloatBuffer(lr.q), lr.rank)
            kernel = nil
        } else {
            lowRank = nil
            kernel = FloatBuffer(layer.kernel)
        }
    }

    /// out[rows, outputs] (leading dimension ldo) = x[rows, inputs] K (+ out if accumulate); the
    /// float twin of ``DenseLayer/multiply(_:ldx:rows:into:ldo:accumulate:scratch:)``.
    @inline(__always)
    func multiply(_ x: UnsafePointer<Float>, ldx: Int, rows: Int, into out: UnsafeMutablePointer<Float>, ldo: Int,
                  accumulate: Bool, scratch: UnsafeMutablePointer<Float>) {
        let beta: Float = accumulate ? 1 : 0
        if let lr = lowRank {
            BLAS.sgemm(m: rows, n: lr.rank, k: inputs, a: x, lda: ldx, b: lr.p.pointer, ldb: lr.rank, beta: 0, c: scratch, ldc: lr.rank)
            BLAS.sgemm(m: rows, n: outputs, k: lr.rank, a: scratch, lda: lr.rank, b: lr.q.pointer, ldb: outputs, beta: beta, c: out, ldc: ldo)
        } else if let k = kernel {
            BLAS.sgemm(m: rows, n: outputs, k: inputs, a: x, lda: ldx, b: k.pointer, ldb: outputs, beta: beta, c: out, ldc: ldo)
        }
    }
}
