import Foundation
import XCTest
@testable import Inference

/// SplitMix64 with Box-Muller normals: a tiny deterministic generator for these tests only.
private struct TestRandom {
    private var state: UInt64
    private var spare: Double?

    init(seed: UInt64) { state = seed }

    mutating func nextUInt64() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    mutating func uniform() -> Double {
        (Double(nextUInt64() >> 11) + 0.5) / 9_007_199_254_740_992.0
    }

    mutating func normal() -> Double {
        if let s = spare { spare = nil; return s }
        let radius = (-2 * log(uniform())).squareRoot()
        let angle = 2 * Double.pi * uniform()
        spare = radius * sin(angle)
        return radius * cos(angle)
    }
}

/// Stationary AR(1) chains with unit variance: x_0 ~ N(0,1), x_t = phi x_{t-1} + sqrt(1-phi^2) e_t.
/// Exact: rho(t) = phi^t, tau_int = (1 + phi) / (1 - phi).
private func ar1Chains(phi: Double, chains: Int, steps: Int, seed: UInt64) -> [[Double]] {
    var rng = TestRandom(seed: seed)
    let noise = (1 - phi * phi).squareRoot()
    return (0..<chains).map { _ in
        var x = rng.normal()
        var chain = [Double](repeating: 0, count: steps)
        for t in 0..<steps {
            chain[t] = x
            x = phi * x + noise * rng.normal()
        }
        return chain
    }
}

final class StatisticsTests: XCTestCase {

    // MARK: FFT

    func testFFTMatchesDirectDFT() {
        var rng = TestRandom(seed: 1)
        var length = 1
        while length <= 1024 {
            let re0 = (0..<length).map { _ in rng.normal() }
            let im0 = (0..<length).map { _ in rng.normal() }
            var re = re0, im = im0
            FFT.transform(real: &re, imag: &im)
            let norm = zip(re0, im0).reduce(0) { $0 + $1.0 * $1.0 + $1.1 * $1.1 }.squareRoot()
            // Direct O(n^2) DFT with exactly reduced angles (j*k mod n) so it is itself accurate.
            var worst = 0.0
            for k in 0..<length {
                var sr = 0.0, si = 0.0
                for j in 0..<length {
                    let angle = -2 * Double.pi * Double((j * k) % length) / Double(length)
                    sr += re0[j] * cos(angle) - im0[j] * sin(angle)
                    si += re0[j] * sin(angle) + im0[j] * cos(angle)
                }
                worst = max(worst, abs(sr - re[k]), abs(si - im[k]))
            }
            // Tolerance 1e-12 * norm: both sides have rounding errors ~ eps * sqrt(n) * norm.
            XCTAssertLessThan(worst, 1e-12 * norm, "length \(length)")
            FFT.transform(real: &re, imag: &im, inverse: true)
            let back = zip(zip(re, im), zip(re0, im0)).reduce(0.0) {
                max($0, abs($1.0.0 - $1.1.0), abs($1.0.1 - $1.1.1))
            }
            XCTAssertLessThan(back, 1e-12 * norm, "round trip length \(length)")
            length *= 2
        }
        XCTAssertEqual(FFT.powerOfTwo(atLeast: 5), 8)
        XCTAssertEqual(FFT.powerOfTwo(atLeast: 8), 8)
        XCTAssertEqual(FFT.powerOfTwo(atLeast: 0), 1)
    }

    // MARK: Autocorrelation definitions

    func testNormalizedMatchesDirectSumsWithoutWrap() {
        var rng = TestRandom(seed: 2)
        let x = (0..<37).map { _ in rng.normal() + 3 }
        let mean = x.reduce(0, +) / 37
        let gamma = (0..<37).map { t in
            (0..<(37 - t)).reduce(0.0) { $0 + (x[$1] - mean) * (x[$1 + t] - mean) } / Double(37 - t)
        }
        let rho = Autocorrelation.normalized(x)
        XCTAssertEqual(rho.count, 37)
        for t in 0..<37 {
            // Rounding only: 1e-12 absolute on values of order 1 (tail values may exceed 1).
            XCTAssertEqual(rho[t], gamma[t] / gamma[0], accuracy: 1e-12, "lag \(t)")
        }
        XCTAssertEqual(Autocorrelation.normalized(x, maxLag: 4).count, 5)
        XCTAssertEqual(Autocorrelation.normalized(x, maxLag: 100).count, 37)
        XCTAssertEqual(Autocorrelation.normalized([]), [])
        XCTAssertEqual(Autocorrelation.normalized([4.2]), [1])

        // Averaged form with the global mean: compare with direct sums too.
        let chains = [x, x.map { -$0 }]
        let globalMean = chains.joined().reduce(0, +) / 74
        let pooled = (0..<37).map { t -> Double in
            var s = 0.0
            for c in chains { for i in 0..<(37 - t) { s += (c[i] - globalMean) * (c[i + t] - globalMean) } }
            return s / Double(2 * (37 - t))
        }
        let averaged = Autocorrelation.normalizedAveraged(chains)
        for t in 0..<37 { XCTAssertEqual(averaged[t], pooled[t] / pooled[0], accuracy: 1e-12) }
    }

