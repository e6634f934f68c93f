import ModelFormat

/// The kernel layout change of a flow convolution.
enum FlowKernelLayout {
    /// torch's Conv2d weight (c_out, c_in, k, k) -> the format's [k, k, c_in, c_out]:
    /// out[a, b, c, o] = w[o, c, a, b]; the dtype is kept (an exact permutation).
    static func canonical(_ w: NDArray) throws -> NDArray {
        guard w.shape.count == 4 else { throw ConvertError.shapeMismatch(source: "kernel", canonical: "kernel", expected: [-1, -1, -1, -1], actual: w.shape, reason: "a Conv2d weight has 4 dimensions") }
        let (co, ci, ka, kb) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let v = w.doubles()
        var out = [Double](repeating: 0, count: v.count)
        for o in 0..<co { for c in 0..<ci { for a in 0..<ka { for b in 0..<kb {
            out[((a * kb + b) * ci + c) * co + o] = v[((o * ci + c) * ka + a) * kb + b]
        } } } }
        let shape = [ka, kb, ci, co]
        return w.dtype == .float32 ? try NDArray(shape: shape, floats: out.map { Float($0) }) : try NDArray(shape: shape, doubles: out)
    }
}
