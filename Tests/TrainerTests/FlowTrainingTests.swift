import CounterRandom
import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// Reverse-KL training of the trainer's flow: the ESS estimator on hand-computable weights, the
/// prior draws, the loss gradient against finite differences, a short training run on 4x4 at
/// beta 1, and the cost of one forward + backward at the default size.
final class FlowTrainingTests: XCTestCase {
    func testESSOnHandComputableWeights() {
        XCTAssertEqual(FlowESS.perSample(logWeights: [Double](repeating: -3.7, count: 10)), 1, accuracy: 1e-15)
        // One weight carries everything (the others e^-800 smaller): 1/N.
        XCTAssertEqual(FlowESS.perSample(logWeights: [900, 100, 100, 100]), 0.25, accuracy: 1e-15)
        // w = (1, 3): (1 + 3)^2 / (2 (1 + 9)) = 0.8, at any common scale (log Z cancels), even one
        // that would overflow exp.
        XCTAssertEqual(FlowESS.perSample(logWeights: [0, log(3)]), 0.8, accuracy: 1e-15)
        XCTAssertEqual(FlowESS.perSample(logWeights: [1000, 1000 + log(3)]), 0.8, accuracy: 1e-13)
    }

    /// z = 2 pi u - pi with u the Philox uniforms of (seed, step, chain, purpose 0x18), read
    /// here from CounterRandom directly.
    func testPriorDrawsAreTheCounterBasedUniforms() throws {
        var s = FlowTrainer.Settings()
        s.lt = 4; s.lx = 4; s.seed = 77; s.architecture = FlowArchitecture(layers: 2, hiddenChannels: [2])
        let trainer = try FlowTrainer(settings: s)
        let z = trainer.priorDraws(step: 5, rows: 3)
        let generator = CounterRandom(seed: 77)
        for chain in 0..<3 {
            var u = [Double](repeating: 0, count: 32)
            generator.uniforms(CounterRandom.Stream(UInt32(chain), 5, 0x18), count: 32, into: &u)
            for i in 0..<32 {
                XCTAssertEqual(z[chain, i], 2 * Double.pi * u[i] - Double.pi)
                XCTAssert(z[chain, i] >= -Double.pi && z[chain, i] < Double.pi)
            }
        }
    }

    /// The reverse-KL gradient against central differences of the loss (h = 1e-5; the loss is
    /// O(10) with O(1) third derivatives: truncation ~ 1e-10, rounding ~ 1e-10; allowed 1e-6
    /// absolute + 1e-6 relative).
    func testReverseKLGradientMatchesFiniteDifferences() throws {
        let flow = FlowFixtures.flow(layers: 4, hidden: [5, 4], nMix: 2, activation: .leakyRelu, seed: 41, scale: 1.5)
        let lattice = try FlowLattice(lt: 4, lx: 4, kernelSize: 3)
        let kl = FlowReverseKL(action: FlowGaugeAction(beta: 1.3, lattice: lattice))
        let z = FlowFixtures.uniformState(5, 32, seed: 2)
        var grads: [Double]? = [Double](repeating: 0, count: flow.params.values.count)
        let e = kl.evaluate(flow, z: z, grads: &grads)
        let g = grads ?? []
        // log w = -(per-chain loss), and the loss is their mean.
        XCTAssertEqual(e.loss, e.perChain.reduce(0, +) / 5, accuracy: 1e-12)
        var none: [Double]? = nil
        var rng = SplitMix64(seed: 5)
        var worst = 0.0
        for p in (0..<30).map({ _ in Int(rng.next() % UInt64(flow.params.values.count)) }) {
            var fp = flow, fm = flow
            fp.params.values[p] += 1e-5; fm.params.values[p] -= 1e-5
            let numeric = (kl.evaluate(fp, z: z, grads: &none).loss - kl.evaluate(fm, z: z, grads: &none).loss) / 2e-5
            worst = max(worst, abs(g[p] - numeric))
            XCTAssertEqual(g[p], numeric, accuracy: 1e-6 + 1e-6 * abs(numeric), "parameter \(p)")
        }
        print("reverse-KL gradient: largest |analytic - FD| = \(worst)")
    }

