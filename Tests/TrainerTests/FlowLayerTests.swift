import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// The trainer's flow forward pass: masks on a hand-worked 4x4 lattice, the identity at zero
/// weights, the forward against the contract written out with explicit loops, and log|det J|
/// against a numerical Jacobian.
final class FlowLayerTests: XCTestCase {
    /// 4x4, links (mu lt + t) lx + x. Worked by hand from the rule (mu = i mod 2,
    /// off = floor(i/2) mod 4; the perpendicular coordinate is x for mu = 0, t for mu = 1):
    /// layer 0 (mu 0, off 0): active links z0(t, 0) = 0, 4, 8, 12; active plaquettes x = 0, frozen x = 1, 2, passive x = 3.
    /// layer 1 (mu 1, off 0): active links z1(0, x) = 16..19; active plaquettes t = 0, frozen t = 1, 2, passive t = 3.
    /// layer 2 (mu 0, off 1): active links z0(t, 1) = 1, 5, 9, 13; frozen x = 2, 3, passive x = 0.
    /// layer 3 (mu 1, off 1): active links z1(1, x) = 20..23; frozen t = 2, 3, passive t = 0.
    /// layer 7 (mu 1, off 3): active links z1(3, x) = 28..31; frozen t = 0, 1, passive t = 2.
    func testMasksOnAHandWorkedFourByFourLattice() throws {
        let lattice = try FlowLattice(lt: 4, lx: 4, kernelSize: 3)
        let expected: [Int: (links: [Int], frozen: [Int], passive: [Int], mu: Int)] = [
            0: ([0, 4, 8, 12], [1, 2], [3], 0), 1: ([16, 17, 18, 19], [1, 2], [3], 1), 2: ([1, 5, 9, 13], [2, 3], [0], 0),
            3: ([20, 21, 22, 23], [2, 3], [0], 1), 7: ([28, 29, 30, 31], [0, 1], [2], 1),
        ]
        let flow = FlowFixtures.flow(layers: 8, seed: 3)
        let z = FlowFixtures.uniformState(2, 32, seed: 11)
        for (i, e) in expected.sorted(by: { $0.key < $1.key }) {
            let mask = lattice.mask(layer: i)
            XCTAssertEqual(mask.activeLinks, e.links, "layer \(i)")
            // coordinate perpendicular to mu of each site s = t * 4 + x
            func perp(_ s: Int) -> Int { e.mu == 0 ? s % 4 : s / 4 }
            XCTAssertEqual((0..<16).filter { mask.frozen[$0] }, (0..<16).filter { e.frozen.contains(perp($0)) }, "layer \(i)")
            var out = z, logDet = [0.0, 0.0]
            _ = flow.forwardLayer(i, &out, logDet: &logDet, lattice: lattice)
            let before = lattice.plaquettes(z), after = lattice.plaquettes(out)
            for r in 0..<2 {
                for l in 0..<32 {
                    let moved = FlowFixtures.circleDifference(out[r, l], z[r, l]) != 0
                    XCTAssertEqual(moved, e.links.contains(l), "layer \(i) chain \(r) link \(l)")
                }
                for s in 0..<16 {
                    let change = FlowFixtures.circleDifference(after[r * 16 + s], before[r * 16 + s])
                    if e.frozen.contains(perp(s)) {
                        // Frozen plaquettes are bit-for-bit the same sum of the same (untouched) links.
                        XCTAssertEqual(after[r * 16 + s], before[r * 16 + s], "layer \(i) frozen site \(s)")
                    } else {
                        // Active and passive plaquettes move (the weights are large), by +delta and -delta.
                        XCTAssertGreaterThan(abs(change), 1e-6, "layer \(i) site \(s)")
                    }
                }
                // The passive plaquette behind each active one changes by minus the active one's change.
                for s in 0..<16 where perp(s) == (i / 2) % 4 {
                    let behind = e.mu == 0 ? (s / 4) * 4 + (s % 4 + 3) % 4 : ((s / 4 + 3) % 4) * 4 + s % 4
                    let da = FlowFixtures.circleDifference(after[r * 16 + s], before[r * 16 + s])
                    let dp = FlowFixtures.circleDifference(after[r * 16 + behind], before[r * 16 + behind])
                    XCTAssertEqual(da, -dp, accuracy: 1e-12, "layer \(i) site \(s)")  // four-term sums of O(pi) angles: ~1e-15 rounding
                }
            }
        }
    }

