import Foundation

/// An iterative radix-2 Cooley-Tukey FFT on split real/imaginary `[Double]` arrays.
///
/// Used internally for autocorrelation; not part of the public API.
///
/// Conventions:
/// - forward: `X_k = sum_j x_j exp(-2 pi i j k / n)`;
/// - inverse: `x_j = (1/n) sum_k X_k exp(+2 pi i j k / n)` (the 1/n is applied here, so
///   `inverse(forward(x)) == x` up to rounding).
///
/// Numerical contract: the length must be a power of two (1 is allowed). Every twiddle factor is
/// computed directly with `cos`/`sin` of its own angle (no recurrence), so the error of each
/// output is about `eps * log2(n)` times the Euclidean norm of the input; the tests compare with a
/// direct DFT at `1e-12` relative to the norm. No scaling is done against overflow: inputs near
/// `Double.greatestFiniteMagnitude / n` overflow.
enum FFT {
    /// True when `n` is a positive power of two.
    static func isPowerOfTwo(_ n: Int) -> Bool {
        n > 0 && (n & (n - 1)) == 0
    }

    /// The smallest power of two that is `>= n` (1 for `n <= 1`).
    static func powerOfTwo(atLeast n: Int) -> Int {
        var length = 1
        while length < n { length <<= 1 }
        return length
    }

    /// Transforms `real` + i `imag` in place. Both arrays must have the same power-of-two length.
    static func transform(real: inout [Double], imag: inout [Double], inverse: Bool = false) {
        let n = real.count
        precondition(imag.count == n, "FFT: real and imaginary parts differ in length")
        precondition(isPowerOfTwo(n), "FFT: length \(n) is not a power of two")
        if n == 1 { return }

        // Twiddles w_j = exp(-+ 2 pi i j / n), j < n/2, each from its own angle.
        let half = n / 2
        let sign: Double = inverse ? 1 : -1
        var cosTable = [Double](repeating: 0, count: half)
        var sinTable = [Double](repeating: 0, count: half)
        for j in 0..<half {
            let angle = 2 * Double.pi * Double(j) / Double(n)
            cosTable[j] = cos(angle)
            sinTable[j] = sign * sin(angle)
        }

        real.withUnsafeMutableBufferPointer { re in
            imag.withUnsafeMutableBufferPointer { im in
                // Bit-reversal permutation.
                var j = 0
                for i in 1..<n {
                    var bit = n >> 1
                    while j & bit != 0 {
                        j ^= bit
                        bit >>= 1
                    }
                    j |= bit
                    if i < j {
                        re.swapAt(i, j)
                        im.swapAt(i, j)
                    }
                }
                // Butterflies over spans 2, 4, ..., n.
                var span = 2
                while span <= n {
                    let halfSpan = span / 2
                    let stride = n / span
                    var start = 0
                    while start < n {
                        for k in 0..<halfSpan {
                            let wr = cosTable[k * stride]
                            let wi = sinTable[k * stride]
                            let a = start + k
                            let b = a + halfSpan
                            let tr = re[b] * wr - im[b] * wi
                            let ti = re[b] * wi + im[b] * wr
                            re[b] = re[a] - tr
                            im[b] = im[a] - ti
                            re[a] += tr
                            im[a] += ti
                        }
                        start += span
                    }
                    span <<= 1
                }
                if inverse {
                    let scale = 1 / Double(n)
                    for i in 0..<n {
                        re[i] *= scale
                        im[i] *= scale
                    }
                }
            }
        }
    }
}
