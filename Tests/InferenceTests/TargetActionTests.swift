import Foundation
import XCTest
import ModelFormat
@testable import Inference

final class TargetActionTests: XCTestCase {
    /// Central differences with h = 1e-5 have truncation error ~ h^2 |S'''| / 6 ~ 1e-10 beta and
    /// rounding error ~ eps |S| / h ~ 1e-10 for these sizes: 1e-7 absolute is a safe bound that a
    /// wrong sign or index (errors of order beta) cannot meet.
    func testU1ForceMatchesFiniteDifferencesForBothLayouts() {
        for layout in LinkLayout.allCases {
            let action = U1Action(lattice: U1Lattice(lt: 3, lx: 4, beta: 1.7, linkLayout: layout))
            let n = action.stateSize
            var x = Fixtures.angles(n, seed: 5)
            var force = [Double](repeating: 0, count: n)
            x.withUnsafeBufferPointer { xp in force.withUnsafeMutableBufferPointer { action.force(xp.baseAddress!, rows: 1, into: $0.baseAddress!) } }
            let h = 1e-5
            for i in 0..<n {
                let keep = x[i]
                x[i] = keep + h; let up = energy(action, x)
                x[i] = keep - h; let down = energy(action, x)
                x[i] = keep
                XCTAssertEqual(force[i], (up - down) / (2 * h), accuracy: 1e-7, "layout \(layout.rawValue), link \(i)")
            }
        }
    }

    func testU1ObservablesOnKnownConfigurations() {
        let lattice = U1Lattice(lt: 4, lx: 4, beta: 1)
        let action = U1Action(lattice: lattice)
        // Cold start: every plaquette 0, cos 1, Q 0.
        let cold = [Double](repeating: 0, count: action.stateSize)
        let o = cold.withUnsafeBufferPointer { action.observables($0.baseAddress!, rows: 1) }
        XCTAssertEqual(o.plaquette[0], 1); XCTAssertEqual(o.qInt[0], 0); XCTAssertEqual(o.qSin[0], 0)
        // A configuration with one unit of charge: x_1(t, x) = 2 pi t x / V... built as the
        // standard instanton: x_0(t, x) = -2 pi x / V on t = Lt - 1 and x_1(t, x) = 2 pi t / V.
        // Every plaquette angle is then 2 pi / V (one wraps by -2 pi), so Q_int = 1.
        var inst = cold
        let lt = 4, lx = 4
        let a = 2 * Double.pi / Double(lt * lx)
        for t in 0..<lt {
            for xx in 0..<lx {
                let i1 = lattice.linkLayout.index(t: t, x: xx, mu: 1, lt: lt, lx: lx)
                inst[i1] = Angles.wrap(a * Double(t))
                if t == lt - 1 {
                    let i0 = lattice.linkLayout.index(t: t, x: xx, mu: 0, lt: lt, lx: lx)
                    inst[i0] = Angles.wrap(-a * Double(lt * xx))
                }
            }
        }
        let q = inst.withUnsafeBufferPointer { action.observables($0.baseAddress!, rows: 1) }
        XCTAssertEqual(abs(q.qInt[0]), 1, "one instanton")
        XCTAssertEqual(q.plaquette[0], cos(a), accuracy: 1e-12)
    }

    func testMixtureForceMatchesFiniteDifferences() {
        let cov1 = [[0.3, 0.1], [0.1, 0.2]], cov2 = [[0.5, -0.2], [-0.2, 0.4]]
        let action = MixtureAction(mixture: GaussianMixture(dimension: 2, weights: [0.3, 0.7], means: [[-1, 0.5], [1, -0.2]], covariances: [cov1, cov2]))
        for seed in 0..<5 as Range<UInt64> {
            var x = Fixtures.normals(2, seed: seed)
            var f = [0.0, 0.0]
            x.withUnsafeBufferPointer { xp in f.withUnsafeMutableBufferPointer { action.force(xp.baseAddress!, rows: 1, into: $0.baseAddress!) } }
            let h = 1e-6
            for i in 0..<2 {
                let keep = x[i]
                x[i] = keep + h; let up = energy(action, x)
                x[i] = keep - h; let down = energy(action, x)
                x[i] = keep
                XCTAssertEqual(f[i], (up - down) / (2 * h), accuracy: 1e-6 * max(1, abs(f[i])), "seed \(seed) coordinate \(i)")
            }
        }
        // Energy of a single Gaussian against the closed form.
        let single = MixtureAction(mixture: GaussianMixture(dimension: 2, weights: [1], means: [[0, 0]], covariances: [[[1, 0], [0, 4]]]))
        let u = energy(single, [1, 2])
        // U = x^T Sigma^-1 x / 2 + log(2 pi) + log(det Sigma) / 2 with x^T Sigma^-1 x = 1 + 4/4 = 2.
        let twoPi: Double = 2 * Double.pi
        let expected: Double = 1.0 + log(twoPi) + 0.5 * log(4.0)
        XCTAssertEqual(u, expected, accuracy: 1e-13)
    }

    private func energy(_ action: TargetAction, _ x: [Double]) -> Double {
        var u = 0.0
        x.withUnsafeBufferPointer { action.action($0.baseAddress!, rows: 1, into: &u) }
        return u
    }
}
