import COpenBLAS
import Dispatch

/// Thin wrappers over OpenBLAS for row-major data.
///
/// Threads: ``setThreads(_:)`` sets the count used for GEMMs large enough to gain from it; smaller
/// ones (fewer than ``parallelMinimumWork`` multiply-adds, or an output or inner dimension below
/// 128) run on one thread, because waking OpenBLAS's workers costs more than it saves there (on
/// the 2-core benchmark machine a W1 trajectory took twice as long with two threads). The thread
/// count never changes results: OpenBLAS splits a GEMM by blocks of rows and columns of C, never
/// along the inner dimension (ThreadDeterminismTests).
public enum BLAS {
    /// The thread count asked for with ``setThreads(_:)`` (initially OpenBLAS's default).
    nonisolated(unsafe) private static var requested = Int(openblas_get_num_threads())
    /// GEMMs below this many multiply-adds, or with n or k below the minimum dimension, run on one
    /// thread (tests set both to 0 to thread everything).
    nonisolated(unsafe) static var parallelMinimumWork = 4 << 20
    nonisolated(unsafe) static var parallelMinimumDimension = 128

    /// Optional accounting of GEMM time (the benchmark turns it on to report the GEMM share).
    nonisolated(unsafe) public static var profiling = false
    nonisolated(unsafe) public private(set) static var profiledNanoseconds: UInt64 = 0
    nonisolated(unsafe) public private(set) static var profiledMultiplyAdds: Int = 0
    public static func resetProfile() { profiledNanoseconds = 0; profiledMultiplyAdds = 0 }

    /// C[m, n] = alpha A[m, k] B[k, n] + beta C[m, n], all row-major with leading dimensions
    /// lda, ldb, ldc (elements between consecutive rows).
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, alpha: Double = 1, a: UnsafePointer<Double>, lda: Int,
                     b: UnsafePointer<Double>, ldb: Int, beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if requested > 1 {
            let want = m * n * k >= parallelMinimumWork && min(n, k) >= parallelMinimumDimension ? requested : 1
            if Int(openblas_get_num_threads()) != want { openblas_set_num_threads(Int32(want)) }
        }
        let start = profiling ? DispatchTime.now().uptimeNanoseconds : 0
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        if profiling {
            profiledNanoseconds &+= DispatchTime.now().uptimeNanoseconds - start
            profiledMultiplyAdds &+= m * n * k
        }
    }

    /// Number of threads OpenBLAS uses for later (large enough) GEMMs.
    public static func setThreads(_ n: Int) {
        requested = max(1, n)
        openblas_set_num_threads(Int32(requested))
    }
    public static var threads: Int { requested }
}
