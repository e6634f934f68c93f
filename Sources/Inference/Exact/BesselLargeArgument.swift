import Foundation

/// The large-argument expansion of the modified Bessel functions, in the logarithmic form used by
/// `U1Exact` past its threshold (internal helper; derivation and error bound below).
///
/// Hankel's expansion `I_nu(x) ~ e^x / sqrt(2 pi x) * sum_j (-1)^j a_j(mu) / x^j`, with
/// `mu = 4 nu^2` and `a_j = prod_{i=1}^{j} (mu - (2i-1)^2) / (j! 8^j)`, has a logarithm whose
/// coefficient of `x^-n` is a polynomial in `mu` of degree `ceil(n/2)` (exact rationals from the
/// power-series logarithm, `fixtures/exact/bessel-log-coefficients.py`, cross-checked with sympy
/// for n <= 14; tabulated below multiplied by `4^d` so that they apply to `s = nu^2`):
///
///     ln(sqrt(2 pi x) e^{-x} I_nu(x)) = sum_{n=1}^{24} x^{-n} sum_{d=0}^{ceil(n/2)} C[d][n] s^d + R.
///
/// The d = 0 part is `ln(sqrt(2 pi x) e^{-x} I_0(x))`; the rest is `rho(nu, x) = ln(I_nu / I_0)`,
/// `-nu^2/(2x) + nu^4/(24 x^3) - nu^2/(4 x^2) + ...`. Written with `t = nu^2 / x`, the degree-d
/// terms are `t^d x^{d-n}` with `n >= 2d - 1`, so at fixed t the series proceeds in powers of
/// `t / x` and `1 / x`. Its top-degree part (n = 2d - 1) is `-x f(z)`, z = nu / x,
/// `f(z) = z asinh z - sqrt(1 + z^2) + 1 = z^2/2 - z^4/24 + z^6/80 - ...` (Debye's exponent,
/// convergent for |z| < 1; the coefficients are `(-1)^m binom(2m, m) / (4^m (2m+1)(2m+2))`).
/// This is not Hankel's series at fixed nu, which fails once nu ~ sqrt(x).
///
/// Error bound (truncation after n = 24): the remainder R is dominated by the first omitted
/// term, whose largest part is its top-degree one, `binom(24, 12) / (4^12 * 25 * 26) * t^13 /
/// x^12 = 2.48e-4 t^13 / x^12`. In a character sum each order enters with the weight
/// `(I_nu / I_0)^V ~ e^{-V t / 2}`, and `max_t t^13 e^{-V t/2} = (26/V)^13 e^{-13}`, so the
/// weighted error of one term is at most `V * 2.48e-4 * (26/V)^13 e^{-13} / x^12 =
/// 1.39e9 / (V^12 x^12)`: `3.4e-19` for V = 1 at x = 200, `8e-23` for V = 2, below one ulp of the
/// sums (and falling like x^-12). Measured against mpmath (`besseli` at 40 digits, every
/// integer order up to t = 160) at x = 200: max weighted error 2.6e-19 (V = 1), 2.5e-23 (V = 2),
/// 1.1e-26 (V = 4); 20 orders gave 3.1e-17, and at x = 300 / 500 / 1000, 16 / 14 / 12 orders
/// gave 2e-16 / 1.6e-16 / 1.2e-16, hence 24 orders and the threshold 200 of `U1Exact`. The
/// exponentially small second solution (`e^{-2x}` relative: the difference between `I_nu` and
/// `I_{-nu}` and between the character integral `c(a)` and `I_a`) is below 1e-173 past the
/// threshold.
///
/// Validity: `x >= 200` and `t = nu^2 / x <= 160` (`covers`, z^2 = t / x <= 0.8). Beyond
/// t = 160, `I_nu / I_0 < e^{-76}` (I_nu decreases in nu, and at t = 160 `rho = -x f(z) + O(t/x)`
/// is at most -76.3 + 0.2, its value at x = 200, approaching -80 as x grows), so callers treat it
/// as zero; the character sums stop at weight e^{-80} anyway.
struct BesselLargeArgument {
    /// `C[d][n-1]`: coefficient of `s^d x^{-n}` (s = nu^2), n = 1 ... 24, d = 0 ... 12: the exact
    /// rationals rounded to Double, printed by `python3 fixtures/exact/bessel-log-coefficients.py 24`.
    static let coefficients: [[Double]] = [
        // d = 0: nonzero from n = 1
        [0.125, 0.0625, 0.06510416666666667, 0.1015625, 0.2095703125, 0.5364583333333334, 1.6380658830915178,
         5.809814453125, 23.475127749972874, 106.467822265625, 535.640519510616, 2960.739786783854,
         17837.279688947478, 116339.24666050503, 816737.8421910767, 6140798.86346674, 49232732.339998595,
         419272864.964833, 3779795380.667541, 35961831603.669014, 360101552365.56555, 3785651810447.53,
         41687986318546.49, 479892615938701.0],
        // d = 1: nonzero from n = 1
        [-0.5, -0.25, -0.2708333333333333, -0.4375, -0.92734375, -2.421875, -7.506208147321429, -26.921875,
         -109.70915222167969, -500.8544921875, -2532.9266085191207, -14059.334716796875, -84992.58865597614,
         -555928.4914550781, -3912234.1815337986, -29475887.519958496, -236742611.09370857,
         -2019309909.3292046, -18229665724.188908, -173656163862.76016, -1740827088000.5967,
         -18319185133131.266, -201915928904969.9, -2326284077647233.5],
        // d = 2: nonzero from n = 3
        [0, 0, 0.041666666666666664, 0.125, 0.359375, 1.125, 3.9228515625, 15.2578125, 65.89761013454861,
         314.09375, 1641.6208534240723, 9350.45068359375, 57710.37745332718, 383946.0146484375,
         2740502.0026494088, 20897028.44177246, 169577261.11610824, 1459410812.6331177, 13278765874.81706,
         127373577278.7597, 1284772559241.7913, 13595063698826.412, 150596339285413.7, 1742901894460457.8],
        // d = 3: nonzero from n = 5
        [0, 0, 0, 0, -0.0125, -0.08333333333333333, -0.4296875, -2.125, -10.774468315972221, -57.5,
         -326.49652099609375, -1980.2395833333333, -12835.124784469604, -88796.5302734375, -654346.3829526106,
         -5123565.0390625, -42518001.39125572, -372992149.2657878, -3450501175.7119656, -33581844483.10309,
         -343093270502.57104, -3672085339875.7944, -41093607377087.66, -479978581704570.94],
        // d = 4: nonzero from n = 7
        [0, 0, 0, 0, 0, 0, 0.005580357142857143, 0.0625, 0.4899088541666667, 3.4375, 23.51812744140625,
         163.046875, 1167.6115646362305, 8722.0625, 68292.14392991066, 561614.7639160156, 4853042.286318928,
         44044307.69628906, 419403625.391872, 4184905914.78479, 43695354743.1088, 476698747644.0582,
         5425949818313.974, 64344043044636.63],
        // d = 5: nonzero from n = 9
        [0, 0, 0, 0, 0, 0, 0, 0, -0.0030381944444444445, -0.05, -0.54345703125, -5.0625, -44.460235595703125,
         -385.21875, -3373.54646987915, -30269.5, -280421.80173933506, -2693827.84375, -26893537.844146475,
         -279296246.6490234, -3017867835.020024, -33917337146.75171, -396250054323.59424, -4808456863346.787],
        // d = 6: nonzero from n = 11
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.001864346590909091, 0.041666666666666664, 0.5921630859375, 7.0,
         76.14891103108724, 801.171875, 8379.561606407166, 88542.65625, 954428.6872395575, 10557492.392578125,
         120266698.5119051, 1413800503.6699219, 17169632409.224035, 215507919616.62488],
        // d = 7: nonzero from n = 13
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0.001239483173076923, -0.03571428571428571, -0.63714599609375,
         -9.25, -121.35285568237305, -1516.3125, -18589.68007993698, -227658.65625, -2816338.131245865,
         -35445605.61328125, -455922939.88503104, -6010717948.185547],
        // d = 8: nonzero from n = 15
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.000872802734375, 0.03125, 0.6791496276855469, 11.8125,
         183.04497361183167, 2668.7109375, 37773.45071100479, 529141.078125, 7426613.105329909,
         105276423.3803711],
        // d = 9: nonzero from n = 17
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0.0006417667164522059, -0.027777777777777776,
         -0.7186985015869141, -14.6875, -264.3891826868057, -4433.515625, -71547.33628256619,
         -1133889.5677083333],
        // d = 10: nonzero from n = 19
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.00048808047645970394, 0.025,
         0.7561790148417155, 17.875, 368.7294978797436, 7027.3671875],
        // d = 11: nonzero from n = 21
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0.000381378900437128,
         -0.022727272727272728, -0.7918856143951416, -21.375],
        // d = 12: nonzero from n = 23
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.00030468857806661856,
         0.020833333333333332],
    ]

    /// The smallest argument for which the expansion is used (see the error bound above).
    static let minimumArgument = 200.0
    /// Largest `t = nu^2 / x` the expansion is evaluated at; beyond it `I_nu / I_0 < e^{-76}`.
    static let maximumT = 160.0

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
            // Horner in 1/x over n = max(d, 1) ... 24, i.e. powers (1/x)^(n - d).
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
