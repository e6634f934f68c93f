/// A row-major [rows, cols] block of Float64 values: one row per chain.
struct Matrix: Equatable {
    var rows: Int
    var cols: Int
    var data: [Double]

    init(rows: Int, cols: Int, data: [Double]) {
        precondition(data.count == rows * cols, "matrix size")
        self.rows = rows; self.cols = cols; self.data = data
    }

    init(zeros rows: Int, _ cols: Int) { self.init(rows: rows, cols: cols, data: [Double](repeating: 0, count: rows * cols)) }

    @inline(__always) subscript(r: Int, c: Int) -> Double {
        get { data[r * cols + c] }
        set { data[r * cols + c] = newValue }
    }

    /// self (rows x k) times the parameter block w (k x n, row-major, at `offset` of `params`).
    func times(_ params: [Double], offset: Int, outputs n: Int) -> Matrix {
        var out = Matrix(zeros: rows, n)
        data.withUnsafeBufferPointer { a in params.withUnsafeBufferPointer { p in out.data.withUnsafeMutableBufferPointer { c in
            Linear.matmul(a.baseAddress!, p.baseAddress! + offset, c.baseAddress!, m: rows, k: cols, n: n)
        } } }
        return out
    }

    /// Accumulates self^T g into grads[offset ..< offset + cols * g.cols] (the weight gradient).
    func accumulateWeightGradient(_ g: Matrix, into grads: inout [Double], offset: Int) {
        precondition(g.rows == rows)
        data.withUnsafeBufferPointer { a in g.data.withUnsafeBufferPointer { b in grads.withUnsafeMutableBufferPointer { c in
            Linear.matmulTransposeA(a.baseAddress!, b.baseAddress!, c.baseAddress! + offset, m: rows, k: cols, n: g.cols)
        } } }
    }

    /// self (rows x n) times w^T where w is the parameter block (k x n): the input gradient.
    func timesTransposed(_ params: [Double], offset: Int, inputs k: Int) -> Matrix {
        var out = Matrix(zeros: rows, k)
        data.withUnsafeBufferPointer { a in params.withUnsafeBufferPointer { p in out.data.withUnsafeMutableBufferPointer { c in
            Linear.matmulTransposeB(a.baseAddress!, p.baseAddress! + offset, c.baseAddress!, m: rows, n: cols, k: k)
        } } }
        return out
    }

    /// Column sums accumulated into grads[offset ..< offset + cols] (the bias gradient).
    func accumulateColumnSums(into grads: inout [Double], offset: Int) {
        for r in 0..<rows { for c in 0..<cols { grads[offset + c] += data[r * cols + c] } }
    }
}