    func testLatticesNotDivisibleByFourAreRefused() {
        XCTAssertThrowsError(try FlowLattice(lt: 6, lx: 8, kernelSize: 3))
        XCTAssertThrowsError(try FlowLattice(lt: 8, lx: 10, kernelSize: 3))
    }

    /// All weights zero: s = 0, t = 0, so g_k(theta) = 2 atan2(sin(theta/2), cos(theta/2)) = theta,
    /// P' = theta, delta = 0 and J_k = 1/(cos^2 + sin^2) = 1: x = z and logdet = 0 up to the
    /// rounding of atan2 and cos^2 + sin^2 (a few ulp of pi per layer; 16 layers stay below 1e-13).
    func testZeroWeightsGiveTheIdentity() throws {
        var flow = FlowFixtures.flow(layers: 16, hidden: [8, 8])
        for i in 0..<flow.params.values.count { flow.params.values[i] = 0 }
        let lattice = try FlowLattice(lt: 8, lx: 8, kernelSize: 3)
        let z = FlowFixtures.uniformState(3, 128, seed: 5)
        let f = flow.forward(z, lattice: lattice)
        for i in 0..<z.data.count { XCTAssertEqual(FlowFixtures.circleDifference(f.x.data[i], z.data[i]), 0, accuracy: 1e-13) }
        for l in f.logDet { XCTAssertEqual(l, 0, accuracy: 1e-13) }
    }

    /// The batched forward against the contract's loops (different mixture formula, no im2col):
    /// both compute the same sums in a different order, so they agree to rounding (1e-12 on
    /// O(1)-O(10) values after 6 layers).
    func testForwardMatchesTheContractWrittenOut() throws {
        for activation in [Activation.leakyRelu, .swish, .tanh, .relu] {
            let flow = FlowFixtures.flow(layers: 6, hidden: [5, 4], nMix: 3, activation: activation, seed: 21)
            let lattice = try FlowLattice(lt: 4, lx: 8, kernelSize: 3)
            let z = FlowFixtures.uniformState(3, 64, seed: 9)
            let f = flow.forward(z, lattice: lattice)
            for r in 0..<3 {
                let ref = FlowFixtures.reference(flow, z: Array(z.data[(r * 64)..<((r + 1) * 64)]), lt: 4, lx: 8)
                for i in 0..<64 { XCTAssertEqual(FlowFixtures.circleDifference(f.x[r, i], ref.x[i]), 0, accuracy: 1e-12, "\(activation) x[\(r), \(i)]") }
                XCTAssertEqual(f.logDet[r], ref.logDet, accuracy: 1e-12, "\(activation) logdet \(r)")
                XCTAssertGreaterThan(abs(f.logDet[r]), 1, "the weights are large enough to matter")
            }
        }
    }

    /// log|det J_f| against log|det| of the central-difference Jacobian (32 x 32) on 4x4 with 3
    /// layers. Each entry has truncation error h^2/6 |f'''| ~ 1e-11 (h = 1e-5, |f'''| = O(1)-O(10))
    /// and rounding ~ eps pi / h ~ 3e-11; the log-determinant sums these over 32 pivots relative
    /// to O(1) entries, so 1e-7 is generous while a wrong sign or a missing term is O(1).
    func testLogDetMatchesTheNumericalJacobian() throws {
        let flow = FlowFixtures.flow(layers: 3, hidden: [6, 5], activation: .swish, seed: 13, scale: 3)
        let lattice = try FlowLattice(lt: 4, lx: 4, kernelSize: 3)
        let n = 32, h = 1e-5
        for seed: UInt64 in [1, 2] {
            let z = FlowFixtures.uniformState(1, n, seed: seed)
            let logDet = flow.forward(z, lattice: lattice).logDet[0]
            var jac = [Double](repeating: 0, count: n * n)
            for j in 0..<n {
                var zp = z, zm = z
                zp.data[j] += h; zm.data[j] -= h
                let xp = flow.forward(zp, lattice: lattice).x, xm = flow.forward(zm, lattice: lattice).x
                for i in 0..<n { jac[i * n + j] = FlowFixtures.circleDifference(xp.data[i], xm.data[i]) / (2 * h) }
            }
            let numeric = FlowFixtures.logAbsDet(jac, n: n)
            XCTAssertGreaterThan(abs(logDet), 1, "the weights are large enough to matter")
            XCTAssertEqual(logDet, numeric, accuracy: 1e-7, "seed \(seed)")
            print("flow logdet \(logDet) numerical \(numeric) difference \(logDet - numeric)")
        }
    }
}
