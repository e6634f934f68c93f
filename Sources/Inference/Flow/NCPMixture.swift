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
    /// One component at theta: g_k, log D_k = -log J_k, and the two ratios the derivatives need,
    /// (e - 1/e) / D_k and (e h^2 - c^2/e) / D_k, all evaluated with e^{-2|s|} <= 1 so that no
    /// intermediate overflows for any finite s (a diverging network gives J_k -> 0 or a large
    /// finite value, never NaN).
    @inline(__always)
    static func component(sinHalf h: Double, cosHalf c: Double, s: Double) -> (g: Double, logD: Double, spread: Double, balance: Double) {
        let a = abs(s), u = exp(-2 * a), q = exp(-a)
        if s >= 0 {
            let big = h * h + c * c * u
            return (2 * atan2(h, c * q), a + log(big), (1 - u) / big, (h * h - c * c * u) / big)
        } else {
            let big = c * c + h * h * u
            return (2 * atan2(h * q, c), a + log(big), (u - 1) / big, (h * h * u - c * c) / big)
        }
    }

    /// g(theta) and log(mean_k J_k) in one pass over the components (an online log-sum-exp):
    /// what a forward layer needs at each active site.
    static func valueAndLogJacobian(_ theta: Double, s: UnsafePointer<Double>, count: Int) -> (g: Double, logJ: Double) {
        let h = sin(0.5 * theta), c = cos(0.5 * theta)
        var sum = 0.0, top = -Double.infinity, scaled = 0.0
        for k in 0..<count {
            let p = component(sinHalf: h, cosHalf: c, s: s[k])
            sum += p.g
            let l = -p.logD
            if l > top { scaled = scaled * exp(top - l) + 1; top = l } else { scaled += exp(l - top) }
        }
        let n = Double(count)
        return (sum / n, top + log(scaled / n))
    }

    /// g(theta) and dg/dtheta = mean J_k.
    static func valueAndSlope(_ theta: Double, s: UnsafePointer<Double>, count: Int) -> (Double, Double) {
        let h = sin(0.5 * theta), c = cos(0.5 * theta)
        var sum = 0.0, slope = 0.0
        for k in 0..<count {
            let p = component(sinHalf: h, cosHalf: c, s: s[k])
            sum += p.g
            slope += exp(-p.logD)
        }
        let n = Double(count)
        return (sum / n, slope / n)
    }

    /// log(mean_k J_k) at theta, a log-sum-exp of log J_k = -log D_k.
    static func logJacobian(_ theta: Double, s: UnsafePointer<Double>, count: Int) -> Double {
        let h = sin(0.5 * theta), c = cos(0.5 * theta)
        if count == 1 { return -component(sinHalf: h, cosHalf: c, s: s[0]).logD }
        var top = -Double.infinity
        for k in 0..<count { top = max(top, -component(sinHalf: h, cosHalf: c, s: s[k]).logD) }
        var sum = 0.0
        for k in 0..<count { sum += exp(-component(sinHalf: h, cosHalf: c, s: s[k]).logD - top) }
        return top + log(sum / Double(count))
    }

    /// The pieces the reverse-mode pass needs at theta: the slope dg/dtheta, d log J/dtheta, and
    /// per component dg/ds_k (into `dgds`) and d log J/ds_k (into `dlds`).
    static func derivatives(_ theta: Double, s: UnsafePointer<Double>, count: Int,
                            dgds: UnsafeMutablePointer<Double>, dlds: UnsafeMutablePointer<Double>) -> (slope: Double, dLogJdTheta: Double) {
        let h = sin(0.5 * theta), c = cos(0.5 * theta), sinTheta = sin(theta)
        let n = Double(count)
        var top = -Double.infinity
        for k in 0..<count { top = max(top, -component(sinHalf: h, cosHalf: c, s: s[k]).logD) }
        var total = 0.0   // sum_k J_k e^{-top}
        for k in 0..<count { total += exp(-component(sinHalf: h, cosHalf: c, s: s[k]).logD - top) }
        var dTheta = 0.0, slope = 0.0
        for k in 0..<count {
            let p = component(sinHalf: h, cosHalf: c, s: s[k])
            let j = exp(-p.logD), w = exp(-p.logD - top) / total
            dTheta += w * (-0.5 * sinTheta * p.spread)
            dlds[k] = -w * p.balance
            dgds[k] = sinTheta * j / n
            slope += j
        }
        return (slope / n, dTheta)
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
