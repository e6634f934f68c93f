import Foundation
import ModelFormat

/// Converts a squashed head of the linear form `c ⊙ tanh(h K + b)` (upstream PyTorch
/// 2022-08-14 .. 2022-12-12) into the format's `exp(c') ⊙ tanh(h K' + b')`, exactly up to the
/// rounding of `log` and `exp` (about 1 ulp of float64; far below float32 weights' own rounding):
///
/// - `c_j > 0`: `c'_j = log c_j`, column j of K and b_j unchanged;
/// - `c_j < 0`: `c'_j = log(-c_j)`, column j of K and b_j negated (tanh is odd, so
///   `c tanh(z) = |c| tanh(-z)`);
/// - `c_j = 0`: the output is 0 for every input: `c'_j = 0` and column j of K and b_j set to 0
///   (`tanh(0) = 0`).
///
/// The kernel, bias and coefficient of a converted head are stored as float64 (negation and
/// zeroing are exact; the logarithm is not a float32 value).
enum HeadCoefficientFold {
    /// Folds every `<net>.scale` and `<net>.transformation` head that has a coefficient; returns
    /// a note per folded head.
    static func apply(_ arrays: inout [String: NDArray], networks: [String]) throws -> [String] {
        var notes: [String] = []
        for net in networks {
            for head in ["scale", "transformation"] {
                let cn = "\(net).\(head).coeff", kn = "\(net).\(head).kernel", bn = "\(net).\(head).bias"
                guard let c = arrays[cn], let k = arrays[kn], let b = arrays[bn], k.shape.count == 2 else { continue }
                let cols = k.shape[1], rows = k.shape[0]
                var coeff = c.doubles(), kernel = k.doubles(), bias = b.doubles()
                guard coeff.count == cols, bias.count == cols else { continue }  // shapes are checked against the spec later
                var negated = 0, zeroed = 0
                for j in 0..<cols {
                    let cj = coeff[j]
                    if cj == 0 {
                        coeff[j] = 0
                        bias[j] = 0
                        for i in 0..<rows { kernel[i * cols + j] = 0 }
                        zeroed += 1
                    } else {
                        coeff[j] = log(abs(cj))
                        if cj < 0 {
                            bias[j] = -bias[j]
                            for i in 0..<rows { kernel[i * cols + j] = -kernel[i * cols + j] }
                            negated += 1
                        }
                    }
                }
                arrays[cn] = try NDArray(shape: c.shape, doubles: coeff)
                arrays[kn] = try NDArray(shape: k.shape, doubles: kernel)
                arrays[bn] = try NDArray(shape: b.shape, doubles: bias)
                notes.append("\(net).\(head): coeff * tanh -> exp(log|coeff|) * tanh (\(negated) negative coefficient(s) folded into the sign of the kernel column and bias, \(zeroed) zero coefficient(s) made zero outputs)")
            }
        }
        return notes
    }
}
