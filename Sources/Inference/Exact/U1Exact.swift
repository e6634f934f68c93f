import Foundation

/// Exact finite-volume results of 2D U(1) Wilson gauge theory on an Lt x Lx torus with
/// V = Lt * Lx plaquettes, from the character expansion (docs: physics reference):
///
///     c_k(theta) = (1/2pi) int_{-pi}^{pi} e^{beta cos p} e^{i (theta/2pi - k) p} dp
///                = (1/pi) int_0^pi e^{beta cos p} cos(a p) dp,   a = theta/2pi - k,
///     Z(theta)   = sum_k c_k(theta)^V,   c_k(0) = I_k(beta).
///
/// Domain: every function taking beta throws `InvalidInput` (code `exact.invalid_beta`) unless
/// beta is finite and > 0, and `exact.invalid_volume` below its minimum volume; nothing traps.
///
/// Two methods, switched at `asymptoticThreshold` (beta = 200):
/// - beta <= 200: the Bessel series below (cost grows like beta: about 4e5 integrand
///   evaluations at the threshold and V = 3, tens of milliseconds in a debug build);
/// - beta > 200: `U1LargeBeta`, the same character sums with `ln(I_nu / I_0)` from the
///   large-argument expansion `BesselLargeArgument` (24 orders in 1/beta; its truncation error,
///   weighted by a term's share of the sum, is at most `1.39e9 / (V beta)^12`, 3.4e-19 at the
///   threshold, derived there) and at most 38 nodes, so the cost is bounded for every finite
///   beta (microseconds, also at beta = 1e300). Past the threshold the results are accurate to
///   a few ulps of the sums: the plaquette and I1/I0 to about 1e-15 absolute, `<Q^2>` to about
///   1e-15 times its scale `V / (4 pi^2 beta)` (absolute: once `beta / V` exceeds a few, the
///   exact `<Q^2>` is below that scale by about `e^{-2 pi^2 beta / V}`, and both methods return
///   it as cancellation noise or, for beta / V > 8, as 0, the exact value being below e^{-100}).
///   The threshold is the smallest beta at which the expansion reaches double precision: the
///   series' rounding grows with beta (against mpmath, had it been kept: 5e-15 in I1/I0 at
///   beta 500, 4e-14 at 2000; <Q^2> 1.1e-11 relative at 100x100 and beta 1000), so the switch
///   also improves accuracy. Checked against mpmath for beta = 1 ... 1e12 on both sides
///   (Tests/InferenceTests/ExactLargeBetaTests.swift).
///
/// Overflow: `I_0(beta)^V` overflows already for V = 256, beta = 6, so every sum is written with
/// the ratios `r_k = c_k / c_0` (and derivatives divided by `c_0`), and the Bessel integrals carry
/// the factor `e^{-beta}`. Results are finite for every valid beta.
///
/// Truncation: k runs over `-K ... K`, symmetric terms are added in pairs; K is the first
/// `k >= 32` at which the remaining terms are below 1e-32 (relative to the k = 0 term), but at most
/// `40 + beta + 12 sqrt(beta)`, where `I_k / I_0 < 1e-30` for every beta (checked against
/// scipy for beta = 1 ... 1000).
///
/// Accuracy (what holds): the plaquette to about 1e-15 absolute, `<Q^2>` to about 1e-13
/// relative for beta up to a few dozen; both checked against an independent table at 1e-9 and
/// 1e-6. What does not hold: `besselI` loses relative accuracy for orders whose value is far
/// below `I_0(x)` (see there); `topologicalSusceptibility` needs `V >= 3`.
public enum U1Exact {

    /// beta above which the large-beta expansion replaces the Bessel series.
    public static let asymptoticThreshold = BesselLargeArgument.minimumArgument

    // MARK: Bessel functions

