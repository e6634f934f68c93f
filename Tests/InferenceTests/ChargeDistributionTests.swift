import Foundation
import XCTest
@testable import Inference

/// The exact distribution of Q_int against two independent facts: it sums to 1, and its second
/// moment is <Q^2> from the theta-derivative formula of `topologicalSusceptibility`.
final class ChargeDistributionTests: XCTestCase {
    func testNormalizedAndSecondMomentMatchesTheSusceptibility() throws {
        for (beta, volume, qMax) in [(1.0, 16, 12), (2.0, 16, 10), (4.0, 64, 14), (6.0, 36, 8)] {
            let p = try U1Exact.chargeDistribution(beta: beta, volume: volume, maxCharge: qMax)
            let total = p[0] + 2 * p.dropFirst().reduce(0, +)
            let second = 2 * p.enumerated().dropFirst().reduce(0) { $0 + Double($1.offset * $1.offset) * $1.element }
            let exact = try U1Exact.topologicalSusceptibility(beta: beta, volume: volume).q2
            // Tolerance 1e-10: both are quadratures at rounding level (1e-15) of sums of O(1)
            // terms; the truncation at qMax drops P(Q) below 1e-13 for these choices.
            XCTAssertEqual(total, 1, accuracy: 1e-10, "beta \(beta) V \(volume)")
            XCTAssertEqual(second, exact, accuracy: 1e-10 * max(1, exact), "beta \(beta) V \(volume)")
            XCTAssertTrue(p.allSatisfy { $0 > -1e-15 }, "a probability")
            XCTAssertLessThan(p.last ?? 1, 1e-12, "the tail beyond qMax is negligible")
        }
    }

    func testInvalidInputIsCoded() {
        XCTAssertThrowsError(try U1Exact.chargeDistribution(beta: 0, volume: 4, maxCharge: 2))
        XCTAssertThrowsError(try U1Exact.chargeDistribution(beta: 1, volume: 0, maxCharge: 2))
    }
}
