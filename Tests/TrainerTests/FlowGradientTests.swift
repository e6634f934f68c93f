import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// The flow's reverse mode against central finite differences: dL/d(weights), dL/dz and the
/// FT-HMC force dS~/dz.
///
/// Tolerances: a central difference with step h has truncation error (h^2/6) |L'''| and
/// rounding error ~ eps |L| / h. The test losses are O(10) with O(1)-O(10) third derivatives;
/// h = 1e-5 gives truncation ~ 1e-10 to 1e-9 and rounding ~ 2e-16 * 10 / 1e-5 = 2e-10. The
/// comparisons allow 1e-6 (absolute) + 1e-6 (relative): a missing term or a wrong sign is
/// O(0.01)-O(1) on these weights.
final class FlowGradientTests: XCTestCase {
    static let h = 1e-5

    static func assertClose(_ analytic: Double, _ numeric: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(analytic, numeric, accuracy: 1e-6 + 1e-6 * abs(numeric), what, file: file, line: line)
    }

    /// Every kernel and bias of a 3-layer flow (two entries of each tensor, its first and a
    /// middle one, plus 40 random ones) with 3 chains on 4x4, for every activation.
    func testWeightGradientMatchesFiniteDifferences() throws {
        for activation in [Activation.leakyRelu, .swish, .tanh] {
            let flow = FlowFixtures.flow(layers: 3, hidden: [5, 4], nMix: 2, activation: activation, seed: 17)
            let lattice = try FlowLattice(lt: 4, lx: 4, kernelSize: 3)
            let z = FlowFixtures.uniformState(3, 32, seed: 4)
            let loss = FlowFixtures.PeriodicLoss(rows: 3, n: 32, seed: 8)
            let f = flow.forward(z, lattice: lattice)
            var grads = [Double](repeating: 0, count: flow.params.values.count)
            _ = flow.backward(f.tape, gx: loss.gx(f.x), gLogDet: loss.d, lattice: lattice, grads: &grads)
            var indices: [Int] = []
            for s in flow.params.slices { indices += [s.offset, s.offset + s.count / 2] }
            var rng = SplitMix64(seed: 99)
            indices += (0..<40).map { _ in Int(rng.next() % UInt64(flow.params.values.count)) }
            var worst = 0.0
            for p in indices {
                var fp = flow, fm = flow
                fp.params.values[p] += Self.h; fm.params.values[p] -= Self.h
                let a = fp.forward(z, lattice: lattice), b = fm.forward(z, lattice: lattice)
                let numeric = (loss.value(a.x, a.logDet) - loss.value(b.x, b.logDet)) / (2 * Self.h)
                worst = max(worst, abs(grads[p] - numeric))
                Self.assertClose(grads[p], numeric, "\(activation) parameter \(p)")
            }
            print("flow weight gradient (\(activation)): largest |analytic - FD| = \(worst) over \(indices.count) parameters")
        }
    }

    /// dL/dz for every link of 2 chains (3 layers, 4x4): through the plaquettes, the mixture
    /// and the networks' cos/sin inputs.
    func testStateGradientMatchesFiniteDifferences() throws {
        let flow = FlowFixtures.flow(layers: 3, hidden: [5, 4], nMix: 3, activation: .leakyRelu, seed: 23)
        let lattice = try FlowLattice(lt: 4, lx: 4, kernelSize: 3)
        let z = FlowFixtures.uniformState(2, 32, seed: 6)
        let loss = FlowFixtures.PeriodicLoss(rows: 2, n: 32, seed: 12)
        let f = flow.forward(z, lattice: lattice)
        var grads = [Double](repeating: 0, count: flow.params.values.count)
        let gz = flow.backward(f.tape, gx: loss.gx(f.x), gLogDet: loss.d, lattice: lattice, grads: &grads)
        var worst = 0.0
        for i in 0..<z.data.count {
            var zp = z, zm = z
            zp.data[i] += Self.h; zm.data[i] -= Self.h
            let a = flow.forward(zp, lattice: lattice), b = flow.forward(zm, lattice: lattice)
            let numeric = (loss.value(a.x, a.logDet) - loss.value(b.x, b.logDet)) / (2 * Self.h)
            worst = max(worst, abs(gz.data[i] - numeric))
            Self.assertClose(gz.data[i], numeric, "z[\(i)]")
        }
        print("flow state gradient: largest |analytic - FD| = \(worst) over \(z.data.count) links")
    }

    /// The FT-HMC force dS~/dz, S~ = beta sum (1 - cos P(f(z))) - log|det J_f(z)|, on 4x4 with 4
    /// layers (every link active in some layer... of both directions) at beta 1.5.
    func testFTHMCForceMatchesFiniteDifferences() throws {
        let flow = FlowFixtures.flow(layers: 4, hidden: [6, 6], nMix: 2, activation: .leakyRelu, seed: 31)
        let lattice = try FlowLattice(lt: 4, lx: 4, kernelSize: 3)
        let action = FlowGaugeAction(beta: 1.5, lattice: lattice)
        let z = FlowFixtures.uniformState(2, 32, seed: 14)
        let force = flow.force(z, action: action)
        var worst = 0.0, largest = 0.0
        for i in 0..<z.data.count {
            var zp = z, zm = z
            zp.data[i] += Self.h; zm.data[i] -= Self.h
            let r = i / 32
            let numeric = (flow.actionTilde(zp, action: action)[r] - flow.actionTilde(zm, action: action)[r]) / (2 * Self.h)
            // The other chain's S~ does not depend on this link.
            XCTAssertEqual(flow.actionTilde(zp, action: action)[1 - r], flow.actionTilde(z, action: action)[1 - r])
            worst = max(worst, abs(force.data[i] - numeric)); largest = max(largest, abs(numeric))
            Self.assertClose(force.data[i], numeric, "force[\(i)]")
        }
        XCTAssertGreaterThan(largest, 0.1, "the force is not trivially small")
        print("FT-HMC force: largest |analytic - FD| = \(worst), largest |force| = \(largest)")
    }
}