    /// log Z of the 2D U(1) Wilson action S = beta sum (1 - cos P) on a periodic lt x lx
    /// lattice with Lebesgue measure on [-pi, pi)^n (the reverse-KL loss's p): the character
    /// expansion gives Z = (2 pi)^n sum_k (e^{-beta} I_k(beta))^V, V = lt lx, with the modified
    /// Bessel functions I_k by their power series (terms up to |k| = 30, m = 60: the next ones
    /// are below 1e-30 of the sum at beta <= 4).
    static func exactLogZ(beta: Double, lt: Int, lx: Int) -> Double {
        func besselI(_ k: Int, _ x: Double) -> Double {
            var sum = 0.0
            for m in 0..<60 { sum += exp(Double(2 * m + k) * log(x / 2) - lgamma(Double(m + 1)) - lgamma(Double(m + k + 1))) }
            return sum
        }
        let v = Double(lt * lx)
        let terms = (-30...30).map { v * log(exp(-beta) * besselI(abs($0), beta)) }
        let m = terms.max() ?? 0
        return Double(2 * lt * lx) * log(2 * Double.pi) + m + log(terms.reduce(0) { $0 + exp($1 - m) })
    }

    /// 30 Adam steps (lr 1e-2, batch 64, 8 layers, hidden [8, 8], leaky_relu) on 4x4 at beta 1,
    /// evaluated on 256 fresh draws before and after. Measured with seeds 1-4: the loss falls
    /// from -42.6..-43.2 to -46.1..-46.2 (by 3.0 to 3.6) and the ESS rises from 0.05..0.09 to
    /// 0.36..0.55. Asserted for seed 3: a fall of at least 1.5 (half the smallest measured) and
    /// an ESS at least twice the initial one and above 0.2. The reverse KL is >= 0, so the loss
    /// (KL - log Z) stays above -log Z (exact, -46.59 here) up to its batch noise (4 standard errors).
    func testTrainingOnFourByFourLowersTheLossAndRaisesTheESS() throws {
        var s = FlowTrainer.Settings()
        s.lt = 4; s.lx = 4; s.betaInit = 1; s.betaFinal = 1; s.batch = 64; s.steps = 30; s.learningRate = 1e-2; s.seed = 3
        s.architecture = FlowArchitecture(layers: 8, hiddenChannels: [8, 8], kernelSize: 3, nMix: 2, activation: .leakyRelu)
        let trainer = try FlowTrainer(settings: s)
        let before = trainer.evaluate(beta: 1, rows: 256)
        var losses: [Double] = []
        for _ in 0..<30 { losses.append(trainer.trainStep().loss) }
        let after = trainer.evaluate(beta: 1, rows: 256)
        XCTAssertEqual(trainer.step, 30)
        XCTAssertLessThan(after.loss, before.loss - 1.5)
        XCTAssertGreaterThan(after.ess, max(0.2, 2 * before.ess))
        let logZ = Self.exactLogZ(beta: 1, lt: 4, lx: 4)
        XCTAssertEqual(logZ, 46.59, accuracy: 0.01)  // hand estimate: 32 log(2 pi) + 16 log(e^-1 I_0(1)) = 58.81 - 12.22
        var none: [Double]? = nil
        let e = FlowReverseKL(action: FlowGaugeAction(beta: 1, lattice: trainer.lattice))
            .evaluate(trainer.flow, z: trainer.priorDraws(step: (1 << 40) - 1, rows: 256), grads: &none)
        let mean = e.loss, sd = (e.perChain.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 255).squareRoot()
        XCTAssertEqual(mean, after.loss)
        XCTAssertGreaterThan(mean, -logZ - 4 * sd / 16)
        print("flow training 4x4 beta 1: loss \(before.loss) -> \(after.loss) (-log Z = \(-logZ), KL ~ \(after.loss + logZ)), ESS \(before.ess) -> \(after.ess); batch losses \(losses.first ?? 0) -> \(losses.last ?? 0)")
    }

    /// One training step (forward, backward, Adam) at the default size: 8x8, 16 layers, hidden
    /// [8, 8], batch 64. Measured 0.52 s in a debug build (release: see the report); the bound
    /// (5 s) only catches an accidental blow-up of the cost.
    func testDefaultSizeStepCost() throws {
        var s = FlowTrainer.Settings()
        s.lt = 8; s.lx = 8; s.batch = 64
        let trainer = try FlowTrainer(settings: s)
        let start = Date()
        trainer.trainStep()
        let seconds = Date().timeIntervalSince(start)
        XCTAssertLessThan(seconds, 5)
        print("flow training step, 8x8, 16 layers, hidden [8, 8], batch 64: \(seconds) s")
    }
}
