import Foundation

/// The plaquette transform of one active site (the NCP mixture of /work/flow-contract.md,
/// step 5) with the derivatives its reverse mode needs. With c = cos(theta/2),
/// s2 = sin(theta/2), e_k = e^{s_k}, D_k = c^2/e_k + e_k s2^2, J_k = 1/D_k:
///   g_k = 2 atan2(e_k s2, c),  g = (1/n) sum_k g_k,  P' = wrap(g + t),
///   logJ = log((1/n) sum_k J_k)  (as a log-sum-exp of -log D_k, so large |s| cannot overflow),
///   dP'/dtheta = (1/n) sum_k J_k,  dP'/ds_k = sin(theta) J_k / n,  dP'/dt = 1,
///   dlogJ/dtheta = sum_k w_k (-(1/2) sin(theta) (e_k - 1/e_k) / D_k),
///   dlogJ/ds_k = -w_k (e_k s2^2 - c^2/e_k) / D_k,  w_k = J_k / sum_j J_j.
enum NCPMixture {
    /// theta in [-pi, pi) is the wrapped plaquette; the scalar results are returned, the
    /// per-component derivatives written to dPds[0..<nMix] and dLogJds[0..<nMix] when given.
    struct Site {
        var pPrime: Double
        var logJ: Double
        var dPdTheta: Double
        var dLogJdTheta: Double
    }

    @inline(__always)
    static func wrap(_ a: Double) -> Double { a - 2 * Double.pi * ((a + Double.pi) / (2 * Double.pi)).rounded(.down) }

    static func evaluate(theta: Double, s: UnsafePointer<Double>, t: Double, nMix: Int,
                         dPds: UnsafeMutablePointer<Double>?, dLogJds: UnsafeMutablePointer<Double>?) -> Site {
        let c = cos(theta / 2), s2 = sin(theta / 2), sinTheta = sin(theta), inv = 1 / Double(nMix)
        var gSum = 0.0, logMax = -Double.infinity
        // First pass: g and the largest log J_k.
        for k in 0..<nMix {
            let e = exp(s[k])
            gSum += 2 * atan2(e * s2, c)
            logMax = max(logMax, -log(c * c / e + e * s2 * s2))
        }
        var sumScaled = 0.0
        for k in 0..<nMix {
            let e = exp(s[k])
            sumScaled += exp(-log(c * c / e + e * s2 * s2) - logMax)
        }
        let logSum = logMax + log(sumScaled)  // log sum_k J_k
        let logJ = logSum - log(Double(nMix))
        var dLdTheta = 0.0
        for k in 0..<nMix {
            let e = exp(s[k]), d = c * c / e + e * s2 * s2
            let w = exp(-log(d) - logSum)
            dLdTheta += w * (-0.5 * sinTheta * (e - 1 / e) / d)
            dPds?[k] = sinTheta * inv / d
            dLogJds?[k] = -w * (e * s2 * s2 - c * c / e) / d
        }
        return Site(pPrime: wrap(gSum * inv + t), logJ: logJ, dPdTheta: exp(logJ), dLogJdTheta: dLdTheta)
    }
}
