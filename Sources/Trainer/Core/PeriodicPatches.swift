/// im2col for periodic convolutions over lattice sites and its adjoint, shared by the trainer's
/// local networks and flows. Rows are (chain r, site s) = r * sites + s, columns channels;
/// `taps[s * k^2 + j]` is the site of tap j (j = a k + b) around site s (periodic).
enum PeriodicPatches {
    /// [chains * sites, c] to [chains * sites, k^2 c]: column j c + ch of row (r, s) holds
    /// channel ch at tap j of s in chain r.
    static func im2col(_ h: Matrix, taps: [Int], sites: Int, tapCount kk: Int) -> Matrix {
        let c = h.cols, width = kk * c, chains = h.rows / sites
        var col = Matrix(zeros: h.rows, width)
        taps.withUnsafeBufferPointer { taps in
            h.data.withUnsafeBufferPointer { src in
                col.data.withUnsafeMutableBufferPointer { dst in
                    for r in 0..<chains {
                        for s in 0..<sites {
                            let d = (r * sites + s) * width
                            for j in 0..<kk {
                                let from = (r * sites + taps[s * kk + j]) * c
                                for ch in 0..<c { dst[d + j * c + ch] = src[from + ch] }
                            }
                        }
                    }
                }
            }
        }
        return col
    }

    /// The adjoint of ``im2col(_:taps:sites:tapCount:)``: every column entry summed back onto its
    /// site and channel, [chains * sites, c].
    static func col2im(_ col: Matrix, taps: [Int], sites: Int, tapCount kk: Int, channels c: Int) -> Matrix {
        let width = kk * c, chains = col.rows / sites
        var h = Matrix(zeros: col.rows, c)
        taps.withUnsafeBufferPointer { taps in
            col.data.withUnsafeBufferPointer { src in
                h.data.withUnsafeMutableBufferPointer { dst in
                    for r in 0..<chains {
                        for s in 0..<sites {
                            let from = (r * sites + s) * width
                            for j in 0..<kk {
                                let d = (r * sites + taps[s * kk + j]) * c
                                for ch in 0..<c { dst[d + ch] += src[from + j * c + ch] }
                            }
                        }
                    }
                }
            }
        }
        return h
    }
}
