import Foundation

/// The plaquette transform of a coupling layer at one active site (docs/FORMAT.md 13.2, step 4):
/// the mean of n_mix non-compact projections g_k(theta) = 2 atan2(e^{s_k} sin(theta/2),
/// cos(theta/2)), then the shift t, wrapped. Each g_k maps [-pi, pi] onto itself, strictly
/// increasing, so the mixture g does too and has an inverse (``solve(_:s:)``).
///
/// Derivatives for the reverse-mode pass, with c = cos(theta/2), h = sin(theta/2), e = e^{s_k},
/// D_k = c^2/e + e h^2, J_k = 1/D_k: dg_k/dtheta = J_k, dg_k/ds_k = sin(theta) J_k,
/// d log J_k/dtheta = -sin(theta)(e - 1/e)/(2 D_k), d log J_k/ds_k = -(e h^2 - c^2/e)/D_k; the
/// mixture's log J = log(mean J_k), whose derivatives weigh each component by w_k = J_k / sum J.
enum NCPMixture {
    /// g(theta) for the scales s (theta in [-pi, pi]).
    static func value(_ theta: Double, s: UnsafePointer<Double>, count: Int) -> Double {
        let h = 0.5 * theta, sh = sin(h), ch = cos(h)
        var sum = 0.0
        for k in 0..<count { sum += 2 * atan2(exp(s[k]) * sh, ch) }
        return sum / Double(count)
    }

    /// g(theta) and dg/dtheta = mean J_k.
    static func valueAndSlope(_ theta: Double, s: UnsafePointer<Double>, count: Int) -> (Double, Double) {
        let h = 0.5 * theta, sh = sin(h), ch = cos(h)
        var sum = 0.0, slope = 0.0
        for k in 0..<count {
            let e = exp(s[k])
            sum += 2 * atan2(e * sh, ch)
            slope += 1 / (ch * ch / e + e * sh * sh)
        }
        let n = Double(count)
        return (sum / n, slope / n)
    }

    /// log(mean_k J_k) at theta, evaluated as a log-sum-exp of log J_k = -log D_k.
    static func logJacobian(_ theta: Double, s: UnsafePointer<Double>, count: Int) -> Double {
        let h = 0.5 * theta, sh = sin(h), ch = cos(h)
        var top = -Double.infinity
        for k in 0..<count { let e = exp(s[k]); top = max(top, -log(ch * ch / e + e * sh * sh)) }
        var sum = 0.0
        for k in 0..<count { let e = exp(s[k]); sum += exp(-log(ch * ch / e + e * sh * sh) - top) }
        return top + log(sum / Double(count))
    }

    /// The pieces the reverse-mode pass needs at theta: the slope dg/dtheta, d log J/dtheta, and
    /// per component dg/ds_k (into `dgds`) and d log J/ds_k (into `dlds`).
    static func derivatives(_ theta: Double, s: UnsafePointer<Double>, count: Int,
                            dgds: UnsafeMutablePointer<Double>, dlds: UnsafeMutablePointer<Double>) -> (slope: Double, dLogJdTheta: Double) {
        let h = 0.5 * theta, sh = sin(h), ch = cos(h), sinTheta = sin(theta)
        let n = Double(count)
        var total = 0.0
        for k in 0..<count {
            let e = exp(s[k])
            let d = ch * ch / e + e * sh * sh
            dgds[k] = 1 / d  // J_k for now
            total += 1 / d
        }
        var dTheta = 0.0
        for k in 0..<count {
            let e = exp(s[k])
            let d = ch * ch / e + e * sh * sh
            let j = dgds[k], w = j / total
            dTheta += w * (-0.5 * sinTheta * (e - 1 / e) / d)
            dlds[k] = w * (-(e * sh * sh - ch * ch / e) / d)
            dgds[k] = sinTheta * j / n
        }
        return (total / n, dTheta)
    }

    /// The theta in [-pi, pi] with g(theta) = y: Newton steps kept inside a bisection bracket,
    /// until the bracket or the step is below 2 ulp of pi (at most 200 iterations; about 6 in
    /// practice). g is strictly increasing with g(-pi) = -pi, g(pi) = pi, so the bracket always
    /// holds the root; the result is within a few ulp of it.
    static func solve(_ y: Double, s: UnsafePointer<Double>, count: Int) -> Double {
        var lo = -Double.pi, hi = Double.pi
        var theta = y
        let resolution = 2 * Double.pi.ulp
        for _ in 0..<200 {
            let (g, slope) = valueAndSlope(theta, s: s, count: count)
            let f = g - y
            if f == 0 { return theta }
            if f > 0 { hi = theta } else { lo = theta }
            var next = theta - f / slope
            if !(next > lo && next < hi) { next = 0.5 * (lo + hi) }
            if abs(next - theta) <= resolution || hi - lo <= resolution { return next }
            theta = next
        }
        return theta
    }
}