    /// `e^{-|x|} I_k(x)` for integer k, from `(1/pi) int_0^pi e^{|x| (cos p - 1)} cos(k p) dp` by
    /// the trapezoid rule with `n = 32 + |k| + ceil(8 sqrt|x|)` intervals. The integrand is
    /// periodic and analytic, so the error is the aliasing sum `I_{2n-|k|} + ...`, below
    /// `e^{|x|} * 1e-50`; the result is then limited by rounding: absolute error about 1e-16
    /// times `e^{-|x|} I_0(x)`. Relative accuracy therefore holds for orders with
    /// `I_k(x)` comparable to `I_0(x)` (|k| up to a few sqrt(x)) and is lost for far smaller values
    /// (e.g. I_30(1)): those come out as rounding noise of order 1e-17, possibly negative.
    /// `I_{-k} = I_k`, `I_k(-x) = (-1)^k I_k(x)`.
    ///
    /// Bounded cost: for |x| > `asymptoticThreshold` the value is
    /// `exp(ln(sqrt(2 pi x) e^{-x} I_0) + ln(I_k / I_0)) / sqrt(2 pi x)` from
    /// `BesselLargeArgument` (relative error about 1e-15 for `k^2 <= 160 |x|`, 0 beyond, where
    /// the true value is below `e^{-76}` times `e^{-|x|} I_0(x)`); for smaller |x| an order
    /// `|k| > 1000 + 2|x|` returns 0 (the true value is below `(|x|/2)^|k| e^{x^2/4|k|} / |k|!`,
    /// under `e^{-386}` times `e^{-|x|} I_0(x)`; the character sums never ask for such orders).
    /// NaN gives NaN; an infinite x gives 0 (the limit).
    public static func besselIScaled(_ k: Int, _ x: Double) -> Double {
        if x.isNaN { return .nan }
        if x.isInfinite { return 0 }
        let magnitude = k.magnitude
        let negative = x < 0 && magnitude % 2 == 1
        let ax = abs(x)
        if ax > asymptoticThreshold {
            let nu = Double(magnitude)
            let expansion = BesselLargeArgument(x: ax)
            guard expansion.covers(nu) else { return 0 }
            let value = exp(expansion.logScaledI0 + expansion.logRatio(nu).value) / ((2 * Double.pi).squareRoot() * ax.squareRoot())
            return negative ? -value : value
        }
        if Double(magnitude) > 1000 + 2 * ax { return 0 }
        let order = Int(magnitude)
        if x == 0 { return order == 0 ? 1 : 0 }
        let intervals = 32 + order + Int((8 * ax.squareRoot()).rounded(.up))
        let h = Double.pi / Double(intervals)
        var sum = 0.5 * (1 + exp(-2 * ax) * (order % 2 == 0 ? 1 : -1))  // ends p = 0 and p = pi
        for j in 1..<intervals {
            let p = Double(j) * h
            sum += exp(ax * (cos(p) - 1)) * cos(Double(order) * p)
        }
        let value = sum / Double(intervals)
        return negative ? -value : value
    }

    /// The modified Bessel function `I_k(x)` for integer k (`besselIScaled(k, x) * e^{|x|}`;
    /// overflows to infinity beyond |x| of about 709). Same accuracy contract as `besselIScaled`.
    public static func besselI(_ k: Int, _ x: Double) -> Double {
        besselIScaled(k, x) * exp(abs(x))
    }

    // MARK: Plaquette

    /// `I_1(beta) / I_0(beta)`, the infinite-volume average plaquette.
    public static func plaquetteInfiniteVolume(beta: Double) throws -> Double {
        try validate(beta: beta, volume: 1, minimum: 1)
        if beta > asymptoticThreshold { return U1LargeBeta.plaquetteInfiniteVolume(beta: beta) }
        return besselIScaled(1, beta) / besselIScaled(0, beta)
    }

    /// The exact `<cos phi_P>` at finite volume V (`volume >= 1`):
    /// `sum_k I_k' I_k^{V-1} / sum_k I_k^V` with `I_k' = (I_{k-1} + I_{k+1}) / 2`.
    /// For V = 1 the single plaquette angle is identically zero and the result is 1.
    public static func plaquette(beta: Double, volume: Int) throws -> Double {
        try validate(beta: beta, volume: volume, minimum: 1)
        if beta > asymptoticThreshold { return U1LargeBeta.plaquette(beta: beta, volume: volume) }
        let i0 = besselIScaled(0, beta)
        var r: [Double] = [1]
        for k in 1... {
            r.append(besselIScaled(k, beta) / i0)
            if isTruncated(k: k, beta: beta, tail: power(abs(r[k]), volume)) { break }
        }
        r.append(besselIScaled(r.count, beta) / i0)  // r_{K+1} for I'_K
        let cutoff = r.count - 2
        var numerator = 0.0
        var denominator = 0.0
        for k in stride(from: cutoff, through: 1, by: -1) {
            let derivative = (r[k - 1] + r[k + 1]) / 2
            numerator += 2 * derivative * power(r[k], volume - 1)
            denominator += 2 * power(r[k], volume)
        }
        numerator += r[1]  // k = 0: I_0' = I_1, r_0 = 1
        denominator += 1
        return numerator / denominator
    }

    // MARK: Topological charge

