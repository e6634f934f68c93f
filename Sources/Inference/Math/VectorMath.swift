import CL2HMCKernels
import ModelFormat

/// Elementwise kernels of the hot paths, each a single pass over its arrays with no allocation.
///
/// They call the C target `CL2HMCKernels`: our own SIMD exp, tanh, sin/cos, atan2 and log
/// (Cody-Waite reduction with FMA, polynomials whose approximation error is far below one ulp;
/// measured against long-double references: exp, log < 1 ulp, sin/cos < 1.5, tanh < 2.6,
/// atan2 < 3; VectorMathTests checks them against glibc), compiled for AVX2+FMA, AVX-512 and a
/// portable path, chosen once at run time. All paths perform the same IEEE operations (explicit fma, no
/// contraction, fixed summation order), so results are bit-identical whatever the instruction
/// set, the position of a value in an array, or the row count. Forward and backward updates use
/// the same kernels.
enum VectorMath {
    /// The instruction set the kernels run on ("avx512", "avx2+fma" or "portable").
    static var instructionSet: String {
        switch l2k_isa() {
        case 2: return "avx512"
        case 1: return "avx2+fma"
        default: return "portable"
        }
    }

    /// Forces an instruction set (0 portable, 1 AVX2+FMA, 2 AVX-512), capped at what the CPU has;
    /// returns the one set. Tests use it to check that every path gives the same bits.
    @discardableResult
    static func setInstructionSet(_ isa: Int) -> Int { Int(l2k_set_isa(Int32(isa))) }
    static var instructionSetLevel: Int { Int(l2k_isa()) }

    static func tanh(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int) { l2k_tanh(x, y, count) }
    static func exp(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int) { l2k_exp(x, y, count) }
    static func log(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int) { l2k_log(x, y, count) }
    static func sincos(_ x: UnsafePointer<Double>, sin s: UnsafeMutablePointer<Double>, cos c: UnsafeMutablePointer<Double>, count: Int) {
        l2k_sincos(x, s, c, count)
    }
    static func atan2(_ y: UnsafePointer<Double>, _ x: UnsafePointer<Double>, _ out: UnsafeMutablePointer<Double>, count: Int) {
        l2k_atan2(y, x, out, count)
    }
    static func wrap(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int) { l2k_wrap(x, y, count) }

    /// a[r, c] = a[r, c] * scale[c] + shift[c]
    static func scaleShiftRows(_ a: UnsafeMutablePointer<Double>, rows: Int, cols: Int, scale: UnsafePointer<Double>, shift: UnsafePointer<Double>) {
        for r in 0..<rows {
            let p = a + r * cols
            for c in 0..<cols { p[c] = p[c] * scale[c] + shift[c] }
        }
    }
}

extension Activation {
    /// The activation code of the C kernels.
    var kernelCode: Int32 {
        switch self {
        case .linear: return Int32(L2K_LINEAR)
        case .relu: return Int32(L2K_RELU)
        case .tanh: return Int32(L2K_TANH)
        case .swish: return Int32(L2K_SWISH)
        case .leakyRelu: return Int32(L2K_LEAKY_RELU)
        }
    }
}
