import Foundation
import XCTest
import CounterRandom
import ModelFormat
@testable import Trainer

/// The trainer's targets own their physics: each piece against an exact value or finite
/// differences of another piece (never against itself).
///
/// Central differences with h = 1e-5 on energies of O(10): truncation ~h^2 |U'''| ~ 1e-9,
/// rounding ~1e-15/h = 1e-10; 1e-6 is far below any wrong sign, factor or index (O(1e-1)).
final class TrainingTargetTests: XCTestCase {
    static let tolerance = 1e-6

    static var targets: [(String, TrainingTarget)] {
        [("u1 3x2", makeTrainingTarget(.u1(U1Lattice(lt: 3, lx: 2, beta: 1.7)))),
         ("mixture", makeTrainingTarget(TrainerFixtures.mixture().target))]
    }

    func testForceHessianAndJumpGradientMatchFiniteDifferences() {
        let h = 1e-5, scale = 1.3
        for (label, target) in Self.targets {
            let n = target.stateSize
            let x = TrainerFixtures.normals(1, n, seed: 41), w = TrainerFixtures.normals(1, n, seed: 42)
            let x1 = TrainerFixtures.normals(1, n, seed: 43)
            let f = target.force(x, scale: scale)
            let hw = target.hessianTimes(w, at: x, scale: scale)
            var jump = Matrix(zeros: 1, n)
            target.addJumpGradient(from: x, to: x1, row: 0, times: 0.7, into: &jump)
            for i in 0..<n {
                var up = x, down = x
                up.data[i] += h; down.data[i] -= h
                let dU = (target.energy(up, scale: scale)[0] - target.energy(down, scale: scale)[0]) / (2 * h)
                XCTAssertEqual(f.data[i], dU, accuracy: Self.tolerance, "\(label): F[\(i)] = dU/dx")
                var xp = x, xm = x
                for j in 0..<n { xp.data[j] += h * w.data[j]; xm.data[j] -= h * w.data[j] }
                let dF = (target.force(xp, scale: scale).data[i] - target.force(xm, scale: scale).data[i]) / (2 * h)
                XCTAssertEqual(hw.data[i], dF, accuracy: Self.tolerance, "\(label): (H w)[\(i)] = dF/dx . w")
                var yp = x1, ym = x1
                yp.data[i] += h; ym.data[i] -= h
                let dDelta = (target.jumpDistance(from: x, to: yp, row: 0) - target.jumpDistance(from: x, to: ym, row: 0)) / (2 * h)
                XCTAssertEqual(jump.data[i], 0.7 * dDelta, accuracy: Self.tolerance, "\(label): d delta / dx'[\(i)]")
            }
            XCTAssertEqual(target.jumpDistance(from: x, to: x, row: 0), 0, "\(label): no jump, no distance")
        }
    }

    /// K = |v|^2 / 2 per row (exact for these integers); momenta are n standard normals of each
    /// global chain's own counter-based stream (recomputed here from CounterRandom with the
    /// documented counter layout: word 1 the chain, word 2 the step, word 3 the purpose).
    func testKineticEnergyAndMomentumRefresh() {
        let random = TrainerRandom(seed: 9), generator = CounterRandom(seed: 9)
        for (label, target) in Self.targets {
            let n = target.stateSize
            var v = Matrix(zeros: 2, n)
            v.data[0] = 3; v.data[1] = 4; v.data[n] = -2
            XCTAssertEqual(target.kineticEnergy(v), [12.5, 2], label)
            let p = target.refreshMomenta(random, step: 7, chains: 5..<8, .momentum)
            XCTAssertEqual(p.rows, 3); XCTAssertEqual(p.cols, n)
            for (row, chain) in (5..<8).enumerated() {
                var z = [Double](repeating: 0, count: n)
                generator.normals(CounterRandom.Stream(UInt32(chain), 7, TrainerRandom.Purpose.momentum.rawValue), count: n, into: &z)
                XCTAssertEqual(Array(p.data[(row * n)..<((row + 1) * n)]), z, "\(label): chain \(chain)")
            }
            // A chain's numbers do not depend on the rows drawn with it.
            XCTAssertEqual(Array(target.refreshMomenta(random, step: 7, chains: 6..<7, .momentum).data), Array(p.data[n..<(2 * n)]), label)
        }
    }

    /// Initialization: uniform angles 2 pi u - pi for U(1), N(0, I) for mixtures, from each
    /// chain's stream; steps above 2^32 use word 3's high byte.
    func testInitialDistributions() {
        let random = TrainerRandom(seed: 5), generator = CounterRandom(seed: 5)
        let u1 = makeTrainingTarget(.u1(U1Lattice(lt: 2, lx: 2, beta: 1)))
        let x = u1.drawInitial(random, step: 0, chains: 0..<50, .initialState)
        for chain in [0, 49] {
            var u = [Double](repeating: 0, count: 8)
            generator.uniforms(CounterRandom.Stream(UInt32(chain), 0, TrainerRandom.Purpose.initialState.rawValue), count: 8, into: &u)
            XCTAssertEqual(Array(x.data[(chain * 8)..<((chain + 1) * 8)]), u.map { 2 * .pi * $0 - .pi })
        }
        XCTAssertTrue(x.data.allSatisfy { $0 > -.pi && $0 < .pi })
        let mixture = makeTrainingTarget(TrainerFixtures.mixture().target)
        let step = (3 << 32) + 11
        var z = [Double](repeating: 0, count: 2)
        generator.normals(CounterRandom.Stream(2, 11, TrainerRandom.Purpose.auxState.rawValue | 3 << 8), count: 2, into: &z)
        XCTAssertEqual(mixture.drawInitial(random, step: step, chains: 2..<3, .auxState).data, z)
    }

    /// Tunneling: the number of chains whose nearest mode changed (mixture; counted by hand),
    /// and no charge change for an unchanged U(1) configuration.
    func testTunnelingMeasures() {
        let mixture = makeTrainingTarget(TrainerFixtures.mixture().target)  // means (-1, 0), (1, 0.3)
        let before = Matrix(rows: 4, cols: 2, data: [-1, 0, 1, 0.3, -0.9, 0.1, 2, 0])
        let after = Matrix(rows: 4, cols: 2, data: [1, 0.3, 1, 0.2, 0.8, 0.1, 2, 1])
        XCTAssertEqual(mixture.tunnelingSum(before: before, after: after), 2)
        let u1 = makeTrainingTarget(.u1(U1Lattice(lt: 2, lx: 2, beta: 1)))
        let x = TrainerFixtures.normals(3, 8, seed: 6, scale: 2)
        XCTAssertEqual(u1.tunnelingSum(before: x, after: x), 0)
        XCTAssertNil(mixture.lossTerms(from: before, to: after, settings: LossSettings()))
        XCTAssertNotNil(u1.lossTerms(from: x, to: x, settings: LossSettings()))
    }
}

extension TrainingTargetTests {
    /// The public Hamiltonian of the recomputation: U from the target plus |v|^2 / 2, here with v
    /// chosen so K is exact (3-4-5: K = 12.5) and U = 0 at the zero configuration of U(1).
    func testRecomputeHamiltonian() throws {
        let model = try TrainerFixtures.model(TrainerFixtures.u1())
        var v = [Double](repeating: 0, count: 16)
        v[0] = 3; v[1] = 4; v[8] = 1
        let h = TrainerRecompute.hamiltonian(model, x: [Double](repeating: 0, count: 16), v: v, rows: 2, scale: 2)
        XCTAssertEqual(h, [12.5, 0.5])
    }
}
