import Foundation

/// The large-argument expansion of the modified Bessel functions, in the logarithmic form used by
/// `U1Exact` past its threshold (internal helper; derivation and error bound below).
///
/// Hankel's expansion `I_nu(x) ~ e^x / sqrt(2 pi x) * sum_j (-1)^j a_j(mu) / x^j`, with
/// `mu = 4 nu^2` and `a_j = prod_{i=1}^{j} (mu - (2i-1)^2) / (j! 8^j)`, has a logarithm whose
/// coefficient of `x^-n` is a polynomial in `mu` of degree `ceil(n/2)` (computed exactly with
/// sympy, `series(log(S), y, 0, 15)`, and tabulated below multiplied by `4^d` so that they apply
/// to `s = nu^2`):
///
///     ln(sqrt(2 pi x) e^{-x} I_nu(x)) = sum_{n=1}^{14} x^{-n} sum_{d=0}^{ceil(n/2)} C[d][n] s^d + R.
///
/// The d = 0 part is `ln(sqrt(2 pi x) e^{-x} I_0(x))`; the rest is `rho(nu, x) = ln(I_nu / I_0)`,
/// `-nu^2/(2x) + nu^4/(24 x^3) - nu^2/(4 x^2) + ...`. Written with `t = nu^2 / x`, the degree-d
/// terms are `t^d x^{d-n}` with `n >= 2d - 1`, so at fixed t the series proceeds in powers of
/// `t / x` and `1 / x`. Its top-degree part (n = 2d - 1) is `-x f(z)`, z = nu / x,
/// `f(z) = z asinh z - sqrt(1 + z^2) + 1 = z^2/2 - z^4/24 + z^6/80 - ...` (Debye's exponent,
/// convergent for |z| < 1; the coefficients are `(-1)^m binom(2m, m) / (4^m (2m+1)(2m+2))`).
/// This is not Hankel's series at fixed nu, which fails once nu ~ sqrt(x).
///
/// Error bound (truncation after n = 14): the remainder R is dominated by the first omitted
/// term, whose largest part is its top-degree one, `binom(14, 7) / (4^7 * 15 * 16) * t^8 / x^7 =
/// 8.73e-4 t^8 / x^7`. In a character sum each order enters with the weight
/// `(I_nu / I_0)^V ~ e^{-V t / 2}`, and `max_t t^8 e^{-V t/2} = (16/V)^8 e^{-8}`, so the weighted
/// error of one term is at most `V * 8.73e-4 * (16/V)^8 e^{-8} / x^7 = 1.26e3 / (V^7 x^7)`:
/// `1.3e-18` for V = 1 at x = 1000, below one ulp of the sums (and falling like x^-7). Measured
/// against mpmath (`besseli` at 40 digits, every integer order with weight above 1e-35) at
/// x = 1000: max weighted error 1.24e-18 (V = 1), 9.3e-21 (V = 2), 6.6e-23 (V = 4); 12 orders
/// at x = 1000 gave 1.2e-16 and 14 orders at x = 500 gave 1.6e-16, hence 14 orders and the
/// threshold 1000 of `U1Exact`. The exponentially small second solution (`e^{-2x}` relative:
/// the difference between `I_nu` and `I_{-nu}` and between the character integral `c(a)` and
/// `I_a`) is below 1e-860 past the threshold.
///
/// Validity: `x >= 1000` and `t = nu^2 / x <= 200` (`covers`; the series then converges fast:
/// successive orders shrink by about `t / x <= 0.2`). Beyond t = 200, `I_nu / I_0 < e^{-95}`
/// (I_nu decreases in nu, and `rho(sqrt(200 x), x) < -100 + 200^2/(24 x) <= -98` for every
/// x >= 1000), so callers treat it as zero.
struct BesselLargeArgument {
    /// `C[d][n-1]`: coefficient of `s^d x^{-n}` (s = nu^2), exact rationals rounded to Double.
    static let coefficients: [[Double]] = [
        // d = 0 (from n = 1): 1/8, 1/16, 25/384, 13/128, 1073/5120, 103/192, 375733/229376, 23797/4096,
        // 55384775/2359296, 2180461/20480, 24713030909/46137344, 72763141/24576, 7780757249041/436207616,
        // 13342715521/114688
        [0.125, 0.0625, 0.06510416666666667, 0.1015625, 0.2095703125, 0.5364583333333334, 1.6380658830915178,
         5.809814453125, 23.475127749972874, 106.467822265625, 535.640519510616, 2960.739786783854,
         17837.279688947478, 116339.24666050503],
        // d = 1 (from n = 1): -1/2, -1/4, -13/48, -7/16, -1187/1280, -155/64, -107609/14336, -1723/64,
        // -7189899/65536, -512875/1024, -14607813283/5767168, -57587035/4096, -9268603618823/109051904,
        // -2277083101/4096
        [-0.5, -0.25, -0.2708333333333333, -0.4375, -0.92734375, -2.421875, -7.506208147321429, -26.921875,
         -109.70915222167969, -500.8544921875, -2532.9266085191207, -14059.334716796875, -84992.58865597614,
         -555928.4914550781],
        // d = 2 (from n = 3): 1/24, 1/8, 23/64, 9/8, 4017/1024, 1953/128, 4858499/73728, 10051/32,
        // 430341057/262144, 19149723/2048, 121027433497/2097152, 393160719/1024
        [0, 0, 0.041666666666666664, 0.125, 0.359375, 1.125, 3.9228515625, 15.2578125, 65.89761013454861,
         314.09375, 1641.6208534240723, 9350.45068359375, 57710.37745332718, 383946.0146484375],
        // d = 3 (from n = 5): -1/80, -1/12, -55/128, -17/8, -198595/18432, -115/2, -5349319/16384,
        // -190103/96, -6729301903/524288, -90927647/1024
        [0, 0, 0, 0, -0.0125, -0.08333333333333333, -0.4296875, -2.125, -10.774468315972221, -57.5,
         -326.49652099609375, -1980.2395833333333, -12835.124784469604, -88796.5302734375],
        // d = 4 (from n = 7): 5/896, 1/16, 1505/3072, 55/16, 385321/16384, 10435/64, 153041183/131072,
        // 139553/16
        [0, 0, 0, 0, 0, 0, 0.005580357142857143, 0.0625, 0.4899088541666667, 3.4375, 23.51812744140625,
         163.046875, 1167.6115646362305, 8722.0625],
        // d = 5 (from n = 9): -7/2304, -1/20, -1113/2048, -81/16, -1456873/32768, -12327/32
        [0, 0, 0, 0, 0, 0, 0, 0, -0.0030381944444444445, -0.05, -0.54345703125, -5.0625, -44.460235595703125,
         -385.21875],
        // d = 6 (from n = 11): 21/11264, 1/24, 4851/8192, 7
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.001864346590909091, 0.041666666666666664, 0.5921630859375, 7.0],
        // d = 7 (from n = 13): -33/26624, -1/28
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0.001239483173076923, -0.03571428571428571],
    ]

    /// The smallest argument for which the expansion is used (see the error bound above).
    static let minimumArgument = 1000.0
    /// Largest `t = nu^2 / x` the expansion is evaluated at; beyond it `I_nu / I_0 < e^{-95}`.
    static let maximumT = 200.0

    let x: Double
    /// `B[d] = sum_n C[d][n] x^{d-n}` (d >= 1) and `B[0] = sum_n C[0][n] x^{-n}`, so that
    /// `rho = sum_{d>=1} B[d] t^d` with `t = nu^2 / x`: no intermediate overflows, also at
    /// x near the largest Double.
    private let b: [Double]

    /// Requires `x >= minimumArgument` and finite (callers check).
    init(x: Double) {
        self.x = x
        let inverse = 1 / x
        b = Self.coefficients.enumerated().map { d, row in
            // Horner in 1/x over n = max(d, 1) ... 14, i.e. powers (1/x)^(n - d).
            let first = max(d, 1)
            let sum = row[(first - 1)...].reversed().reduce(0.0) { $0 * inverse + $1 }
            return d == 0 ? sum * inverse : sum
        }
    }

    /// `ln(sqrt(2 pi x) e^{-x} I_0(x))`.
    var logScaledI0: Double { b[0] }

    /// `t = nu^2 / x`, computed without overflow.
    func t(_ nu: Double) -> Double {
        let r = nu / x.squareRoot()
        return r * r
    }

    /// Whether the expansion may be evaluated at nu (`t <= maximumT`).
    func covers(_ nu: Double) -> Bool { t(nu) <= Self.maximumT }

    /// `rho(nu) = ln(I_nu(x) / I_0(x))` and its first two derivatives with respect to nu, for real
    /// nu with `covers(nu)` (callers check).
    func logRatio(_ nu: Double) -> (value: Double, first: Double, second: Double) {
        let t = t(nu)
        var value = 0.0, dt = 0.0, dtt = 0.0  // rho, d rho / dt, d^2 rho / dt^2
        for d in stride(from: b.count - 1, through: 1, by: -1) {
            value = value * t + b[d]
            if d >= 2 { dt = dt * t + Double(d) * b[d] }
            if d >= 3 { dtt = dtt * t + Double(d * (d - 1)) * b[d] }
        }
        value *= t
        dt = dt * t + b[1]
        dtt = dtt * t + 2 * b[2]
        // dt/dnu = 2 nu / x: d rho/dnu = (2 nu / x) rho_t, d^2 rho/dnu^2 = (2 / x)(rho_t + 2 t rho_tt).
        return (value, 2 * (nu / x) * dt, 2 / x * (dt + 2 * t * dtt))
    }
}
