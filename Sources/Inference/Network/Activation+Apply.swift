import ModelFormat

extension Activation {
    /// Applies the activation in place to `count` values.
    func apply(_ x: UnsafeMutablePointer<Double>, count: Int) {
        switch self {
        case .relu: VectorMath.relu(x, count: count)
        case .tanh: VectorMath.tanh(x, x, count: count)
        case .swish: VectorMath.swish(x, count: count)
        case .linear: break
        }
    }
}
