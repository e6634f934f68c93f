import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// ``HMCResonance``: the ratio L / (pi sigma) from hand-computed numbers, principal directions of
/// a non-diagonal covariance, the jitter that breaks it, and the leapfrog itself mapping
/// x - mu -> -(x - mu) at the flagged length (the physics the formula stands for).
final class HMCResonanceTests: XCTestCase {
    private func mixture(variance: Double) -> GaussianMixture {
        let cov = [[variance, 0], [0, variance]]
        return GaussianMixture(dimension: 2, weights: [0.5, 0.5], means: [[-2, 0], [2, 0]], covariances: [cov, cov])
    }

    /// The README's old example: eps 0.1 x 10 steps, variance 0.1. By hand: pi sqrt(0.1) =
    /// 0.9934588, so L / (pi sigma) = 1 / 0.9934588 = 1.0065843.
    func testTheResonantExampleIsFlaggedForEachComponent() throws {
        let found = HMCResonance.find(mixture: mixture(variance: 0.1), stepSize: 0.1, steps: 10)
        XCTAssertEqual(found.map(\.component), [0, 1])
        for r in found {
            XCTAssertEqual(r.ratio, 1.0065843, accuracy: 1e-6)
            XCTAssertEqual(r.multiple, 1)
            XCTAssertEqual(r.sigma, 0.31622777, accuracy: 1e-8)
            XCTAssertEqual(r.trajectoryLength, 1.0, accuracy: 1e-15)
        }
        let sentence = try XCTUnwrap(HMCResonance.sentence(found, options: "--eps or --nlf"))
        XCTAssertEqual(sentence, "the HMC trajectory length eps*N_LF = 1 is resonant with the oscillation period of component 0 (L / (pi sigma) = 1.007) and component 1 (L / (pi sigma) = 1.007): choose another --eps or --nlf, or use --hmc-jitter")
    }

    /// Half the length (a quarter period, ratio 0.503), a length 4 % off the half period (ratio
    /// 1.047, inside 0.05) and 6 % off (1.067, outside), and twice it (k = 2).
    func testTheToleranceAndHigherMultiples() {
        let m = mixture(variance: 0.1)
        XCTAssertTrue(HMCResonance.find(mixture: m, stepSize: 0.1, steps: 5).isEmpty, "a quarter period is not resonant")
        XCTAssertEqual(HMCResonance.find(mixture: m, stepSize: 0.104, steps: 10).count, 2, "ratio 1.0468 is within 0.05 of 1")
        XCTAssertTrue(HMCResonance.find(mixture: m, stepSize: 0.106, steps: 10).isEmpty, "ratio 1.0670 is not within 0.05 of 1")
        XCTAssertEqual(HMCResonance.find(mixture: m, stepSize: 0.1, steps: 20).map(\.multiple), [2, 2])
        XCTAssertTrue(HMCResonance.find(mixture: m, stepSize: 0.01, steps: 10).isEmpty, "a short trajectory (ratio 0.1) is not resonant")
    }

    /// With a jitter F the lengths cover r (1 +- F): flagged only while all of that range stays
    /// within the tolerance (|r - k| + F r < 0.05: 0.0066 + 0.04 x 1.0066 = 0.047 flagged,
    /// 0.0066 + 0.05 x 1.0066 = 0.057 not).
    func testAJitterBreaksTheResonance() {
        let m = mixture(variance: 0.1)
        XCTAssertEqual(HMCResonance.find(mixture: m, stepSize: 0.1, steps: 10, jitter: 0.04).count, 2)
        XCTAssertTrue(HMCResonance.find(mixture: m, stepSize: 0.1, steps: 10, jitter: 0.05).isEmpty)
        XCTAssertTrue(HMCResonance.find(mixture: m, stepSize: 0.1, steps: 10, jitter: 0.3).isEmpty)
    }

    /// Covariance [[0.55, 0.45], [0.45, 0.55]] has eigenvalues 0.1 and 1 (directions (1, -1) and
    /// (1, 1)); L = 2 pi is resonant (k = 2) with sigma = 1 only (with sigma = 0.316 the ratio is 6.32).
    func testPrincipalDirectionsOfANonDiagonalCovariance() throws {
        XCTAssertEqual(try XCTUnwrap(HMCResonance.eigenvalues([[0.55, 0.45], [0.45, 0.55]])).sorted()[0], 0.1, accuracy: 1e-14)
        XCTAssertEqual(try XCTUnwrap(HMCResonance.eigenvalues([[0.55, 0.45], [0.45, 0.55]])).sorted()[1], 1.0, accuracy: 1e-14)
        let c = [[0.55, 0.45], [0.45, 0.55]]
        let g = GaussianMixture(dimension: 2, weights: [1], means: [[0, 0]], covariances: [c])
        let found = HMCResonance.find(mixture: g, stepSize: 2 * .pi / 20, steps: 20)
        XCTAssertEqual(found.count, 1)
        XCTAssertEqual(found.first?.sigma ?? 0, 1, accuracy: 1e-12)
        XCTAssertEqual(found.first?.multiple, 2)
        // A 3x3 check of the Jacobi sweeps: eigenvalues of [[2,1,0],[1,2,1],[0,1,2]] are 2 - sqrt 2, 2, 2 + sqrt 2.
        let e = try XCTUnwrap(HMCResonance.eigenvalues([[2, 1, 0], [1, 2, 1], [0, 1, 2]])).sorted()
        XCTAssertEqual(e[0], 2 - 2.squareRoot(), accuracy: 1e-13)
        XCTAssertEqual(e[1], 2, accuracy: 1e-13)
        XCTAssertEqual(e[2], 2 + 2.squareRoot(), accuracy: 1e-13)
    }

    /// The leapfrog at the flagged length: near a mode (the other component's force is
    /// exp(-8 / 0.1)-small), 10 steps of 0.1 rotate (x - mu, sigma v) by 10 acos(1 - eps^2 /
    /// (2 sigma^2)) = 3.1756 rad, so x' - mu = -0.99943 (x - mu) - 0.0107 v: within 0.04 of
    /// -(x - mu) for |v| <= 3, whatever the momentum.
    func testTheLeapfrogMapsXToMinusXAtTheResonantLength() {
        let target = MixtureAction(mixture: mixture(variance: 0.1))
        let leapfrog = LeapfrogDynamics(target: target, stepSize: 0.1, stepCount: 10, capacity: 1)
        for (dx, v0) in [([0.3, -0.2], [1.5, -3.0]), ([-0.1, 0.25], [-2.5, 0.7]), ([0.05, 0.0], [3.0, 3.0])] {
            let x = Buffer([2 + dx[0], dx[1]]), v = Buffer(v0)
            leapfrog.integrate(x: x.pointer, v: v.pointer, rows: 1)
            XCTAssertEqual(x[0] - 2, -dx[0], accuracy: 0.04, "x[0] - mu")
            XCTAssertEqual(x[1], -dx[1], accuracy: 0.04, "x[1] - mu")
        }
    }
}
