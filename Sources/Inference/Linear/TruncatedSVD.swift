import COpenBLAS

/// Singular value decomposition of a row-major matrix through LAPACK's dgesdd.
public struct TruncatedSVD {
    /// Singular values, descending.
    public let singularValues: [Double]
    /// [rows, k] left singular vectors (row-major), k = min(rows, cols).
    public let u: [Double]
    /// [k, cols] right singular vectors transposed (row-major).
    public let vt: [Double]
    public let rows: Int, cols: Int

    public enum Failure: Error, CustomStringConvertible {
        case lapack(info: Int32)
        /// One line naming LAPACK's info code (negative: argument -info was illegal; positive:
        /// the iteration did not converge).
        public var description: String {
            switch self {
            case let .lapack(info): return "LAPACK dgesdd failed (info \(info))"
            }
        }
    }

    /// Decomposes A [rows, cols] (row-major). Row-major A is the column-major A^T, so we
    /// decompose A^T = V S U^T and swap the roles of U and V^T.
    public init(matrix a: [Double], rows: Int, cols: Int) throws {
        precondition(a.count == rows * cols)
        var at = a  // column-major view: cols x rows matrix A^T
        var m = Int32(cols), n = Int32(rows)
        let k = Int(min(m, n))
        var s = [Double](repeating: 0, count: k)
        var uT = [Double](repeating: 0, count: Int(m) * k)   // column-major m x k: left vectors of A^T = right vectors of A
        var vtT = [Double](repeating: 0, count: k * Int(n))  // column-major k x n: right vectors of A^T (transposed)
        var lda = m, ldu = m, ldvt = Int32(k)
        var info: Int32 = 0
        var iwork = [Int32](repeating: 0, count: 8 * k)
        var jobz = CChar(UInt8(ascii: "S"))
        var lwork: Int32 = -1
        var query = 0.0
        // One thread: OpenBLAS's threaded level-2 routines inside LAPACK may split sums, which would
        // make the factors (and every compressed run) depend on the thread count in the last bits.
        let threads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(threads) }
        dgesdd_(&jobz, &m, &n, &at, &lda, &s, &uT, &ldu, &vtT, &ldvt, &query, &lwork, &iwork, &info, 1)
        guard info == 0 else { throw Failure.lapack(info: info) }
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: Int(lwork))
        dgesdd_(&jobz, &m, &n, &at, &lda, &s, &uT, &ldu, &vtT, &ldvt, &work, &lwork, &iwork, &info, 1)
        guard info == 0 else { throw Failure.lapack(info: info) }
        // dgesdd factored M = A^T = U_M S V_M^T. Hence A = V_M S U_M^T: U_A = V_M, V_A^T = U_M^T.
        // Column-major V_M^T (k x rows) read row-major is V_M = U_A as [rows, k]; column-major
        // U_M (cols x k) read row-major is U_M^T = V_A^T as [k, cols]. No copy is needed.
        self.singularValues = s
        self.u = vtT
        self.vt = uT
        self.rows = rows
        self.cols = cols
    }

    /// The smallest rank keeping at least `fraction` of sum s_i^2.
    public func rank(keepingEnergy fraction: Double) -> Int {
        let total = singularValues.reduce(0) { $0 + $1 * $1 }
        guard total > 0 else { return 1 }
        var acc = 0.0
        for (i, s) in singularValues.enumerated() {
            acc += s * s
            if acc >= fraction * total * (1 - 1e-15) { return i + 1 }
        }
        return singularValues.count
    }

    /// Fraction of sum s_i^2 kept by the first `rank` values.
    public func energyRetained(rank: Int) -> Double {
        let total = singularValues.reduce(0) { $0 + $1 * $1 }
        guard total > 0 else { return 1 }
        return singularValues.prefix(rank).reduce(0) { $0 + $1 * $1 } / total
    }

    /// Factors A ~ P Q with P = U_r S_r [rows, r] and Q = V_r^T [r, cols].
    public func factors(rank r: Int) -> (p: [Double], q: [Double]) {
        let k = singularValues.count
        var p = [Double](repeating: 0, count: rows * r)
        for i in 0..<rows { for j in 0..<r { p[i * r + j] = u[i * k + j] * singularValues[j] } }
        let q = Array(vt[0..<(r * cols)])
        return (p, q)
    }
}
