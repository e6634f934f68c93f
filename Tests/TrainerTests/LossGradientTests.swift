import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// The full training loss (every term, both batches, both directions) against central finite
/// differences of every parameter group.
final class LossGradientTests: XCTestCase {
    func testLossGradientForEveryTermAndTarget() throws {
        var u1 = TrainingConfig()
        u1.lattice = [2, 3]; u1.nLF = 2; u1.hiddenUnits = [6]; u1.chains = 4; u1.activation = .tanh; u1.layout = .perStep
        u1.loss.plaquetteWeight = 0.7; u1.loss.chargeWeight = 0.3; u1.loss.auxWeight = 0.5; u1.loss.acceptanceWeight = 0.4; u1.loss.lambda = 1.5
        u1.epsInit = 0.3
        var gmm = TrainingConfig()
        gmm.target = .gmm; gmm.mixtureMeans = [[-0.5, 0], [0.5, 0]]; gmm.mixtureVariance = 0.3
        gmm.nLF = 2; gmm.hiddenUnits = [5]; gmm.chains = 4; gmm.activation = .tanh; gmm.xNetworksPerStep = 2; gmm.loss.auxWeight = 0.3
        gmm.epsInit = 0.3
        for (label, config) in [("u1 (esjd + plaquette + charge + aux)", u1), ("mixture (esjd + aux)", gmm)] {
            let trainer = try L2HMCTrainer(config: config)
            var rng = SplitMix64(seed: 3)
            for i in 0..<trainer.model.params.values.count { trainer.model.params.values[i] += 0.2 * rng.normal() }
            let c = config.chains, n = trainer.model.spec.stateSize
            let x0 = TrainerFixtures.normals(c, n, seed: 4), v0 = TrainerFixtures.normals(c, n, seed: 5)
            let xq = TrainerFixtures.normals(c, n, seed: 6), vq = TrainerFixtures.normals(c, n, seed: 7)
            let fp = [true, false, true, false], fq = [false, false, true, true]
            let scale = 1.7
            func total(_ t: L2HMCTrainer, grads: inout [Double]) -> Double {
                let (e, _) = t.lossAndGradient(x0: x0, v0: v0, forward: fp, scale: scale, weight: 1 / Double(c), grads: &grads)
                let (eq, _) = t.lossAndGradient(x0: xq, v0: vq, forward: fq, scale: scale, weight: config.loss.auxWeight / Double(c), grads: &grads)
                return e.loss.reduce(0, +) / Double(c) + config.loss.auxWeight * eq.loss.reduce(0, +) / Double(c)
            }
            var grads = [Double](repeating: 0, count: trainer.model.params.values.count)
            _ = total(trainer, grads: &grads)
            var checked = 0
            for slice in trainer.model.params.slices {
                for k in 0..<min(2, slice.count) {
                    let i = slice.offset + (k * 7919) % slice.count
                    let keep = trainer.model.params.values[i]
                    var scratch = grads
                    let h = 1e-6
                    trainer.model.params.values[i] = keep + h; let up = total(trainer, grads: &scratch)
                    trainer.model.params.values[i] = keep - h; let down = total(trainer, grads: &scratch)
                    trainer.model.params.values[i] = keep
                    let fd = (up - down) / (2 * h)
                    // The loss has 1/(delta A) terms (scale ~1e2 here): 1e-5 relative is the FD accuracy.
                    XCTAssertEqual(grads[i], fd, accuracy: 1e-7 + 1e-5 * abs(fd), "\(label): \(slice.name)[\(i - slice.offset)]")
                    checked += 1
                }
            }
            XCTAssertGreaterThan(checked, 10)
        }
    }
}
