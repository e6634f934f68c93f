import Foundation
import ModelFormat

/// Network input encodings and their derivatives (trainer side).
struct TrainEncoder {
    let encoding: InputEncoding
    let placement: MaskPlacement?
    let stateSize: Int

    var width: Int { encoding.width(stateSize: stateSize) }

    /// Encodes x read through the mask r (nil: all readable).
    func encode(_ x: Matrix, read r: [Double]?) -> Matrix {
        let n = stateSize
        var out = Matrix(zeros: x.rows, width)
        for row in 0..<x.rows {
            for i in 0..<n {
                let xi = x.data[row * n + i], ri = r?[i] ?? 1
                switch encoding {
                case .raw:
                    out.data[row * n + i] = ri * xi
                case .cosSinBlocks, .cosSinInterleaved:
                    let (c, s) = placement == .afterTrig ? (ri * cos(xi), ri * sin(xi)) : (cos(ri * xi), sin(ri * xi))
                    let (ic, isn) = encoding == .cosSinBlocks ? (i, n + i) : (2 * i, 2 * i + 1)
                    out.data[row * 2 * n + ic] = c
                    out.data[row * 2 * n + isn] = s
                }
            }
        }
        return out
    }

    /// d(input)/dx transposed times g: the gradient with respect to x of <g, encode(x)>.
    func backward(_ g: Matrix, at x: Matrix, read r: [Double]?) -> Matrix {
        let n = stateSize
        var gx = Matrix(zeros: x.rows, n)
        for row in 0..<x.rows {
            for i in 0..<n {
                let xi = x.data[row * n + i], ri = r?[i] ?? 1
                switch encoding {
                case .raw:
                    gx.data[row * n + i] = ri * g.data[row * n + i]
                case .cosSinBlocks, .cosSinInterleaved:
                    let (ic, isn) = encoding == .cosSinBlocks ? (i, n + i) : (2 * i, 2 * i + 1)
                    let gc = g.data[row * 2 * n + ic], gs = g.data[row * 2 * n + isn]
                    let a = placement == .afterTrig ? xi : ri * xi
                    // before: d cos(r x)/dx = -r sin(r x); after: d (r cos x)/dx = -r sin x. Same form with a.
                    gx.data[row * n + i] = ri * (-sin(a) * gc + cos(a) * gs)
                }
            }
        }
        return gx
    }
}
