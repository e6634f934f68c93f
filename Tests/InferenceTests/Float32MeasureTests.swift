import Foundation
import XCTest
import Audit
import ModelFormat
@testable import Inference

final class Float32MeasureTests: XCTestCase {
    func testMeasure() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for file in ["default.l2z", "gmm2-trained.l2z"] {
            let model = try L2ZReader.read(path: root.appendingPathComponent("fixtures/\(file)").path).model
            let target = makeTarget(model.sampler.target)
            guard let probe = model.probe else { continue }
            let d64 = try L2HMCDynamics(model: model, target: target, capacity: probe.batch)
            let d32 = try L2HMCDynamics(model: model, target: target, capacity: probe.batch)
            d32.setPrecision(.float32)
            for net in probe.networks {
                let b = probe.batch, n = model.sampler.stateSize
                let tau = model.sampler.network.timeInput ? try model.doubles(ProbeArrayNames.inT(net)) : nil
                let inX = try model.doubles(ProbeArrayNames.inX(net)), inV = try model.doubles(ProbeArrayNames.inV(net))
                let w = inX.count / b
                for r in 0..<b {
                    let a = try d64.evaluateNetwork(net, xIn: Array(inX[(r*w)..<((r+1)*w)]), vIn: Array(inV[(r*n)..<((r+1)*n)]), tau: tau.map { [$0[2*r], $0[2*r+1]] }, rows: 1)
                    let c = try d32.evaluateNetwork(net, xIn: Array(inX[(r*w)..<((r+1)*w)]), vIn: Array(inV[(r*n)..<((r+1)*n)]), tau: tau.map { [$0[2*r], $0[2*r+1]] }, rows: 1)
                    for (name, x, y) in [("S", a.s, c.s), ("T", a.t, c.t), ("Q", a.q, c.q)] {
                        let e = zip(x, y).map { abs($0 - $1) }.max()!, m = x.map(abs).max()!
                        print("MEASURE \(file) \(net) row \(r) \(name): max|d| \(e) max|out| \(m)")
                    }
                }
            }
            if probe.trajectory {
                let n = model.sampler.stateSize
                let x0 = try model.doubles(ProbeArrayNames.Trajectory.x0), v0 = try model.doubles(ProbeArrayNames.Trajectory.v0)
                for r in 0..<probe.batch {
                    let xs = Array(x0[(r*n)..<((r+1)*n)]), vs = Array(v0[(r*n)..<((r+1)*n)])
                    let a = d64.run(x: xs, v: vs, rows: 1, forward: true), c = d32.run(x: xs, v: vs, rows: 1, forward: true)
                    print("MEASURE \(file) traj row \(r): dx \(Fixtures.maxDifference(a.x, c.x, compact: target.isCompact)) dv \(Fixtures.maxDifference(a.v, c.v, compact: false)) dld \(abs(a.logDet[0]-c.logDet[0])) max|v| \(a.v.map(abs).max()!)")
                }
            }
        }
    }
}
