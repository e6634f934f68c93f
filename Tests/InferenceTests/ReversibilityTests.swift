import Foundation
import XCTest
import Audit
import ModelFormat
@testable import Inference

final class ReversibilityTests: XCTestCase {
    /// Every layout the format can express, both T signs, both directions: backward(forward(x, v))
    /// returns (x, v) to 1e-12 (angle-aware) and the log-dets cancel to 1e-12. The states use
    /// large momenta so that many links cross the branch cut during the trajectory.
    func testForwardThenBackwardReturnsTheStartForEveryLayout() throws {
        var specs: [(String, SamplerSpec)] = []
        for layout in NetworkLayout.allCases {
            for xNets in [1, 2] {
                for sign in TranslationSign.allCases {
                    specs.append(("\(layout) xnets \(xNets) sign \(sign)", Fixtures.u1Sampler(layout: layout, xNets: xNets, sign: sign)))
                }
            }
        }
        specs += [
            ("interleaved after", Fixtures.u1Sampler(xInput: .cosSinInterleaved, placement: .afterTrig)),
            ("raw x input", Fixtures.u1Sampler(xInput: .raw)),
            ("cos/sin v input", Fixtures.u1Sampler(vInput: .cosSinBlocks)),
            ("no time", Fixtures.u1Sampler(time: false)),
            ("linear x update", Fixtures.u1Sampler(xUpdate: .linear)),
            ("tanh batch norm", Fixtures.u1Sampler(activation: .tanh, batchNorm: true)),
            ("swish mu_t_x", Fixtures.u1Sampler(activation: .swish, linkLayout: .muTX)),
            ("mixture per step", Fixtures.mixtureSampler()),
            ("mixture shared", Fixtures.mixtureSampler(layout: .shared, xNets: 1, time: false)),
        ]
        for (label, spec) in specs {
            let dyn = try Fixtures.dynamics(spec, eps: 0.3)
            try assertReversible(dyn, label: label)
        }
    }

    /// The numerical Jacobian of (x, v) -> (x', v') on a 2x2 lattice (16 variables), by Audit's
    /// ``NumericalJacobian`` (the one crossval uses): its log|det| equals the accumulated log-det.
    /// Central differences with h = 1e-6 give each entry to ~1e-9; the determinant of a
    /// well-conditioned 16x16 matrix then agrees to ~1e-7.
    func testNumericalJacobianMatchesAccumulatedLogDet() throws {
        for (label, spec) in [("ncp per step", Fixtures.u1Sampler(lt: 2, lx: 2, nLF: 2, layout: .perStep, xNets: 2)),
                              ("linear", Fixtures.u1Sampler(lt: 2, lx: 2, nLF: 2, xUpdate: .linear)),
                              ("mixture", Fixtures.mixtureSampler(nLF: 2))] {
            let dyn = try Fixtures.dynamics(spec, eps: 0.3)
            let n = spec.stateSize
            let compact = dyn.target.isCompact
            for forward in [true, false] {
                let x = compact ? Fixtures.angles(n, seed: 21).map { $0 * 0.8 } : Fixtures.normals(n, seed: 21)
                let v = Fixtures.normals(n, seed: 22)
                let base = dyn.run(x: x, v: v, rows: 1, forward: forward)
                let logDet = NumericalJacobian.logAbsDeterminant(x: x, v: v, step: 1e-6, angles: compact) { xs, vs in
                    let r = dyn.run(x: xs, v: vs, rows: 1, forward: forward)
                    return (r.x, r.v)
                }
                XCTAssertEqual(logDet, base.logDet[0], accuracy: 1e-6, "\(label), forward \(forward)")
                XCTAssertGreaterThan(abs(base.logDet[0]), 1e-3, "\(label): the log-det must be non-trivial for the test to mean something")
            }
        }
    }
}
