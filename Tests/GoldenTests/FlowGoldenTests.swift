import Foundation
import XCTest
import Audit
import Inference
import ModelFormat
import Trainer

/// The golden comparison of the two independent flow implementations: the trainer's
/// (``TrainerFlowRecompute``, its own forward and reverse pass) and the runtime's (``FlowMap``)
/// give the same x, log|det df/dz| and FT-HMC force dS~/dz within
/// ``AuditTolerances/flowRecomputation``, for every activation, mixture size and depth, at the
/// trained lattice and a transferred one; and a wrong activation on one side is caught.
final class FlowGoldenTests: XCTestCase {
    func compare(_ model: L2ZModel, lattice: U1Lattice, rows: Int = 3, seed: UInt64) throws -> (x: Double, logDet: Double, force: Double) {
        let flow = try FlowMap(model: model, lattice: lattice, capacity: rows)
        let n = flow.stateSize
        var rng = SplitMix64(seed: seed)
        let z = (0..<(rows * n)).map { _ in 2 * .pi * rng.uniform() - .pi }
        let reference = try TrainerFlowRecompute.run(model: model, z: z, rows: rows, lt: lattice.lt, lx: lattice.lx, beta: lattice.beta)
        var x = [Double](repeating: 0, count: rows * n), ld = [Double](repeating: 0, count: rows), force = x, action = ld
        flow.forward(z: z, rows: rows, x: &x, logDet: &ld)
        flow.tildeAction(z: z, rows: rows, force: &force, action: &action)
        let refForce = try XCTUnwrap(reference.force)
        var worst = (x: 0.0, logDet: 0.0, force: 0.0)
        for i in 0..<(rows * n) {
            worst.x = max(worst.x, abs(Angles.wrap(x[i] - reference.x[i])))
            worst.force = max(worst.force, abs(force[i] - refForce[i]) / max(1, abs(refForce[i])))
        }
        for r in 0..<rows { worst.logDet = max(worst.logDet, abs(ld[r] - reference.logDet[r]) / max(1, abs(reference.logDet[r]))) }
        return worst
    }

    func testTrainerAndRuntimeFlowsAgree() throws {
        let bound = AuditTolerances.flowRecomputation.bound
        var seen = 0.0
        for (i, (activation, nMix, hidden, layers)) in [(Activation.leakyRelu, 2, [8, 8], 8), (.swish, 3, [4], 6), (.tanh, 1, [], 4), (.relu, 2, [5, 3], 5)].enumerated() {
            let spec = FlowSpec(target: U1Lattice(lt: 4, lx: 8, beta: 2.5, linkLayout: .muTX),
                                coupling: FlowCoupling(layers: layers, nMix: nMix, kernelSize: 3, hiddenChannels: hidden, activation: activation, angleConvention: .minusPiToPi),
                                hmc: FlowHMCSettings(stepSize: 0.1, nLF: 4))
            let model = try RandomModel.make(flow: spec, seed: UInt64(40 + i), weightScale: 2.5)
            for lattice in [spec.target, U1Lattice(lt: 8, lx: 12, beta: 2.5, linkLayout: .muTX)] {
                let d = try compare(model, lattice: lattice, seed: UInt64(7 + i))
                XCTAssertLessThan(d.x, bound, "\(activation) \(lattice.lt)x\(lattice.lx) x")
                XCTAssertLessThan(d.logDet, bound, "\(activation) \(lattice.lt)x\(lattice.lx) log-det")
                XCTAssertLessThan(d.force, bound, "\(activation) \(lattice.lt)x\(lattice.lx) force")
                seen = max(seen, d.x, d.logDet, d.force)
            }
        }
        print("flow golden: largest trainer-vs-runtime deviation \(seen) (bound \(bound))")
    }

    /// The same weights read with another activation by the runtime: the comparison must fail
    /// by far more than the bound (the check can fail).
    func testAWrongActivationIsCaught() throws {
        let spec = FlowSpec(target: U1Lattice(lt: 4, lx: 4, beta: 2, linkLayout: .muTX),
                            coupling: FlowCoupling(layers: 4, nMix: 2, kernelSize: 3, hiddenChannels: [4], activation: .leakyRelu, angleConvention: .minusPiToPi),
                            hmc: FlowHMCSettings(stepSize: 0.1, nLF: 4))
        let model = try RandomModel.make(flow: spec, seed: 9, weightScale: 2.5)
        var other = spec
        other.coupling.activation = .swish
        let flow = try FlowMap(model: L2ZModel(spec: .flow(other), arrays: model.arrays, provenance: model.provenance), capacity: 2)
        var rng = SplitMix64(seed: 3)
        let z = (0..<64).map { _ in 2 * .pi * rng.uniform() - .pi }
        let reference = try TrainerFlowRecompute.run(model: model, z: z, rows: 2, lt: 4, lx: 4, beta: 2)
        var x = [Double](repeating: 0, count: 64), ld = [0.0, 0.0]
        flow.forward(z: z, rows: 2, x: &x, logDet: &ld)
        XCTAssertGreaterThan(zip(x, reference.x).map { abs(Angles.wrap($0 - $1)) }.max() ?? 0, 1e4 * AuditTolerances.flowRecomputation.bound)
    }
}
