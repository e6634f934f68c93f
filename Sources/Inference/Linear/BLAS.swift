import COpenBLAS
import Dispatch
nonisolated(unsafe) public var gemmNanos: UInt64 = 0
nonisolated(unsafe) public var gemmFlops: Double = 0

/// Thin wrappers over OpenBLAS for row-major data.
public enum BLAS {
    /// C[m, n] = alpha A[m, k] B[k, n] + beta C[m, n], all row-major with leading dimensions
    /// lda, ldb, ldc (elements between consecutive rows).
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, alpha: Double = 1, a: UnsafePointer<Double>, lda: Int,
                     b: UnsafePointer<Double>, ldb: Int, beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer { gemmNanos &+= DispatchTime.now().uptimeNanoseconds - t0; gemmFlops += 2 * Double(m * n * k) }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Number of threads OpenBLAS uses for later calls.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
    public static var threads: Int { Int(openblas_get_num_threads()) }
}
