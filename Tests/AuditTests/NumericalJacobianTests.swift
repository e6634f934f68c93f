import Foundation
import XCTest
import Audit

/// The one numerical Jacobian against maps whose Jacobian determinant is known in closed form.
final class NumericalJacobianTests: XCTestCase {
    /// [[0, 2], [3, 1]] needs a row swap: det = -6, log|det| = log 6 (to rounding, 1e-15).
    func testLogAbsDeterminantPivotsAndIgnoresTheSign() {
        XCTAssertEqual(NumericalJacobian.logAbsDeterminant([0, 2, 3, 1], size: 2), log(6), accuracy: 1e-15)
        XCTAssertEqual(NumericalJacobian.logAbsDeterminant([2, 0, 0, 0.5], size: 2), 0, accuracy: 1e-15)
        XCTAssertEqual(NumericalJacobian.logAbsDeterminant([1, 2, 2, 4], size: 2), -.infinity, "a singular matrix")
    }

    /// A linear map x' = x + a v, v' = e^s v + b x on n = 3: the Jacobian [[I, aI], [bI, e^s I]]
    /// has det (e^s - a b)^3. Central differences are exact for a linear map up to rounding of
    /// ~1e-16 / h = 1e-10 per entry, so log|det| agrees to 1e-8.
    func testLinearMapGivesItsExactLogDeterminant() {
        let a = 0.3, b = -0.2, s = 0.4
        let x = [0.1, -0.5, 1.2], v = [0.7, 0.2, -1.1]
        let logDet = NumericalJacobian.logAbsDeterminant(x: x, v: v, step: 1e-6, angles: false) { x, v in
            (zip(x, v).map { $0 + a * $1 }, zip(x, v).map { exp(s) * $1 + b * $0 })
        }
        XCTAssertEqual(logDet, 3 * log(exp(s) - a * b), accuracy: 1e-8)
    }

    /// An angle map x' = wrap(x + c) that moves every link across the branch cut at pi: with
    /// angle-aware differences its Jacobian is the identity (log|det| 0); without, the wrapped
    /// differences are +-2 pi / 2h and the determinant is wildly wrong.
    func testAngleDifferencesAcrossTheBranchCutAreWrapped() {
        let x = [Double.pi - 1e-7, -Double.pi + 1e-7], v = [0.3, -0.4]
        func wrap(_ a: Double) -> Double { a - 2 * .pi * (a / (2 * .pi)).rounded() }
        let map: ([Double], [Double]) -> (x: [Double], v: [Double]) = { x, v in (x.map { wrap($0) }, v) }
        XCTAssertEqual(NumericalJacobian.logAbsDeterminant(x: x, v: v, step: 1e-6, angles: true, map), 0, accuracy: 1e-8)
        XCTAssertGreaterThan(abs(NumericalJacobian.logAbsDeterminant(x: x, v: v, step: 1e-6, angles: false, map)), 1,
                             "the control: without wrapping the branch cut shows")
    }
}
