import Foundation
import ModelFormat

/// Builds network x-inputs: the encoding of x read through a mask r (1 = readable).
/// raw: r x; cos/sin before the mask: cos(r x), sin(r x) (unreadable links give (1, 0));
/// after: r cos x, r sin x (unreadable links give (0, 0)); blocks [cos..., sin...] or
/// interleaved [cos, sin, cos, sin, ...].
enum InputEncoder {
    static func encode(_ x: UnsafePointer<Double>, rows: Int, n: Int, readMask r: UnsafePointer<Double>?,
                       encoding: InputEncoding, placement: MaskPlacement?, into out: UnsafeMutablePointer<Double>) {
        switch encoding {
        case .raw:
            for row in 0..<rows {
                let xi = x + row * n, o = out + row * n
                if let r { for i in 0..<n { o[i] = r[i] * xi[i] } } else { o.update(from: xi, count: n) }
            }
        case .cosSinBlocks, .cosSinInterleaved:
            let interleaved = encoding == .cosSinInterleaved
            let before = placement != .afterTrig
            for row in 0..<rows {
                let xi = x + row * n, o = out + row * 2 * n
                for i in 0..<n {
                    var c: Double, s: Double
                    if let r {
                        if before { let a = r[i] * xi[i]; c = cos(a); s = sin(a) } else { c = r[i] * cos(xi[i]); s = r[i] * sin(xi[i]) }
                    } else {
                        c = cos(xi[i]); s = sin(xi[i])
                    }
                    if interleaved { o[2 * i] = c; o[2 * i + 1] = s } else { o[i] = c; o[n + i] = s }
                }
            }
        }
    }
}
