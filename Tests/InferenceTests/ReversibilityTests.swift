import Foundation
import XCTest
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

    /// The numerical Jacobian of (x, v) -> (x', v') on a 2x2 lattice (16 variables): its
    /// log|det| equals the accumulated log-det. Central differences with h = 1e-6 give each entry
    /// to ~1e-9; the determinant of a well-conditioned 16x16 matrix then agrees to ~1e-7.
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
                let h = 1e-6
                var jac = [Double](repeating: 0, count: 4 * n * n)
                for j in 0..<(2 * n) {
                    var xp = x, vp = v, xm = x, vm = v
                    if j < n { xp[j] += h; xm[j] -= h } else { vp[j - n] += h; vm[j - n] -= h }
                    let up = dyn.run(x: xp, v: vp, rows: 1, forward: forward), down = dyn.run(x: xm, v: vm, rows: 1, forward: forward)
                    for i in 0..<n {
                        let dx = compact ? Angles.wrap(up.x[i] - down.x[i]) : up.x[i] - down.x[i]
                        jac[i * 2 * n + j] = dx / (2 * h)
                        jac[(n + i) * 2 * n + j] = (up.v[i] - down.v[i]) / (2 * h)
                    }
                }
                let logDet = logAbsDeterminant(jac, size: 2 * n)
                XCTAssertEqual(logDet, base.logDet[0], accuracy: 1e-6, "\(label), forward \(forward)")
                XCTAssertGreaterThan(abs(base.logDet[0]), 1e-3, "\(label): the log-det must be non-trivial for the test to mean something")
            }
        }
    }

    /// log|det A| by Gaussian elimination with partial pivoting (independent of LAPACK).
    private func logAbsDeterminant(_ a: [Double], size m: Int) -> Double {
        var a = a
        var sum = 0.0
        for c in 0..<m {
            let p = (c..<m).max { abs(a[$0 * m + c]) < abs(a[$1 * m + c]) }!
            if p != c { for k in 0..<m { a.swapAt(c * m + k, p * m + k) } }
            let pivot = a[c * m + c]
            sum += log(abs(pivot))
            for r in (c + 1)..<m {
                let f = a[r * m + c] / pivot
                if f != 0 { for k in c..<m { a[r * m + k] -= f * a[c * m + k] } }
            }
        }
        return sum
    }
}
