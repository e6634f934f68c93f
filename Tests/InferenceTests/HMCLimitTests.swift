import Foundation
import XCTest
import ModelFormat
@testable import Inference

final class HMCLimitTests: XCTestCase {
    /// Neal's HMC example (Neal 2011, "MCMC using Hamiltonian dynamics"): 2D Gaussian with covariance [[1, .95], [.95, 1]], eps
    /// 0.25, 25 steps from x0 = (-1.50, -1.55), v0 = (-1, 1) -> x = (0.60913, 0.08819), acceptance
    /// 0.66295. The reference values are given to 5 digits, so the tolerance is 1e-4.
    func testNealTrajectory() {
        let target = MixtureAction(mixture: GaussianMixture(dimension: 2, weights: [1], means: [[0, 0]], covariances: [[[1, 0.95], [0.95, 1]]]))
        let leapfrog = LeapfrogDynamics(target: target, stepSize: 0.25, stepCount: 25, capacity: 1)
        let x = Buffer([-1.5, -1.55]), v = Buffer([-1, 1])
        let h0 = hamiltonian(target, x, v)
        leapfrog.integrate(x: x.pointer, v: v.pointer, rows: 1)
        XCTAssertEqual(x[0], 0.60913, accuracy: 1e-4)
        XCTAssertEqual(x[1], 0.08819, accuracy: 1e-4)
        XCTAssertEqual(min(1, exp(h0 - hamiltonian(target, x, v))), 0.66295, accuracy: 1e-4)
    }

    /// With all six net weights zero and equal step sizes, the generalized leapfrog is the plain
    /// leapfrog: same x and v to rounding (1e-13 on O(1) values after a few steps) and log-det 0.
    func testZeroNetWeightsReproduceLeapfrog() throws {
        for (label, spec) in [("u1 ncp", Fixtures.u1Sampler(layout: .perStep, xNets: 2)), ("u1 linear", Fixtures.u1Sampler(xUpdate: .linear)),
                              ("mixture", Fixtures.mixtureSampler())] {
            var s = spec
            s.dynamics.epsVParametrization = .raw
            s.dynamics.epsXParametrization = .raw
            let dyn = try Fixtures.dynamics(s, eps: 0.15)
            try dyn.setNetWeights(.all(0))
            let n = s.stateSize, rows = 4
            let compact = dyn.target.isCompact
            let x0 = compact ? Fixtures.angles(rows * n, seed: 3) : Fixtures.normals(rows * n, seed: 3)
            let v0 = Fixtures.normals(rows * n, seed: 4)
            let l2 = dyn.run(x: x0, v: v0, rows: rows, forward: true)
            let leapfrog = LeapfrogDynamics(target: dyn.target, stepSize: 0.15, stepCount: s.dynamics.nLF, capacity: rows)
            let x = Buffer(x0), v = Buffer(v0)
            leapfrog.integrate(x: x.pointer, v: v.pointer, rows: rows)
            XCTAssertLessThanOrEqual(Fixtures.maxDifference(l2.x, x.array, compact: compact), 1e-13, label)
            XCTAssertLessThanOrEqual(Fixtures.maxDifference(l2.v, v.array, compact: false), 1e-13, label)
            // NCP with S = 0 contributes log(cos^2 + sin^2) = 0 up to rounding (~1e-16 per link).
            XCTAssertLessThanOrEqual(l2.logDet.map(abs).max()!, 1e-13, label)
            // Control: with the weights on, the trajectories differ (the comparison can fail).
            var on = dyn.spec.netWeights
            if dyn.spec.dynamics.xUpdate == .linear && compact { on.xScale = 0 }
            try dyn.setNetWeights(on)
            XCTAssertGreaterThan(Fixtures.maxDifference(dyn.run(x: x0, v: v0, rows: rows, forward: true).x, x.array, compact: compact), 1e-6, label)
        }
    }

    func testLinearXScaleIsRefusedOnTheCircle() throws {
        let dyn = try Fixtures.dynamics(Fixtures.u1Sampler(xUpdate: .linear))
        var w = NetWeights.all(1)
        XCTAssertThrowsError(try dyn.setNetWeights(w)) { error in
            XCTAssertEqual((error as? InferenceError)?.code, "run.linear_x_scale")
            XCTAssertTrue("\(error)".contains("not a bijection"), "\(error)")
        }
        w.xScale = 0
        XCTAssertNoThrow(try dyn.setNetWeights(w))
        // On R^n the linear form with a scale is fine.
        XCTAssertNoThrow(try Fixtures.dynamics(Fixtures.mixtureSampler()).setNetWeights(.all(1)))
    }

    /// Leapfrog backward (direction -1) inverts forward on the circle and in R^n.
    func testLeapfrogIsReversible() {
        let target = U1Action(lattice: U1Lattice(lt: 3, lx: 3, beta: 3))
        let n = target.stateSize
        let x0 = Fixtures.angles(2 * n, seed: 8), v0 = Fixtures.normals(2 * n, seed: 9, scale: 2)
        let leapfrog = LeapfrogDynamics(target: target, stepSize: 0.2, stepCount: 10, capacity: 2)
        let x = Buffer(x0), v = Buffer(v0)
        leapfrog.integrate(x: x.pointer, v: v.pointer, rows: 2)
        leapfrog.integrate(x: x.pointer, v: v.pointer, rows: 2, direction: -1)
        XCTAssertLessThanOrEqual(Fixtures.maxDifference(x.array, x0, compact: true), 1e-12)
        XCTAssertLessThanOrEqual(Fixtures.maxDifference(v.array, v0, compact: false), 1e-12)
    }

    private func hamiltonian(_ target: TargetAction, _ x: Buffer, _ v: Buffer) -> Double {
        var u = 0.0
        target.action(x.pointer, rows: 1, into: &u)
        return u + 0.5 * (0..<v.count).reduce(0) { $0 + v[$1] * v[$1] }
    }
}
