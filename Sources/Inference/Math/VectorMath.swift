import Foundation

/// Elementwise kernels of the hot paths, each a single pass over its arrays with no allocation.
/// The transcendental functions are those of the platform libm (correctly rounded to within
/// about 1 ulp); forward and backward updates use the same kernels, so exact reversibility does
/// not depend on their accuracy.
enum VectorMath {
    static func relu(_ x: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count where x[i] < 0 { x[i] = 0 }
    }

    static func tanh(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { y[i] = Foundation.tanh(x[i]) }
    }

    /// x * sigmoid(x)
    static func swish(_ x: UnsafeMutablePointer<Double>, count: Int) {
        for i in 0..<count { x[i] = x[i] / (1 + Foundation.exp(-x[i])) }
    }

    /// a[r, c] = act(a[r, c] + row[c])
    static func addRowAndActivate(_ a: UnsafeMutablePointer<Double>, rows: Int, cols: Int, row: UnsafePointer<Double>, activation: ModelFormatActivation) {
        for r in 0..<rows {
            let p = a + r * cols
            for c in 0..<cols { p[c] += row[c] }
        }
        activation.apply(a, count: rows * cols)
    }

    /// a[r, c] = a[r, c] * scale[c] + shift[c]
    static func scaleShiftRows(_ a: UnsafeMutablePointer<Double>, rows: Int, cols: Int, scale: UnsafePointer<Double>, shift: UnsafePointer<Double>) {
        for r in 0..<rows {
            let p = a + r * cols
            for c in 0..<cols { p[c] = p[c] * scale[c] + shift[c] }
        }
    }

    /// Finishes the three heads in place on a [rows, 3n] buffer of raw GEMM outputs:
    /// S = w_s tanh(raw + b_S) f_S, T = w_t (raw + b_T), Q = w_q tanh(raw + b_Q) f_Q.
    static func heads(_ out: UnsafeMutablePointer<Double>, rows: Int, n: Int, bias: UnsafePointer<Double>,
                      scaleFactor: UnsafePointer<Double>, transformationFactor: UnsafePointer<Double>, weights: (s: Double, t: Double, q: Double)) {
        for r in 0..<rows {
            let s = out + r * 3 * n, t = s + n, q = t + n
            for i in 0..<n {
                s[i] = weights.s * Foundation.tanh(s[i] + bias[i]) * scaleFactor[i]
                t[i] = weights.t * (t[i] + bias[n + i])
                q[i] = weights.q * Foundation.tanh(q[i] + bias[2 * n + i]) * transformationFactor[i]
            }
        }
    }
}

typealias ModelFormatActivation = Activation
import ModelFormat
