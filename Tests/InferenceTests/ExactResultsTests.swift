import Foundation
import XCTest
@testable import Inference

final class ExactResultsTests: XCTestCase {

    // MARK: Bessel functions

    func testBesselIAgainstIndependentValues() {
        // Reference values: mpmath.besseli at 30 digits, rounded to Double (scipy agrees to 1 ulp;
        // the brief's I_0(1) = ...082 and I_2(4) = ...106 differ from these by 1-2 ulps only).
        let cases: [(Int, Double, Double)] = [
            (0, 1, 1.2660658777520084),
            (1, 1, 0.565159103992485),
            (0, 2, 2.2795853023360673),
            (1, 2, 1.590636854637329),
            (2, 4, 6.4221893752841055),
            (0, 10, 2815.7166284662544),
            (5, 10, 777.18828640326),
            (3, 0.5, 0.002645111968990286),
            (1, 50, 2.903078590103557e+20),
        ]
        for (k, x, expected) in cases {
            // 1e-13 relative: the trapezoid rule is converged far below rounding; the remaining
            // error is a few ulps of I_0(x) summed over ~100 nodes.
            XCTAssertEqual(U1Exact.besselI(k, x), expected, accuracy: 1e-13 * expected, "I_\(k)(\(x))")
        }
        XCTAssertEqual(U1Exact.besselI(-2, 4), U1Exact.besselI(2, 4))
        XCTAssertEqual(U1Exact.besselI(1, -2), -U1Exact.besselI(1, 2))
        XCTAssertEqual(U1Exact.besselI(0, 0), 1)
        XCTAssertEqual(U1Exact.besselI(3, 0), 0)
        XCTAssertEqual(U1Exact.besselIScaled(0, 1000) * (2 * Double.pi * 1000).squareRoot(), 1, accuracy: 2e-4)
    }

    func testGaussLegendreRule() {
        let rule = GaussLegendre.rule20
        XCTAssertEqual(rule.weights.reduce(0, +), 2, accuracy: 1e-14)
        // Exact for degree 38: int_{-1}^{1} x^38 = 2/39.
        let moment = zip(rule.nodes, rule.weights).reduce(0) { $0 + $1.1 * pow($1.0, 38) }
        XCTAssertEqual(moment, 2.0 / 39.0, accuracy: 1e-15)
    }

    // MARK: The reference table of exact results (mpmath-checked)

    private struct Row {
        let lt: Int, lx: Int, beta: Double, plaquette: Double, ratio: Double, q2: Double
    }

    private let table: [Row] = [
        Row(lt: 8, lx: 8, beta: 1, plaquette: 0.4463899659, ratio: 0.4463899659, q2: 2.6007191),
        Row(lt: 8, lx: 8, beta: 2, plaquette: 0.6977746580, ratio: 0.6977746580, q2: 1.2392989),
        Row(lt: 8, lx: 8, beta: 4, plaquette: 0.8635300425, ratio: 0.8635226110, q2: 0.4820159),
        Row(lt: 8, lx: 8, beta: 6, plaquette: 0.9124549149, ratio: 0.9123593044, q2: 0.2792008),
        Row(lt: 16, lx: 16, beta: 4, plaquette: 0.8635226110, ratio: 0.8635226110, q2: 1.9338785),
    ]

    func testReferenceTable() throws {
        for row in table {
            let volume = row.lt * row.lx
            let label = "\(row.lt)x\(row.lx) beta \(row.beta)"
            // The table has 10 decimals: 1e-9 absolute is rounding of the table plus margin.
            XCTAssertEqual(try U1Exact.plaquette(beta: row.beta, volume: volume), row.plaquette, accuracy: 1e-9, label)
            XCTAssertEqual(try U1Exact.plaquetteInfiniteVolume(beta: row.beta), row.ratio, accuracy: 1e-9, label)
            // 7-8 significant digits in the table: 1e-6 relative.
            let result = try U1Exact.topologicalSusceptibility(beta: row.beta, volume: volume)
            XCTAssertEqual(result.q2, row.q2, accuracy: 1e-6 * row.q2, label)
            XCTAssertEqual(result.chi, result.q2 / Double(volume))
            XCTAssertFalse(result.q2.isNaN)
        }
    }

    func testHighPrecisionValues() throws {
        // mpmath at 30 digits (same formulas, independent arithmetic and quadrature). The table
        // above rounds <Q^2> at beta 2 and 6 one unit off in its last digit; these are tighter.
        XCTAssertEqual(try U1Exact.plaquette(beta: 6, volume: 64), 0.9124549148766738, accuracy: 1e-14)
        XCTAssertEqual(try U1Exact.plaquette(beta: 4, volume: 64), 0.8635300425123311, accuracy: 1e-14)
        let q2Beta2 = try U1Exact.topologicalSusceptibility(beta: 2, volume: 64).q2
        let q2Beta6 = try U1Exact.topologicalSusceptibility(beta: 6, volume: 64).q2
        // 1e-12 relative: the quadratures are converged to rounding (~1e-15 observed).
        XCTAssertEqual(q2Beta2, 1.23929891072325894, accuracy: 1e-12 * q2Beta2)
        XCTAssertEqual(q2Beta6, 0.27920084532802260, accuracy: 1e-12 * q2Beta6)
    }

