import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// Reverse-mode gradients of the trajectory against central finite differences, for every
/// parameter group, both directions and every layout. The test function is
/// L = sum a sin(x') + sum b v' + sum c logdet (sin keeps it smooth across the branch cut).
/// Central differences with h = 1e-6 are accurate to ~1e-9 here (third derivatives O(10),
/// rounding 1e-16 / h); 1e-6 relative (+1e-8 absolute) separates a correct gradient from any
/// missing or wrong term, which shows up at O(1e-2) or larger.
final class TrajectoryGradientTests: XCTestCase {
    func testEveryParameterGroupInEveryLayoutAndDirection() throws {
        let specs: [(String, SamplerSpec)] = [
            ("u1 shared ncp blocks", TrainerFixtures.u1()),
            ("u1 per-step split interleaved after-trig minus", TrainerFixtures.u1(nLF: 2, layout: .perStep, xNets: 2, xInput: .cosSinInterleaved,
                                                                                   placement: .afterTrig, sign: .minus, activation: .swish)),
            ("u1 raw x input, cos/sin v input, no time, relu", TrainerFixtures.u1(xInput: .raw, vInput: .cosSinBlocks, time: false, activation: .relu)),
            ("u1 linear (x-scale off)", TrainerFixtures.u1(xUpdate: .linear)),
            ("mixture per-step split", TrainerFixtures.mixture()),
            ("mixture shared", TrainerFixtures.mixture(layout: .shared, xNets: 1)),
        ]
        for (label, spec) in specs {
            let model = try TrainerFixtures.model(spec)
            for forward in [true, false] {
                try checkGradients(model, forward: forward, label: "\(label) \(forward ? "forward" : "backward")")
            }
        }
    }

    /// leaky_relu (slope 0.01 below zero; derivative 1 at exactly zero, a measure-zero point the
    /// random inputs never hit): a missing 0.01 or a relu-like zero shows up as an O(1e-3) or
    /// larger gradient error, far above the 1e-6 relative tolerance. The networks' hidden
    /// pre-activations take both signs on inputs of the trajectory's scale (checked), so both
    /// branches carry gradient; the forward equals the definition, z or 0.01 z, exactly.
    func testLeakyReluGradients() throws {
        var mixture = TrainerFixtures.mixture(layout: .shared, xNets: 1)
        mixture.network.activation = .leakyRelu
        mixture.network.hiddenUnits = [6, 5]
        let specs: [(String, SamplerSpec)] = [
            ("u1 per-step split leaky_relu", TrainerFixtures.u1(nLF: 2, layout: .perStep, xNets: 2, activation: .leakyRelu)),
            ("mixture shared leaky_relu", mixture),
        ]
        for (label, spec) in specs {
            let model = try TrainerFixtures.model(spec)
            let dyn = model.dynamics(), n = spec.stateSize
            for net in (dyn.vNets + dyn.xFirst).compactMap(\.dense) {
                let c = net.forward(xIn: TrainerFixtures.normals(3, net.xWidth, seed: 11), vIn: TrainerFixtures.normals(3, n, seed: 12),
                                    tau: spec.network.timeInput ? [0.6, 0.8] : nil, weights: (1, 1, 1), params: model.params)
                for (i, (a, h)) in zip(c.pre, c.post).enumerated() {
                    XCTAssertTrue(a.data.contains { $0 < -1e-3 } && a.data.contains { $0 > 1e-3 }, "\(label) \(net.name) layer \(i): both signs")
                    XCTAssertEqual(h.data, a.data.map { $0 >= 0 ? $0 : 0.01 * $0 }, "\(label) \(net.name) layer \(i): the definition")
                }
            }
            for forward in [true, false] {
                try checkGradients(model, forward: forward, label: "\(label) \(forward ? "forward" : "backward")")
            }
        }
    }

    func checkGradients(_ model: TrainerModel, forward: Bool, label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dyn = model.dynamics()
        let rows = 3, n = model.spec.stateSize
        let x0 = dyn.target.isCompact ? TrainerFixtures.normals(rows, n, seed: 7, scale: 1.2) : TrainerFixtures.normals(rows, n, seed: 7)
        let v0 = TrainerFixtures.normals(rows, n, seed: 8)
        let a = TrainerFixtures.normals(rows, n, seed: 9), b = TrainerFixtures.normals(rows, n, seed: 10)
        let c = [0.7, -0.4, 1.1]
        let weights = model.spec.netWeights
        func loss(_ p: ParameterStore) -> Double {
            let r = dyn.run(x0: x0, v0: v0, forward: forward, params: p, scale: 1.3, weights: weights)
            var l = 0.0
            for i in 0..<r.x.data.count { l += a.data[i] * sin(r.x.data[i]) + b.data[i] * r.v.data[i] }
            for i in 0..<rows { l += c[i] * r.logDet[i] }
            return l
        }
        let result = dyn.run(x0: x0, v0: v0, forward: forward, params: model.params, scale: 1.3, weights: weights)
        var gx = Matrix(zeros: rows, n)
        for i in 0..<gx.data.count { gx.data[i] = a.data[i] * cos(result.x.data[i]) }
        var grads = [Double](repeating: 0, count: model.params.values.count)
        dyn.backpropagate(result, gx: gx, gv: b, gLogDet: c, params: model.params, scale: 1.3, grads: &grads)

        var rng = SplitMix64(seed: 99)
        var checked = 0
        for slice in model.params.slices {
            // Up to three entries of every parameter array.
            for _ in 0..<min(3, slice.count) {
                let i = slice.offset + Int(rng.next() % UInt64(slice.count))
                var p = model.params
                let h = 1e-6
                p.values[i] += h; let up = loss(p)
                p.values[i] -= 2 * h; let down = loss(p)
                let fd = (up - down) / (2 * h)
                XCTAssertEqual(grads[i], fd, accuracy: 1e-8 + 1e-6 * abs(fd), "\(label): \(slice.name)[\(i - slice.offset)]", file: file, line: line)
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 20, file: file, line: line)
        XCTAssertTrue(grads.contains { abs($0) > 1e-3 }, "\(label): gradients must be non-trivial", file: file, line: line)
    }
}