    // MARK: AR(1)

    private func checkAR1(phi: Double) {
        let chains = 64, steps = 20_000
        let data = ar1Chains(phi: phi, chains: chains, steps: steps, seed: phi == 0.9 ? 90 : 50)
        let n = Double(chains * steps)
        let rho = Autocorrelation.normalizedAveraged(data)
        let exactTau = (1 + phi) / (1 - phi)
        let time = Autocorrelation.integratedTime(rho: rho)
        XCTAssertTrue(time.converged)
        // Madras-Sokal: var(tau) ~ 2 (2M + 1) / n * tau^2; the window's truncation bias
        // -2 phi^(M+1) / (1 - phi) is below 1e-3 here. Allow 4 standard deviations.
        let sigma = (2 * Double(2 * time.window + 1) / n).squareRoot() * exactTau
        XCTAssertEqual(time.tau, exactTau, accuracy: 4 * sigma, "phi \(phi), window \(time.window)")

        // The test can fail: summing rho once instead of twice gives (tau + 1) / 2, far outside.
        let wrongTau = 1 + rho[1...time.window].reduce(0, +)
        XCTAssertGreaterThan(abs(wrongTau - exactTau), 4 * sigma)

        // Bartlett's variance for AR(1): var(r_k) ~ [(1+phi^2)(1-phi^2k)/(1-phi^2) - 2k phi^2k] / n.
        // Five lags, 5 sigma each.
        for k in 1...5 {
            let p2k = pow(phi, Double(2 * k))
            let variance = ((1 + phi * phi) * (1 - p2k) / (1 - phi * phi) - 2 * Double(k) * p2k) / n
            XCTAssertEqual(rho[k], pow(phi, Double(k)), accuracy: 5 * variance.squareRoot(), "phi \(phi) lag \(k)")
        }
    }

    func testAR1Phi09TauIs19() { checkAR1(phi: 0.9) }

    func testAR1Phi05TauIs3() { checkAR1(phi: 0.5) }

    func testMeanErrorOfAR1MatchesAsymptoticError() throws {
        let chains = 64, steps = 20_000, phi = 0.9
        let data = ar1Chains(phi: phi, chains: chains, steps: steps, seed: 91)
        let estimate = MeanEstimate.estimate(chains: data)
        let exactError = (19.0 / Double(chains * steps)).squareRoot()
        // The window estimate within 10 %: tau is estimated to ~2 % (sigma above) and the
        // variance to ~0.5 %.
        XCTAssertEqual(estimate.autocorrelationError, exactError, accuracy: 0.1 * exactError)
        // The chain-scatter estimate (64 chain means, relative sd 1 / sqrt(2 * 63) = 0.089) within
        // 30 % (3.4 sd); the reported error is the larger of the two (see HonestErrorTests).
        let scatter = try XCTUnwrap(estimate.chainScatterError)
        XCTAssertEqual(scatter, exactError, accuracy: 0.3 * exactError)
        XCTAssertEqual(estimate.error, max(estimate.autocorrelationError, scatter))
        XCTAssertEqual(estimate.variance, 1, accuracy: 0.03)  // ~6 sigma of sqrt(2 tau / n)
        XCTAssertLessThan(abs(estimate.zScore(exact: 0)), 4)  // 4 sigma on a Gaussian mean
        XCTAssertEqual(estimate.samples, steps)
        XCTAssertEqual(estimate.chains, chains)
        XCTAssertTrue(estimate.converged)
    }

    func testIIDSeriesHasTauNearOne() {
        var rng = TestRandom(seed: 3)
        let data = (0..<16).map { _ in (0..<20_000).map { _ in rng.normal() } }
        let time = Autocorrelation.integratedTime(rho: Autocorrelation.normalizedAveraged(data))
        let n = Double(16 * 20_000)
        // Same Madras-Sokal variance with tau = 1; 4 sigma (about 0.04 for M = 5).
        let sigma = (2 * Double(2 * time.window + 1) / n).squareRoot()
        XCTAssertEqual(time.tau, 1, accuracy: 4 * sigma)
        XCTAssertTrue(time.converged)
    }

    // MARK: Degenerate series

