import Foundation
import ModelFormat
@testable import Trainer

/// Shared pieces of the flow tests: flows with weights large enough that every layer moves its
/// links by O(1), uniform states, periodic test losses, a reference forward written straight
/// from /work/flow-contract.md with explicit loops, and log|det| of a dense matrix.
enum FlowFixtures {
    static func flow(layers: Int, hidden: [Int] = [4, 3], kernel: Int = 3, nMix: Int = 2, activation: Activation = .tanh,
                     seed: UInt64 = 7, scale: Double = 2.5) -> TrainableFlow {
        TrainableFlow(architecture: FlowArchitecture(layers: layers, hiddenChannels: hidden, kernelSize: kernel, nMix: nMix, activation: activation),
                      seed: seed, scale: scale)
    }

    /// [rows, n] uniform on [-pi, pi).
    static func uniformState(_ rows: Int, _ n: Int, seed: UInt64) -> Matrix {
        var rng = SplitMix64(seed: seed)
        return Matrix(rows: rows, cols: n, data: (0..<(rows * n)).map { _ in (2 * rng.uniform() - 1) * Double.pi })
    }

    /// A smooth test loss that is periodic in every x (so the wrapping of links cannot make it
    /// jump): L = sum_r [sum_i c_ri sin(x_ri + phi_ri) + d_r logdet_r], with its gx and gLogDet.
    struct PeriodicLoss {
        let c: [Double], phi: [Double], d: [Double]
        init(rows: Int, n: Int, seed: UInt64) {
            var rng = SplitMix64(seed: seed)
            c = (0..<(rows * n)).map { _ in rng.normal() }
            phi = (0..<(rows * n)).map { _ in 2 * Double.pi * rng.uniform() }
            d = (0..<rows).map { _ in rng.normal() }
        }
        func value(_ x: Matrix, _ logDet: [Double]) -> Double {
            var l = 0.0
            for i in 0..<x.data.count { l += c[i] * sin(x.data[i] + phi[i]) }
            for r in 0..<logDet.count { l += d[r] * logDet[r] }
            return l
        }
        func gx(_ x: Matrix) -> Matrix {
            var g = x
            for i in 0..<x.data.count { g.data[i] = c[i] * cos(x.data[i] + phi[i]) }
            return g
        }
    }

    /// f(z) and log|det J| of one chain straight from the contract: explicit circular
    /// cross-correlations, the upstream form of the mixture g_k = wrap(2 atan(e^{s_k} tan(theta/2)))
    /// (not the atan2 form the flow uses), logJ = log(mean_k J_k).
    static func reference(_ flow: TrainableFlow, z: [Double], lt: Int, lx: Int) -> (x: [Double], logDet: Double) {
        let a = flow.architecture, k = a.kernelSize, r = k / 2, ch = a.channels
        func mod(_ v: Int, _ m: Int) -> Int { ((v % m) + m) % m }
        func link(_ mu: Int, _ t: Int, _ x: Int) -> Int { (mu * lt + mod(t, lt)) * lx + mod(x, lx) }
        func wrap(_ v: Double) -> Double { v - 2 * Double.pi * floor((v + Double.pi) / (2 * Double.pi)) }
        func act(_ v: Double) -> Double {
            switch a.activation {
            case .relu: return max(0, v)
            case .tanh: return tanh(v)
            case .swish: return v / (1 + exp(-v))
            case .leakyRelu: return v >= 0 ? v : 0.01 * v
            case .linear: return v
            }
        }
        var x = z, logDet = 0.0
        for i in 0..<a.layers {
            let mu = i % 2, off = (i / 2) % 4
            var plaq = [[Double]](repeating: [Double](repeating: 0, count: lx), count: lt)
            for t in 0..<lt { for s in 0..<lx { plaq[t][s] = x[link(0, t, s)] + x[link(1, t + 1, s)] - x[link(0, t, s + 1)] - x[link(1, t, s)] } }
            func role(_ t: Int, _ s: Int) -> Int { ((mu == 0 ? s : t) % 4 - off + 4) % 4 }  // 0 active, 1-2 frozen, 3 passive
            var h = [[[Double]]](repeating: [[Double]](repeating: [], count: lx), count: lt)
            for t in 0..<lt { for s in 0..<lx { let m = (role(t, s) == 1 || role(t, s) == 2) ? 1.0 : 0.0; h[t][s] = [cos(m * plaq[t][s]), sin(m * plaq[t][s])] } }
            for j in 0..<(ch.count - 1) {
                let kernel = Array(flow.params[FlowArchitecture.kernelName(layer: i, conv: j)]), bias = Array(flow.params[FlowArchitecture.biasName(layer: i, conv: j)])
                var next = h
                for t in 0..<lt {
                    for s in 0..<lx {
                        next[t][s] = (0..<ch[j + 1]).map { o in
                            var v = bias[o]
                            for p in 0..<k { for q in 0..<k { for c in 0..<ch[j] { v += kernel[((p * k + q) * ch[j] + c) * ch[j + 1] + o] * h[mod(t + p - r, lt)][mod(s + q - r, lx)][c] } } }
                            return j < ch.count - 2 ? act(v) : v
                        }
                    }
                }
                h = next
            }
            var newX = x
            for t in 0..<lt {
                for s in 0..<lx where role(t, s) == 0 {
                    let theta = wrap(plaq[t][s]), out = h[t][s]
                    var g = 0.0, jSum = 0.0
                    for m in 0..<a.nMix {
                        g += wrap(2 * atan(exp(out[m]) * tan(theta / 2)))
                        jSum += 1 / (exp(-out[m]) * pow(cos(theta / 2), 2) + exp(out[m]) * pow(sin(theta / 2), 2))
                    }
                    let pPrime = wrap(g / Double(a.nMix) + out[a.nMix])
                    logDet += log(jSum / Double(a.nMix))
                    let l = link(mu, t, s)
                    newX[l] = wrap(x[l] + (mu == 0 ? 1 : -1) * (pPrime - theta))
                }
            }
            x = newX
        }
        return (x, logDet)
    }

    /// log|det M| of a dense [n, n] matrix (row-major) by Gaussian elimination with partial pivoting.
    static func logAbsDet(_ m: [Double], n: Int) -> Double {
        var a = m, result = 0.0
        for col in 0..<n {
            var pivot = col
            for r in col..<n where abs(a[r * n + col]) > abs(a[pivot * n + col]) { pivot = r }
            if pivot != col { for c in 0..<n { a.swapAt(col * n + c, pivot * n + c) } }
            let p = a[col * n + col]
            result += log(abs(p))
            for r in (col + 1)..<n {
                let f = a[r * n + col] / p
                if f != 0 { for c in col..<n { a[r * n + c] -= f * a[col * n + c] } }
            }
        }
        return result
    }

    /// The difference of two angles taken on the circle, in [-pi, pi).
    static func circleDifference(_ a: Double, _ b: Double) -> Double {
        let d = a - b
        return d - 2 * Double.pi * floor((d + Double.pi) / (2 * Double.pi))
    }
}
