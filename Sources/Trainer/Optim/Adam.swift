import Foundation

/// Adam (Kingma & Ba 2015) with bias correction, on the flat parameter vector.
public struct Adam: Sendable, Equatable {
    public var beta1 = 0.9
    public var beta2 = 0.999
    public var epsilon = 1e-8
    /// First and second moment estimates, and the number of updates done.
    public var m: [Double]
    public var v: [Double]
    public var t: Int = 0

    public init(count: Int) {
        m = [Double](repeating: 0, count: count)
        v = [Double](repeating: 0, count: count)
    }

    public mutating func update(_ params: inout [Double], gradient g: [Double], learningRate lr: Double) {
        t += 1
        let c1 = 1 - pow(beta1, Double(t)), c2 = 1 - pow(beta2, Double(t))
        for i in 0..<params.count {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            params[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + epsilon)
        }
    }
}

/// Scales `g` so its Euclidean norm is at most `maxNorm` (no-op for maxNorm <= 0); returns the
/// norm before clipping.
@discardableResult
func clipByGlobalNorm(_ g: inout [Double], maxNorm: Double) -> Double {
    let norm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
    if maxNorm > 0 && norm > maxNorm {
        let f = maxNorm / norm
        for i in 0..<g.count { g[i] *= f }
    }
    return norm
}
