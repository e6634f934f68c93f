import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// Whole L2HMC trajectories and the training loss with local networks on a 4x4 lattice:
/// reverse-mode gradients (parameters, and the start's positions and momenta) against central
/// finite differences, and reversibility.
final class LocalTrajectoryTests: XCTestCase {
    static let specs: [(String, SamplerShape)] = [
        ("shared, 1 x-net", SamplerShape()),
        ("per-step, 2 x-nets, minus, swish, no time", SamplerShape(layout: .perStep, xNets: 2, time: false, activation: .swish, sign: .minus)),
        ("muTX leaky_relu k1", SamplerShape(kernel: 1, activation: .leakyRelu, linkLayout: .muTX)),
    ]

    struct SamplerShape {
        var layout: NetworkLayout = .shared
        var xNets = 1
        var kernel = 3
        var time = true
        var activation: Activation = .tanh
        var sign: TranslationSign = .plus
        var linkLayout: LinkLayout = .tXMu
        func spec(lt: Int = 4, lx: Int = 4) -> SamplerSpec {
            TrainerFixtures.local(lt: lt, lx: lx, nLF: 2, layout: layout, xNets: xNets, kernel: kernel, channels: [3, 2], time: time,
                                  activation: activation, sign: sign, linkLayout: linkLayout)
        }
    }

    /// L = sum a sin(x') + sum b v' + sum c logdet (sin keeps it smooth across the branch cut)
    /// through the whole trajectory, both directions. Central differences with h = 1e-6 are
    /// accurate to ~1e-9 here; 1e-6 relative (+1e-8 absolute) separates a correct gradient from
    /// any missing or wrong term (O(1e-2) or larger). Every parameter array (up to three
    /// entries) and every coordinate of x and v at the start.
    func testTrajectoryGradientsOfParametersAndStartMatchFiniteDifferences() throws {
        for (label, shape) in Self.specs {
            let spec = shape.spec()
            let model = try TrainerFixtures.localModel(spec, noise: 0.2)
            let dyn = model.dynamics()
            let rows = 2, n = spec.stateSize
            let x0 = TrainerFixtures.angles(rows, n, seed: 7), v0 = TrainerFixtures.normals(rows, n, seed: 8)
            let a = TrainerFixtures.normals(rows, n, seed: 9), b = TrainerFixtures.normals(rows, n, seed: 10)
            let c = [0.7, -0.4]
            for forward in [true, false] {
                func loss(_ x: Matrix, _ v: Matrix, _ p: ParameterStore) -> Double {
                    let r = dyn.run(x0: x, v0: v, forward: forward, params: p, scale: 1.3, weights: spec.netWeights)
                    var l = 0.0
                    for i in 0..<r.x.data.count { l += a.data[i] * sin(r.x.data[i]) + b.data[i] * r.v.data[i] }
                    for i in 0..<rows { l += c[i] * r.logDet[i] }
                    return l
                }
                let result = dyn.run(x0: x0, v0: v0, forward: forward, params: model.params, scale: 1.3, weights: spec.netWeights)
                var gx = Matrix(zeros: rows, n)
                for i in 0..<gx.data.count { gx.data[i] = a.data[i] * cos(result.x.data[i]) }
                var grads = [Double](repeating: 0, count: model.params.values.count)
                let start = dyn.backpropagate(result, gx: gx, gv: b, gLogDet: c, params: model.params, scale: 1.3, grads: &grads)
                let h = 1e-6, what = "\(label) \(forward ? "forward" : "backward")"
                func check(_ analytic: Double, _ up: Double, _ down: Double, _ name: String) {
                    let fd = (up - down) / (2 * h)
                    XCTAssertEqual(analytic, fd, accuracy: 1e-8 + 1e-6 * abs(fd), "\(what): \(name)")
                }
                for slice in model.params.slices {
                    for j in 0..<min(3, slice.count) {
                        let i = slice.offset + (j * 7919) % slice.count
                        var p = model.params
                        p.values[i] += h; let up = loss(x0, v0, p)
                        p.values[i] -= 2 * h; let down = loss(x0, v0, p)
                        check(grads[i], up, down, "\(slice.name)[\(i - slice.offset)]")
                    }
                }
                for i in 0..<(rows * n) {
                    var xp = x0, xm = x0
                    xp.data[i] += h; xm.data[i] -= h
                    check(start.x.data[i], loss(xp, v0, model.params), loss(xm, v0, model.params), "dx0[\(i)]")
                    var vp = v0, vm = v0
                    vp.data[i] += h; vm.data[i] -= h
                    check(start.v.data[i], loss(x0, vp, model.params), loss(x0, vm, model.params), "dv0[\(i)]")
                }
                XCTAssertTrue(grads.contains { abs($0) > 1e-3 }, "\(what): gradients must be non-trivial")
            }
        }
    }

