import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// Each sub-update's backward rule against central finite differences of its own forward rule,
/// one operation at a time (the whole-trajectory test cannot say which rule is wrong).
///
/// Test function of one sub-update: L = sum a sin(x') + sum b v' + sum c logdet. Central
/// differences with h = 1e-6 have truncation error ~h^2 |f'''| ~ 1e-11 and rounding ~1e-16/h =
/// 1e-10 here; 1e-7 (+1e-7 relative) is far below any missing or wrong term (O(1e-2) or more).
final class SubUpdateRuleTests: XCTestCase {
    static let tolerance = 1e-7

    /// The scale maps: dz/dx, dz/ds, dlogJ/dx, dlogJ/ds through the backward rule.
    func testScaleMapBackwardMatchesFiniteDifferences() {
        let h = 1e-6
        for projected in [false, true] {
            for (x, s) in [(0.3, 0.2), (-2.9, -0.7), (1.7, 1.1)] {
                for (gz, gl) in [(1.0, 0.0), (0.0, 1.0), (0.6, -1.3)] {
                    func f(_ x: Double, _ s: Double) -> Double {
                        let m = ScaleMap.forward(x, s, projected: projected)
                        return gz * m.z + gl * m.logJ
                    }
                    let back = ScaleMap.backward(x, s, gz: gz, gLogJ: gl, projected: projected)
                    let label = "\(projected ? "ncp" : "linear") x \(x) s \(s) gz \(gz) gl \(gl)"
                    XCTAssertEqual(back.gx, (f(x + h, s) - f(x - h, s)) / (2 * h), accuracy: Self.tolerance, label)
                    XCTAssertEqual(back.gs, (f(x, s + h) - f(x, s - h)) / (2 * h), accuracy: Self.tolerance, label)
                }
            }
        }
    }

    /// The v half-step and both masked x updates, forward and inverse: gradients of the state
    /// before the sub-update and of the step size.
    func testEverySubUpdateBackwardMatchesFiniteDifferences() throws {
        let specs: [(String, SamplerSpec)] = [
            ("u1 ncp", TrainerFixtures.u1(layout: .perStep, xNets: 2)),
            ("u1 linear", TrainerFixtures.u1(sign: .minus, xUpdate: .linear)),
            ("mixture", TrainerFixtures.mixture()),
        ]
        for (label, spec) in specs {
            let model = try TrainerFixtures.model(spec)
            let dyn = model.dynamics()
            let rows = 2, n = spec.stateSize
            let x0 = TrainerFixtures.normals(rows, n, seed: 21), v0 = TrainerFixtures.normals(rows, n, seed: 22)
            let a = TrainerFixtures.normals(rows, n, seed: 23), b = TrainerFixtures.normals(rows, n, seed: 24)
            let c = [0.8, -0.5]
            for stage in TrajectoryStage.allCases {
                for inverse in [false, true] {
                    let k = 1
                    let epsName = stage.updatesMomenta ? "log_eps_v" : "log_eps_x"
                    func run(_ x: Matrix, _ v: Matrix, _ p: ParameterStore) -> (PhaseSpace, [Double], SubUpdateRecord) {
                        var state = PhaseSpace(x: x, v: v)
                        var logDet = [Double](repeating: 0, count: rows)
                        let eps = exp(Array(p[epsName])[k])
                        let record: SubUpdateRecord = stage.updatesMomenta
                            ? .v(dyn.vHalfStep(k, stage).forward(&state, logDet: &logDet, inverse: inverse, eps: eps, params: p, scale: 1.4, weights: spec.netWeights))
                            : .x(dyn.xUpdate(k, stage).forward(&state, logDet: &logDet, inverse: inverse, eps: eps, params: p, scale: 1.4, weights: spec.netWeights))
                        return (state, logDet, record)
                    }
                    func loss(_ x: Matrix, _ v: Matrix, _ p: ParameterStore) -> Double {
                        let (s, ld, _) = run(x, v, p)
                        var l = 0.0
                        for i in 0..<s.x.data.count { l += a.data[i] * sin(s.x.data[i]) + b.data[i] * s.v.data[i] }
                        for r in 0..<rows { l += c[r] * ld[r] }
                        return l
                    }
                    let (after, _, record) = run(x0, v0, model.params)
                    var grad = PhaseSpace(x: Matrix(rows: rows, cols: n, data: (0..<(rows * n)).map { a.data[$0] * cos(after.x.data[$0]) }), v: b)
                    var grads = [Double](repeating: 0, count: model.params.values.count)
                    switch record {
                    case let .v(r): dyn.vHalfStep(k, stage).backward(r, &grad, gLogDet: c, params: model.params, scale: 1.4, grads: &grads)
                    case let .x(r): dyn.xUpdate(k, stage).backward(r, &grad, gLogDet: c, params: model.params, scale: 1.4, grads: &grads)
                    }
                    let what = "\(label) \(stage.rawValue)\(inverse ? " inverse" : "")"
                    let h = 1e-6
                    for j in 0..<(rows * n) {
                        var xp = x0, xm = x0, vp = v0, vm = v0
                        xp.data[j] += h; xm.data[j] -= h; vp.data[j] += h; vm.data[j] -= h
                        let fx = (loss(xp, v0, model.params) - loss(xm, v0, model.params)) / (2 * h)
                        let fv = (loss(x0, vp, model.params) - loss(x0, vm, model.params)) / (2 * h)
                        XCTAssertEqual(grad.x.data[j], fx, accuracy: Self.tolerance * (1 + abs(fx)), "\(what): dL/dx[\(j)]")
                        XCTAssertEqual(grad.v.data[j], fv, accuracy: Self.tolerance * (1 + abs(fv)), "\(what): dL/dv[\(j)]")
                    }
                    let e = model.params.offset(epsName) + k
                    var pp = model.params, pm = model.params
                    pp.values[e] += h; pm.values[e] -= h
                    let fe = (loss(x0, v0, pp) - loss(x0, v0, pm)) / (2 * h)
                    XCTAssertEqual(grads[e], fe, accuracy: Self.tolerance * (1 + abs(fe)), "\(what): dL/d\(epsName)[\(k)]")
                    XCTAssertGreaterThan(abs(fe), 1e-4, "\(what): the step size must matter")
                }
            }
        }
    }
}