    /// `<Q^2> = -d^2/dtheta^2 ln Z(theta)` at theta = 0 and `chi = <Q^2> / V` (`volume >= 3`).
    ///
    /// With `r_k = c_k / c_0`, `d_k = c_k' / c_0`, `e_k = c_k'' / c_0` at theta = 0, and
    /// `Z'(0) = 0` by the k <-> -k symmetry (`d_{-k} = -d_k`):
    /// `<Q^2> = -sum_k [V (V-1) r_k^{V-2} d_k^2 + V r_k^{V-1} e_k] / sum_k r_k^V`, where
    /// `c_k' = -(1/2pi^2) int_0^pi e^{beta cos p} p sin(a p) dp` and
    /// `c_k'' = -(1/4pi^3) int_0^pi e^{beta cos p} p^2 cos(a p) dp`, by composite 20-point
    /// Gauss-Legendre. V >= 3 is required because `d_k` decays only like 1/k (the factor p breaks
    /// periodicity), so for V <= 2 the k-sum converges only algebraically.
    public static func topologicalSusceptibility(beta: Double, volume: Int) throws -> (q2: Double, chi: Double) {
        try validate(beta: beta, volume: volume, minimum: 3)
        let v = Double(volume)
        if beta > asymptoticThreshold {
            let q2 = U1LargeBeta.topologicalChargeSquared(beta: beta, volume: volume)
            return (q2, q2 / v)
        }
        let zero = characterIntegrals(k: 0, theta: 0, beta: beta)
        var terms: [(r: Double, d: Double, e: Double)] = [(1, zero.dc / zero.c, zero.d2c / zero.c)]
        for k in 1... {
            let ck = characterIntegrals(k: k, theta: 0, beta: beta)
            let term = (r: ck.c / zero.c, d: ck.dc / zero.c, e: ck.d2c / zero.c)
            terms.append(term)
            let tail = v * v * power(abs(term.r), volume - 2) * max(1, term.d * term.d + abs(term.e))
            if isTruncated(k: k, beta: beta, tail: tail) { break }
        }
        var numerator = 0.0
        var denominator = 0.0
        for k in stride(from: terms.count - 1, through: 0, by: -1) {
            let t = terms[k]
            let multiplicity = k == 0 ? 1.0 : 2.0
            numerator += multiplicity * (v * (v - 1) * power(t.r, volume - 2) * t.d * t.d
                                         + v * power(t.r, volume - 1) * t.e)
            denominator += multiplicity * power(t.r, volume)
        }
        let q2 = -numerator / denominator
        return (q2, q2 / v)
    }

    /// `ln(Z(theta) / Z(0))` from the integrals `c_k(theta)` themselves (no theta derivative),
    /// for an independent finite-difference check of `topologicalSusceptibility`
    /// (`volume >= 1`). Only meaningful where `Z(theta) > 0` (NaN otherwise).
    /// Truncation as for the plaquette, with k over `-K ... K` (no symmetry for theta != 0).
    public static func logPartitionRatio(theta: Double, beta: Double, volume: Int) throws -> Double {
        guard theta.isFinite else { throw InvalidInput.theta(theta) }
        try validate(beta: beta, volume: volume, minimum: 1)
        if beta > asymptoticThreshold { return U1LargeBeta.logPartitionRatio(theta: theta, beta: beta, volume: volume) }
        let c0 = characterIntegrals(k: 0, theta: 0, beta: beta).c
        var shifted = power(characterIntegrals(k: 0, theta: theta, beta: beta).c / c0, volume)
        var unshifted = 1.0
        for k in 1... {
            let plus = characterIntegrals(k: k, theta: theta, beta: beta).c / c0
            let minus = characterIntegrals(k: -k, theta: theta, beta: beta).c / c0
            let r = characterIntegrals(k: k, theta: 0, beta: beta).c / c0
            shifted += power(plus, volume) + power(minus, volume)
            unshifted += 2 * power(r, volume)
            let tail = max(power(abs(plus), volume), power(abs(minus), volume))
            if isTruncated(k: k, beta: beta, tail: tail) { break }
        }
        return log(shifted / unshifted)
    }

    // MARK: - Internals

    /// `e^{-beta}` times `c_k(theta)`, `dc_k/dtheta`, `d^2c_k/dtheta^2`.
    static func characterIntegrals(k: Int, theta: Double, beta: Double) -> (c: Double, dc: Double, d2c: Double) {
        let a = theta / (2 * Double.pi) - Double(k)
        let panels = 8 + Int(abs(a).rounded(.up)) + Int(beta.squareRoot().rounded(.up))
        let sums = GaussLegendre.rule20.integrate(from: 0, to: Double.pi, panels: panels) { p in
            let weight = exp(beta * (cos(p) - 1))
            let c = cos(a * p)
            return (weight * c, weight * p * sin(a * p), weight * p * p * c)
        }
        let pi = Double.pi
        return (sums.0 / pi, -sums.1 / (2 * pi * pi), -sums.2 / (4 * pi * pi * pi))
    }

    /// Whether the k-sum may stop after k: at least 32 terms and a negligible tail, or the hard
    /// cap `40 + beta + 12 sqrt(beta)`.
    private static func isTruncated(k: Int, beta: Double, tail: Double) -> Bool {
        let cap = 40 + Int((beta + 12 * beta.squareRoot()).rounded(.up))
        return k >= cap || (k >= 32 && tail < 1e-32)
    }

    /// `x^n` for `n >= 0` by binary exponentiation (`x^0 = 1`, also for x = 0).
    static func power(_ x: Double, _ n: Int) -> Double {
        precondition(n >= 0)
        var result = 1.0
        var base = x
        var exponent = n
        while exponent > 0 {
            if exponent & 1 == 1 { result *= base }
            base *= base
            exponent >>= 1
        }
        return result
    }
}