    /// The full training loss (ESJD, plaquette and charge terms, the auxiliary batch, both
    /// directions) of a local model on 4x4 against central differences of every parameter
    /// array. The loss has 1/(delta A) terms (scale ~1e2 here): 1e-5 relative is the FD accuracy.
    func testTrainingLossGradientMatchesFiniteDifferences() throws {
        var config = TrainingConfig()
        config.lattice = [4, 4]; config.networkKind = .local; config.channels = [3, 2]; config.nLF = 2; config.chains = 4
        config.activation = .tanh; config.layout = .perStep; config.xNetworksPerStep = 2; config.epsInit = 0.3
        config.loss.plaquetteWeight = 0.7; config.loss.chargeWeight = 0.3; config.loss.auxWeight = 0.5; config.loss.acceptanceWeight = 0.4; config.loss.lambda = 1.5
        let trainer = try L2HMCTrainer(config: config)
        var rng = SplitMix64(seed: 3)
        for i in 0..<trainer.model.params.values.count { trainer.model.params.values[i] += 0.2 * rng.normal() }
        let c = config.chains, n = trainer.model.spec.stateSize
        let x0 = TrainerFixtures.angles(c, n, seed: 4), v0 = TrainerFixtures.normals(c, n, seed: 5)
        let xq = TrainerFixtures.angles(c, n, seed: 6), vq = TrainerFixtures.normals(c, n, seed: 7)
        let fp = [true, false, true, false], fq = [false, false, true, true]
        let scale = 1.7
        func total(_ grads: inout [Double]) -> Double {
            let (e, _) = trainer.lossAndGradient(x0: x0, v0: v0, forward: fp, scale: scale, weight: 1 / Double(c), grads: &grads)
            let (eq, _) = trainer.lossAndGradient(x0: xq, v0: vq, forward: fq, scale: scale, weight: config.loss.auxWeight / Double(c), grads: &grads)
            return e.loss.reduce(0, +) / Double(c) + config.loss.auxWeight * eq.loss.reduce(0, +) / Double(c)
        }
        var grads = [Double](repeating: 0, count: trainer.model.params.values.count)
        _ = total(&grads)
        var checked = 0
        for slice in trainer.model.params.slices {
            for k in 0..<min(2, slice.count) {
                let i = slice.offset + (k * 7919) % slice.count
                let keep = trainer.model.params.values[i]
                var scratch = grads
                let h = 1e-6
                trainer.model.params.values[i] = keep + h; let up = total(&scratch)
                trainer.model.params.values[i] = keep - h; let down = total(&scratch)
                trainer.model.params.values[i] = keep
                let fd = (up - down) / (2 * h)
                XCTAssertEqual(grads[i], fd, accuracy: 1e-7 + 1e-5 * abs(fd), "\(slice.name)[\(i - slice.offset)]")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 40)
        XCTAssertTrue(grads.contains { abs($0) > 1e-3 })
    }

    /// Forward then backward (the inverse sub-updates in reverse order) returns to the start and
    /// the log-dets cancel, on 4x4 and on odd, non-square lattices. Each sub-update's inverse is
    /// exact up to rounding and angle wrapping (~1e-15 per step); 1e-12 leaves room for 8
    /// sub-updates per step and catches any non-invertible update.
    func testLocalTrajectoriesAreReversible() throws {
        for (label, shape) in Self.specs {
            for (lt, lx) in [(4, 4), (3, 5)] {
                let spec = shape.spec(lt: lt, lx: lx)
                let model = try TrainerFixtures.localModel(spec, noise: 0.3)
                let dyn = model.dynamics(), rows = 3, n = spec.stateSize
                let x0 = TrainerFixtures.angles(rows, n, seed: 21), v0 = TrainerFixtures.normals(rows, n, seed: 22)
                for forward in [true, false] {
                    let there = dyn.run(x0: x0, v0: v0, forward: forward, params: model.params, scale: 2, weights: spec.netWeights)
                    let back = dyn.run(x0: there.x, v0: there.v, forward: !forward, params: model.params, scale: 2, weights: spec.netWeights)
                    let what = "\(label) \(lt)x\(lx) \(forward ? "forward" : "backward")"
                    for i in 0..<(rows * n) {
                        XCTAssertEqual(wrapAngle(back.x.data[i] - x0.data[i]), 0, accuracy: 1e-12, "\(what): x[\(i)]")
                        XCTAssertEqual(back.v.data[i], v0.data[i], accuracy: 1e-12, "\(what): v[\(i)]")
                    }
                    for r in 0..<rows { XCTAssertEqual(there.logDet[r] + back.logDet[r], 0, accuracy: 1e-12, "\(what): log-det") }
                    XCTAssertTrue(there.logDet.contains { abs($0) > 1e-3 }, "\(what): the networks act")
                }
            }
        }
    }

    /// The x1 sub-update changes exactly the links its mask moves, x2 the others, at every step.
    func testXSubUpdatesMoveComplementaryLinks() throws {
        let spec = TrainerFixtures.local(lt: 3, lx: 5, nLF: 3, xNets: 2)
        let model = try TrainerFixtures.localModel(spec)
        let dyn = model.dynamics(), rows = 2, n = spec.stateSize
        let r = dyn.run(x0: TrainerFixtures.angles(rows, n, seed: 1), v0: TrainerFixtures.normals(rows, n, seed: 2), forward: true,
                        params: model.params, scale: 2, weights: spec.netWeights)
        var previous = PhaseSpace(x: TrainerFixtures.angles(rows, n, seed: 1), v: TrainerFixtures.normals(rows, n, seed: 2))
        for entry in r.tape {
            if !entry.stage.updatesMomenta {
                let m = model.masks[entry.step]
                for row in 0..<rows {
                    for i in 0..<n {
                        let moves = (entry.stage == .x1) == (m[i] == 1)
                        XCTAssertEqual(entry.after.x[row, i] != previous.x[row, i], moves, "step \(entry.step) \(entry.stage) link \(i)")
                    }
                }
            }
            previous = entry.after
        }
    }
}
