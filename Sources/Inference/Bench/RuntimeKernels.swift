/// The runtime's low-level kernels as the benchmark (target Audit) measures them: the same
/// GEMM wrapper the networks call and the instruction set of the elementwise kernels. Not for
/// computing with: everything else goes through the dynamics and samplers.
public enum RuntimeKernels {
    /// The instruction set the elementwise kernels run on ("avx512", "avx2+fma" or "portable").
    public static var elementwiseInstructionSet: String { VectorMath.instructionSet }

    /// C[m, n] = A[m, k] B[k, n] through the runtime's own GEMM wrapper (``BLAS``: thread policy
    /// and profiling included), row-major, tightly packed.
    public static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Double>, b: UnsafePointer<Double>, c: UnsafeMutablePointer<Double>) {
        BLAS.gemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, beta: 0, c: c, ldc: n)
    }
}