    func testAnalyticLimits() throws {
        // V = 1: the single plaquette angle is identically zero.
        XCTAssertEqual(try U1Exact.plaquette(beta: 2, volume: 1), 1, accuracy: 1e-14)
        // beta -> 0 (beta = 0 itself is refused): uniform plaquette angles, <cos> = I_1/I_0 =
        // beta/2 + O(beta^3) (here 5e-301, below the series' absolute accuracy 1e-16) and
        // <Q^2> = V var(phi/2pi) = V/12 up to O(beta).
        XCTAssertEqual(try U1Exact.plaquette(beta: 1e-300, volume: 16), 5e-301, accuracy: 1e-16)
        XCTAssertEqual(try U1Exact.topologicalSusceptibility(beta: 1e-300, volume: 4).q2, 1.0 / 3.0, accuracy: 1e-13)
        // Large V tends to I1/I0 (the 16x16 row above); 64x64 must agree to 1e-12.
        XCTAssertEqual(try U1Exact.plaquette(beta: 3, volume: 4096), try U1Exact.plaquetteInfiniteVolume(beta: 3), accuracy: 1e-12)
        // No overflow at V = 256, beta = 6 (I_0^V alone would overflow).
        XCTAssertTrue(try U1Exact.topologicalSusceptibility(beta: 6, volume: 256).q2.isFinite)
    }

    func testSecondThetaDerivativeAgainstFiniteDifference() throws {
        // -d^2/dtheta^2 ln Z at 0 by a central difference of ln(Z(theta)/Z(0)) computed from the
        // theta-dependent integrals themselves (a separate code path from the p^2 integrands).
        // Truncation error kappa_4 h^2 / 12 ~ 1e-8 and rounding ~ 1e-16 / h^2 ~ 1e-10 for h = 1e-3,
        // so 1e-6 relative is a comfortable bound.
        let h = 1e-3
        for (beta, volume) in [(1.0, 4), (6.0, 64), (2.0, 9)] {
            let plus = try U1Exact.logPartitionRatio(theta: h, beta: beta, volume: volume)
            let minus = try U1Exact.logPartitionRatio(theta: -h, beta: beta, volume: volume)
            let finiteDifference = -(plus + minus) / (h * h)
            let analytic = try U1Exact.topologicalSusceptibility(beta: beta, volume: volume).q2
            XCTAssertEqual(finiteDifference, analytic, accuracy: 1e-6 * analytic, "beta \(beta) V \(volume)")
            XCTAssertEqual(try U1Exact.logPartitionRatio(theta: 0, beta: beta, volume: volume), 0, accuracy: 1e-15)
        }
    }

    // MARK: Gaussian mixture

    private func seedMixture() throws -> MixtureExact {
        let sigma = [[0.1, 0.0], [0.0, 0.1]]
        return try MixtureExact(weights: [0.5, 0.5], means: [[-2, 0], [2, 0]], covariances: [sigma, sigma])
    }

    func testSeedMixtureMoments() throws {
        let mixture = try seedMixture()
        XCTAssertEqual(mixture.mean[0], 0, accuracy: 1e-15)
        XCTAssertEqual(mixture.mean[1], 0, accuracy: 1e-15)
        let second = mixture.secondMoment
        XCTAssertEqual(second[0][0], 4.1, accuracy: 1e-14)
        XCTAssertEqual(second[1][1], 0.1, accuracy: 1e-15)
        XCTAssertEqual(second[0][1], 0, accuracy: 1e-15)
        XCTAssertEqual(mixture.covariance[0][0], 4.1, accuracy: 1e-14)
        XCTAssertEqual(mixture.weights, [0.5, 0.5])
    }

    func testEnergyValuesAndGradientAgainstFiniteDifferences() throws {
        // A standard normal in 3D at its mean: U = 3/2 log(2 pi).
        let identity = [[1.0, 0, 0], [0, 1, 0], [0, 0, 1]]
        let standard = try MixtureExact(weights: [2], means: [[0, 0, 0]], covariances: [identity])
        XCTAssertEqual(standard.energy([0, 0, 0]), 1.5 * log(2 * Double.pi), accuracy: 1e-14)
        XCTAssertEqual(standard.energy([1, 2, 0]), 1.5 * log(2 * Double.pi) + 2.5, accuracy: 1e-14)

        let correlated = try MixtureExact(
            weights: [0.3, 0.7], means: [[1, -1], [-0.5, 0.5]],
            covariances: [[[1, 0.95], [0.95, 1]], [[0.5, -0.1], [-0.1, 0.2]]])
        for mixture in [try seedMixture(), correlated] {
            for point in [[0.1, 0.2], [1.9, -0.3], [-2.2, 0.05], [0.0, 0.0], [3.0, 1.0]] {
                let gradient = mixture.energyGradient(point)
                for i in 0..<2 {
                    // Central differences, h = 1e-5: truncation h^2 U''' / 6 and rounding
                    // eps |U| / h are both ~1e-10, well below 1e-7 of the gradient scale.
                    let h = 1e-5
                    var up = point, down = point
                    up[i] += h
                    down[i] -= h
                    let numeric = (mixture.energy(up) - mixture.energy(down)) / (2 * h)
                    let scale = max(abs(gradient[i]), 1)
                    XCTAssertEqual(gradient[i], numeric, accuracy: 1e-7 * scale, "point \(point) component \(i)")
                }
            }
        }
        // Far from both modes the energy stays finite (log-sum-exp).
        XCTAssertTrue(try seedMixture().energy([100, 100]).isFinite)
    }

    func testMixtureRejectsInvalidInput() {
        XCTAssertThrowsError(try MixtureExact(weights: [1], means: [[0, 0]], covariances: [[[1, 2], [2, 1]]])) {
            XCTAssertEqual($0 as? MixtureExact.InvalidInput, .notPositiveDefinite(component: 0))
        }
        XCTAssertThrowsError(try MixtureExact(weights: [-1], means: [[0]], covariances: [[[1]]]))
        XCTAssertThrowsError(try MixtureExact(weights: [1], means: [[0, 0]], covariances: [[[1, 0.5], [0, 1]]]))
        XCTAssertThrowsError(try MixtureExact(weights: [], means: [], covariances: []))
    }
}
