import Foundation
import ModelFormat

/// The hidden activations of the trainer's networks (dense and local), forward and backward,
/// elementwise on a ``Matrix``.
extension Activation {
    /// h = act(a) elementwise. leaky_relu: a for a >= 0, 0.01 a below.
    func apply(_ a: Matrix) -> Matrix {
        var h = a
        switch self {
        case .relu: for i in 0..<h.data.count where h.data[i] < 0 { h.data[i] = 0 }
        case .tanh: for i in 0..<h.data.count { h.data[i] = Foundation.tanh(h.data[i]) }
        case .swish: for i in 0..<h.data.count { h.data[i] = a.data[i] / (1 + exp(-a.data[i])) }
        case .leakyRelu: for i in 0..<h.data.count where h.data[i] < 0 { h.data[i] = Activation.leakyReluSlope * h.data[i] }
        case .linear: break
        }
        return h
    }

    /// dL/da from dL/dh, given a (`pre`) and h = act(a) (`post`). leaky_relu: slope 0.01 for
    /// a < 0 and 1 for a >= 0; at a == 0, where the function has no derivative, 1 (the forward's
    /// branch: a >= 0 gives h = a); relu: 0 at a == 0.
    func backward(_ dh: Matrix, pre: Matrix, post: Matrix) -> Matrix {
        var d = dh
        switch self {
        case .relu: for i in 0..<d.data.count where pre.data[i] <= 0 { d.data[i] = 0 }
        case .leakyRelu: for i in 0..<d.data.count where pre.data[i] < 0 { d.data[i] *= Activation.leakyReluSlope }
        case .tanh: for i in 0..<d.data.count { d.data[i] *= 1 - post.data[i] * post.data[i] }
        case .swish:
            for i in 0..<d.data.count {
                let sig = 1 / (1 + exp(-pre.data[i]))
                d.data[i] *= sig * (1 + pre.data[i] * (1 - sig))
            }
        case .linear: break
        }
        return d
    }
}
