import COpenBLAS

extension BLAS {
    /// Single-precision C[m, n] = A[m, k] B[k, n] + beta C[m, n], row-major, with the same thread
    /// rule as ``gemm(m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` (not counted by ``profiling``).
    @inline(__always)
    static func sgemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        let requested = threads
        if requested > 1 {
            let want = m * n * k >= parallelMinimumWork && min(n, k) >= parallelMinimumDimension ? requested : 1
            if Int(openblas_get_num_threads()) != want { openblas_set_num_threads(Int32(want)) }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
