import Foundation
import XCTest
@testable import Inference

final class AnglesTests: XCTestCase {
    func testWrapStaysInHalfOpenIntervalIncludingRoundingCorners() {
        let pi = Double.pi
        let cases: [Double] = [pi, -pi, pi.nextDown, pi.nextUp, (-pi).nextUp, (-pi).nextDown, 3 * pi, -3 * pi, 1e-300, -1e-300,
                               -pi - 4e-16, 2 * pi, -2 * pi, 1e6, -1e6, (-3 * pi).nextDown, (3 * pi).nextUp]
        for x in cases {
            let w = Angles.wrap(x)
            XCTAssertTrue(w >= -pi && w < pi, "wrap(\(x)) = \(w) is outside [-pi, pi)")
            // Same point on the circle: sin and cos agree to rounding of the 2 pi k shift.
            XCTAssertEqual(cos(w), cos(x), accuracy: 1e-9 * max(1, abs(x) / 1e6 * 1e3))
        }
        // Interior values are untouched.
        for x in [-3.0, -1.0, 0.0, 0.5, 3.1] { XCTAssertEqual(Angles.wrap(x), x) }
    }

    /// The projected scaling and its inverse round-trip to a few ulp everywhere on [-pi, pi),
    /// including at and next to +-pi where tan(x/2) has its pole.
    func testProjectionRoundTripsAtAndNearTheBranchCut() {
        let pi = Double.pi
        var xs: [Double] = [-pi, (-pi).nextUp, pi.nextDown, pi.nextDown.nextDown, 0, 1e-12, -1e-12, 3.14159, -3.14159]
        xs += (0..<200).map { -pi + 2 * pi * Double($0) / 200 }
        for logA in [-2.0, -0.3, 0, 1e-9, 0.11, 1.5] {
            for x in xs {
                let y = Angles.projectedScale(x, logA: logA)
                XCTAssertTrue(y >= -pi && y <= pi, "projection leaves [-pi, pi]")
                let back = Angles.projectedScale(y, logA: -logA)
                XCTAssertLessThanOrEqual(abs(Angles.wrap(back - x)), 1e-14, "x \(x) logA \(logA) -> \(y) -> \(back)")
            }
        }
    }

    /// log|dy/dx| of the projection against a central difference away from the cut.
    func testProjectionLogJacobianMatchesFiniteDifferences() {
        for logA in [-0.7, 0.2, 1.1] {
            for x in stride(from: -3.0, through: 3.0, by: 0.25) {
                let h = 1e-6
                let d = (Angles.projectedScale(x + h, logA: logA) - Angles.projectedScale(x - h, logA: logA)) / (2 * h)
                // Truncation ~ h^2 y''' ~ 1e-12 times the curvature (large for |logA| ~ 1): 1e-7 relative.
                XCTAssertEqual(Angles.projectedScaleLogJacobian(x, logA: logA), log(d), accuracy: 1e-7, "x \(x) logA \(logA)")
            }
        }
    }

    /// The upstream defect (upstream.md item 3): x = 1.0, s = 0.3, shift 0.2 must come back to 1.0.
    func testUpstreamCounterexampleInvertsExactly() {
        let forward = Angles.wrap(Angles.projectedScale(1.0, logA: 0.3) + 0.2)
        let back = Angles.projectedScale(Angles.wrap(forward - 0.2), logA: -0.3)
        XCTAssertEqual(back, 1.0, accuracy: 1e-15)
    }
}