    func testConstantSeriesGivesZeroErrorAndNoNaN() {
        let constant = [[Double]](repeating: [Double](repeating: 0.1, count: 100), count: 3)
        let rho = Autocorrelation.normalized(constant[0])
        XCTAssertEqual(rho[0], 1)
        XCTAssertTrue(rho.dropFirst().allSatisfy { $0 == 0 })
        XCTAssertEqual(Autocorrelation.normalizedAveraged(constant), rho)
        let estimate = MeanEstimate.estimate(chains: constant)
        XCTAssertEqual(estimate.error, 0)
        XCTAssertEqual(estimate.variance, 0)
        XCTAssertEqual(estimate.tauInt, 1)
        XCTAssertEqual(estimate.mean, 0.1)
        XCTAssertEqual(estimate.zScore(exact: 0.1), 0)
        XCTAssertEqual(estimate.zScore(exact: 0), .infinity)
        XCTAssertEqual(estimate.zScore(exact: 1), -.infinity)
        let time = Autocorrelation.integratedTime(rho: rho)
        XCTAssertEqual(time.tau, 1)
        XCTAssertEqual(time.window, 5)
    }

    func testAlternatingSeriesReportsTauBelowOneWithoutNaN() {
        let alternating = (0..<1000).map { $0 % 2 == 0 ? 1.0 : -1.0 }
        let rho = Autocorrelation.normalized(alternating)
        XCTAssertFalse(rho.contains { $0.isNaN })
        XCTAssertEqual(rho[1], -1, accuracy: 1e-12)
        XCTAssertEqual(rho[2], 1, accuracy: 1e-12)
        let time = Autocorrelation.integratedTime(rho: rho)
        // tau(1) = 1 + 2 rho(1) = -1; the documented floor reports 0.5 (< 1, not clamped to 1).
        XCTAssertEqual(time.window, 1)
        XCTAssertEqual(time.tau, 0.5)
        let estimate = MeanEstimate.estimate(series: alternating)
        XCTAssertFalse(estimate.error.isNaN)
        XCTAssertEqual(estimate.tauInt, 0.5)
        XCTAssertEqual(estimate.mean, 0)
        // var = 1000/999, error = sqrt(var * 0.5 / 1000).
        XCTAssertEqual(estimate.error, (1000.0 / 999 * 0.5 / 1000).squareRoot(), accuracy: 1e-15)
    }

    func testChainsStuckAtDifferentValuesAreFullyCorrelated() {
        // Global centring: two frozen chains at different values give rho = 1 at every lag.
        let chains = [[Double](repeating: 0, count: 50), [Double](repeating: 1, count: 50)]
        let rho = Autocorrelation.normalizedAveraged(chains)
        for t in 0..<50 { XCTAssertEqual(rho[t], 1, accuracy: 1e-12) }
        let time = Autocorrelation.integratedTime(rho: rho)
        XCTAssertFalse(time.converged)
        XCTAssertEqual(time.window, 24)
    }

    // MARK: Thermalization and tunneling

    func testThermalizationDropsFloorOfFraction() {
        let series = Array(0..<10)
        XCTAssertEqual(Array(Thermalization.drop(series, fraction: 0.25)), Array(2..<10))
        XCTAssertEqual(Array(Thermalization.drop(series, fraction: 0)), series)
        XCTAssertEqual(Array(Thermalization.drop(series, fraction: 0.99)), [9])
        XCTAssertEqual(Thermalization.drop(series).first, 2)  // default 25 %
        XCTAssertEqual(Thermalization.drop(chains: [series, series], fraction: 0.5), [[5, 6, 7, 8, 9], [5, 6, 7, 8, 9]])
        XCTAssertEqual(Thermalization.droppedCount(count: 7, fraction: 0.5), 3)
    }

    func testTunnelingRateOnHandMadeCharges() {
        // Chain 1: rounded 0, 0, 1, 1, -1, -1 -> |dQ| = 0, 1, 0, 2, 0 (3 events over 5 steps).
        // Chain 2: 0.0000001 and -0.4 round to 0, 0.6 to 1, 2.49 to 2 -> |dQ| = 0, 1, 1 (2 over 3).
        let charges: [[Double]] = [
            [0, 0, 1, 1, -1, -1],
            [1e-7, -0.4, 0.6, 2.49],
            [3],  // a single sample: no transition
        ]
        let result = TunnelingRate.measure(charges: charges)
        XCTAssertEqual(result.events, 5)
        XCTAssertEqual(result.transitions, 8)
        XCTAssertEqual(result.changedSteps, 4)
        XCTAssertEqual(result.rate, 5.0 / 8.0)
        let none = TunnelingRate.measure(charges: [[2, 2, 2]])
        XCTAssertEqual(none.rate, 0)
        XCTAssertEqual(TunnelingRate.measure(charges: []).rate, 0)
    }
}
