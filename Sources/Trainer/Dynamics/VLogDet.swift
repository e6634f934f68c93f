/// The log-det of a v half-step, forward and backward: v' = v e^{(eps/2) S} - kick has
/// log|dv'/dv| = (eps/2) sum_i S_i per row; its inverse has minus that.
enum VLogDet {
    /// (+-eps/2) sum_i S_i of one row of S ([rows, n]), summed in coordinate order.
    static func forward(_ s: Matrix, row r: Int, eps: Double, inverse: Bool) -> Double {
        let n = s.cols, half = 0.5 * eps
        var sum = 0.0
        for i in 0..<n { sum += s.data[r * n + i] }
        return (inverse ? -half : half) * sum
    }

    /// gl times d(log-det)/dS_i and d(log-det)/d eps, for one coordinate with S_i = s.
    @inline(__always)
    static func backward(s: Double, gLogDet gl: Double, eps: Double, inverse: Bool) -> (gS: Double, gEps: Double) {
        let half = 0.5 * eps
        return inverse ? (-half * gl, -0.5 * s * gl) : (half * gl, 0.5 * s * gl)
    }
}
