import COpenBLAS

/// The trainer's own dense-algebra helpers (row-major, OpenBLAS). Kept separate from the
/// runtime's so the two implementations share no code.
enum Linear {
    /// C = A B (+ C when accumulate), A [m, k], B [k, n].
    static func matmul(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>,
                       m: Int, k: Int, n: Int, accumulate: Bool = false) {
        guard m > 0 && n > 0 && k > 0 else { if !accumulate { c.update(repeating: 0, count: m * n) }; return }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n),
                    accumulate ? 1 : 0, c, Int32(n))
    }

    /// C += A^T B, A [m, k], B [m, n], C [k, n] (weight gradients).
    static func matmulTransposeA(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>, m: Int, k: Int, n: Int) {
        guard m > 0 && n > 0 && k > 0 else { return }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(n), Int32(m), 1, a, Int32(k), b, Int32(n), 1, c, Int32(n))
    }

    /// C = A B^T (+ C when accumulate), A [m, n], B [k, n], C [m, k] (input gradients).
    static func matmulTransposeB(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>,
                                 m: Int, n: Int, k: Int, accumulate: Bool = false) {
        guard m > 0 && k > 0 && n > 0 else { if !accumulate { c.update(repeating: 0, count: m * k) }; return }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(k), Int32(n), 1, a, Int32(n), b, Int32(n),
                    accumulate ? 1 : 0, c, Int32(k))
    }
}
