import Foundation

extension U1Exact {
    /// The exact `<cos theta_C>` of a contractible Wilson loop C enclosing `area` plaquettes on a
    /// torus of `volume` plaquettes (2D U(1), Wilson action), by the character expansion:
    ///
    ///     <W> = sum_k I_k^{V-A} I_{k+1}^A / sum_k I_k^V      (k over all integers, I_{-k} = I_k)
    ///
    /// (the plaquettes inside C carry the character k + 1, those outside k; the sum is real and
    /// equals `<cos theta_C>` by k -> -k symmetry). `area = 1` is the plaquette
    /// (``plaquette(beta:volume:)``); for V -> infinity it tends to `(I_1/I_0)^A`, the area law.
    /// An R x T rectangle with R < Lx and T < Lt has `area = R T`.
    ///
    /// Numerics: ratios `r_k = I_k / I_0` from ``besselIScaled(_:_:)``, summed over
    /// `|k| <= K` until `r_K < 1e-18` (every term is below `r_k r_{k+1}`, so the dropped tail is
    /// below 1e-17 relative to the k = 0 term, which is 1 in the denominator). Accuracy about
    /// 1e-14 absolute for beta up to a few dozen. Requires `1 <= area < volume` and
    /// `0 < beta <= asymptoticThreshold` (nil otherwise: the large-beta expansion is not
    /// implemented for loops).
    public static func wilsonLoop(beta: Double, volume: Int, area: Int) -> Double? {
        guard beta.isFinite, beta > 0, beta <= asymptoticThreshold, volume >= 2, area >= 1, area < volume else { return nil }
        let i0 = besselIScaled(0, beta)
        var r: [Double] = [1]
        var k = 1
        while true {
            let v = max(0, besselIScaled(k, beta) / i0)
            r.append(v)
            if (Double(k) > beta && v < 1e-18) || k > 2000 { break }
            k += 1
        }
        r.append(0)  // r_{K+1}, below the cut
        func ratio(_ k: Int) -> Double { let a = abs(k); return a < r.count ? r[a] : 0 }
        let cut = r.count - 2
        var numerator = 0.0, denominator = 0.0
        // Smallest terms first.
        for k in stride(from: cut, through: 1, by: -1) {
            for s in [k, -k] {
                numerator += pow(ratio(s), Double(volume - area)) * pow(ratio(s + 1), Double(area))
                denominator += pow(ratio(s), Double(volume))
            }
        }
        numerator += pow(ratio(1), Double(area))  // k = 0
        denominator += 1
        return numerator / denominator
    }
}
