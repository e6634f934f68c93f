import Foundation
import Inference

/// The numerical Jacobian of a map (x, v) -> (x', v') on one chain, and its log|det|: the
/// independent check of an accumulated log-det (crossval's "log-det" check and
/// InferenceTests.ReversibilityTests use this one implementation).
///
/// Central differences with step h: column j is (f(z + h e_j) - f(z - h e_j)) / 2h, z = (x, v);
/// angle-valued outputs (U(1) links) are differenced through ``Angles/wrap(_:)`` so a link that
/// crosses the branch cut does not produce a 2 pi jump. The error of each entry is O(h^2) plus
/// rounding ~1e-16 / h; with h = 1e-6 about 1e-9 for O(1) derivatives.
public enum NumericalJacobian {
    /// The 2n x 2n Jacobian, row-major: rows 0..<n are d x'_i, rows n..<2n are d v'_i; columns
    /// 0..<n are d x_j, n..<2n are d v_j. `map` returns (x', v') for (x, v), both of length n.
    public static func matrix(x: [Double], v: [Double], step h: Double = 1e-6, angles: Bool,
                              _ map: (_ x: [Double], _ v: [Double]) -> (x: [Double], v: [Double])) -> [Double] {
        let n = x.count, m = 2 * n
        var jac = [Double](repeating: 0, count: m * m)
        for j in 0..<m {
            var xp = x, vp = v, xm = x, vm = v
            if j < n { xp[j] += h; xm[j] -= h } else { vp[j - n] += h; vm[j - n] -= h }
            let up = map(xp, vp), down = map(xm, vm)
            for i in 0..<n {
                jac[i * m + j] = (angles ? Angles.wrap(up.x[i] - down.x[i]) : up.x[i] - down.x[i]) / (2 * h)
                jac[(n + i) * m + j] = (up.v[i] - down.v[i]) / (2 * h)
            }
        }
        return jac
    }

    /// log|det| of the numerical Jacobian of `map` at (x, v) (see ``matrix(x:v:step:angles:_:)``).
    public static func logAbsDeterminant(x: [Double], v: [Double], step h: Double = 1e-6, angles: Bool,
                                         _ map: (_ x: [Double], _ v: [Double]) -> (x: [Double], v: [Double])) -> Double {
        logAbsDeterminant(matrix(x: x, v: v, step: h, angles: angles, map), size: 2 * x.count)
    }

    /// log|det A| of a row-major `size` x `size` matrix by Gaussian elimination with partial
    /// pivoting (independent of LAPACK). A singular matrix gives -infinity.
    public static func logAbsDeterminant(_ a: [Double], size m: Int) -> Double {
        var a = a
        var sum = 0.0
        for c in 0..<m {
            let p = (c..<m).max { abs(a[$0 * m + c]) < abs(a[$1 * m + c]) } ?? c
            if p != c { for k in 0..<m { a.swapAt(c * m + k, p * m + k) } }
            let pivot = a[c * m + c]
            sum += log(abs(pivot))
            for r in (c + 1)..<m {
                let f = a[r * m + c] / pivot
                if f != 0 { for k in c..<m { a[r * m + k] -= f * a[c * m + k] } }
            }
        }
        return sum
    }
}
