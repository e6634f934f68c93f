import Foundation
import XCTest
import ModelFormat
@testable import Trainer

/// The trainer's local network alone: its forward pass against the definition written out
/// here with explicit loops (/work/local-design.md), its gradients against central finite
/// differences, translation equivariance, and the triangular structure of the x-networks.
final class TrainerLocalNetworkTests: XCTestCase {
    // MARK: The definition, written independently

    /// S, T, Q ([n], unit net weights) of network `name` for one row, straight from the
    /// definition: per-site features, periodic cross-correlations with explicit sums over
    /// (p, q, c), time input, activation, batch norm, heads per link.
    static func reference(_ model: TrainerModel, name: String, x: [Double], read: [Double]?, other: [Double], tau: [Double]?)
        -> (s: [Double], t: [Double], q: [Double]) {
        guard case let .u1(l) = model.spec.target, let local = model.spec.network.kind.local else { return ([], [], []) }
        let lt = l.lt, lx = l.lx, k = local.kernelSize, r = (k - 1) / 2, net = model.spec.network
        func mod(_ a: Int, _ m: Int) -> Int { ((a % m) + m) % m }
        func link(_ t: Int, _ x: Int, _ mu: Int) -> Int { l.linkLayout.index(t: mod(t, lt), x: mod(x, lx), mu: mu, lt: lt, lx: lx) }
        func p(_ key: String) -> [Double] { Array(model.params["\(name).\(key)"]) }
        func act(_ a: Double) -> Double {
            switch net.activation {
            case .relu: return max(0, a)
            case .tanh: return tanh(a)
            case .swish: return a / (1 + exp(-a))
            case .leakyRelu: return a >= 0 ? a : 0.01 * a
            case .linear: return a
            }
        }
        let isV = name.hasPrefix("vnet")
        // h[t][x][c]
        var h = [[[Double]]](repeating: [[Double]](repeating: [], count: lx), count: lt)
        for t in 0..<lt {
            for xs in 0..<lx {
                let x0 = x[link(t, xs, 0)], x1 = x[link(t, xs, 1)]
                if isV {
                    let plaq = x[link(t, xs, 0)] + x[link(t + 1, xs, 1)] - x[link(t, xs + 1, 0)] - x[link(t, xs, 1)]
                    h[t][xs] = [cos(x0), sin(x0), cos(x1), sin(x1), cos(plaq), sin(plaq), other[link(t, xs, 0)], other[link(t, xs, 1)]]
                } else {
                    let r0 = read?[link(t, xs, 0)] ?? 1, r1 = read?[link(t, xs, 1)] ?? 1
                    h[t][xs] = [r0 * cos(x0), r0 * sin(x0), r1 * cos(x1), r1 * sin(x1), r0, r1, other[link(t, xs, 0)], other[link(t, xs, 1)]]
                }
            }
        }
        let channels = [8] + net.hiddenUnits
        for i in net.hiddenUnits.indices {
            let kernel = p("conv\(i).kernel"), bias = p("conv\(i).bias"), cin = channels[i], cout = channels[i + 1]
            var next = h
            for t in 0..<lt {
                for xs in 0..<lx {
                    var out = [Double](repeating: 0, count: cout)
                    for co in 0..<cout {
                        var a = bias[co]
                        if i == 0, net.timeInput, let tau { a += p("t_layer.bias")[co] + tau[0] * p("t_layer.kernel")[co] + tau[1] * p("t_layer.kernel")[cout + co] }
                        for pp in 0..<k {
                            for qq in 0..<k {
                                for c in 0..<cin { a += h[mod(t + pp - r, lt)][mod(xs + qq - r, lx)][c] * kernel[((pp * k + qq) * cin + c) * cout + co] }
                            }
                        }
                        out[co] = act(a)
                    }
                    next[t][xs] = out
                }
            }
            h = next
        }
        let cl = channels[channels.count - 1]
        if let bn = net.batchNorm {
            let g = p("batch_norm.gamma"), b = p("batch_norm.beta"), m = p("batch_norm.moving_mean"), v = p("batch_norm.moving_variance")
            for t in 0..<lt { for xs in 0..<lx { for c in 0..<cl { h[t][xs][c] = g[c] * (h[t][xs][c] - m[c]) / (v[c] + bn.epsilon).squareRoot() + b[c] } } }
        }
        let n = 2 * lt * lx
        var s = [Double](repeating: 0, count: n), tt = s, q = s
        func dot(_ head: String, _ y: [Double], _ mu: Int) -> Double {
            let kernel = p("\(head).kernel")
            return p("\(head).bias")[mu] + (0..<cl).reduce(0) { $0 + y[$1] * kernel[$1 * 2 + mu] }
        }
        for t in 0..<lt {
            for xs in 0..<lx {
                for mu in 0..<2 {
                    let j = link(t, xs, mu), y = h[t][xs]
                    let cs = net.scaleHead == .tanhExpCoeff ? exp(p("scale.coeff")[mu]) : 1
                    let cq = net.transformationHead == .tanhExpCoeff ? exp(p("transformation.coeff")[mu]) : 1
                    s[j] = tanh(dot("scale", y, mu)) * cs
                    tt[j] = dot("translation", y, mu)
                    q[j] = tanh(dot("transformation", y, mu)) * cq
                }
            }
        }
        return (s, tt, q)
    }

    /// Networks of `model`: the v-network and x-network of step 0 with their roles.
    static func networks(_ model: TrainerModel) -> [(TrainableLocalNetwork, read: [Double]?)] {
        let dyn = model.dynamics()
        let read = model.masks[0].map { 1 - $0 }
        return [(dyn.vNets[0].local, nil), (dyn.xFirst[0].local, read)].compactMap { net, r in net.map { ($0, r) } }
    }

    /// Rounding only: the two computations sum the same products in a different order
    /// (im2col GEMM vs nested loops), ~1e-16 relative per term; 1e-12 catches any wrong index.
    func testForwardEqualsTheDefinition() throws {
        let specs: [(String, SamplerSpec)] = [
            ("4x4 k3 tanh", TrainerFixtures.local()),
            ("3x5 muTX k3 swish no time", TrainerFixtures.local(lt: 3, lx: 5, time: false, activation: .swish, linkLayout: .muTX)),
            ("2x3 k5 (kernel wider than the lattice) leaky_relu batch norm", TrainerFixtures.local(lt: 2, lx: 3, kernel: 5, channels: [4, 3, 2],
                                                                                                   activation: .leakyRelu, batchNorm: true)),
            ("5x4 k1 relu, heads without coefficients", TrainerFixtures.local(lt: 5, lx: 4, kernel: 1, channels: [5], activation: .relu,
                                                                              coefficients: false)),
        ]
        for (label, spec) in specs {
            let model = try TrainerFixtures.localModel(spec, noise: 0.3)
            let rows = 2, n = spec.stateSize
            let x = TrainerFixtures.angles(rows, n, seed: 3), other = TrainerFixtures.normals(rows, n, seed: 4)
            let tau = spec.network.timeInput ? [0.6, -0.8] : nil
            for (net, read) in Self.networks(model) {
                let c = net.forward(x: x, read: read, other: other, tau: tau, weights: (1, 1, 1), params: model.params)
                for r in 0..<rows {
                    let row = { (m: Matrix) in Array(m.data[(r * n)..<((r + 1) * n)]) }
                    let want = Self.reference(model, name: net.name, x: row(x), read: read, other: row(other), tau: tau)
                    for (got, expected, head) in [(row(c.s), want.s, "S"), (row(c.t), want.t, "T"), (row(c.q), want.q, "Q")] {
                        for i in 0..<n { XCTAssertEqual(got[i], expected[i], accuracy: 1e-12 * max(1, abs(expected[i])), "\(label) \(net.name) \(head)[\(r), \(i)]") }
                    }
                    XCTAssertTrue(want.t.contains { abs($0) > 1e-3 }, "\(label): non-trivial outputs")
                }
            }
        }
    }

    /// Net weights scale the heads: S, T, Q with weights (a, b, c) are a S, b T, c Q.
    func testNetWeightsScaleTheHeads() throws {
        let model = try TrainerFixtures.localModel(TrainerFixtures.local())
        let n = model.spec.stateSize
        let x = TrainerFixtures.angles(1, n, seed: 5), other = TrainerFixtures.normals(1, n, seed: 6)
        for (net, read) in Self.networks(model) {
            let one = net.forward(x: x, read: read, other: other, tau: [1, 0], weights: (1, 1, 1), params: model.params)
            let w = net.forward(x: x, read: read, other: other, tau: [1, 0], weights: (0.5, 0, 2), params: model.params)
            XCTAssertEqual(w.s.data, one.s.data.map { 0.5 * $0 })
            XCTAssertEqual(w.t.data, one.t.data.map { 0 * $0 })
            XCTAssertEqual(w.q.data, one.q.data.map { 2 * $0 })
        }
    }

    // MARK: Gradients

    /// Reverse-mode gradients of L = sum a S + b T + c Q against central differences with
    /// h = 1e-6, for every parameter array (up to four entries each), every position and every
    /// entry of the other input (momenta or force). Truncation ~h^2 |f'''| ~ 1e-11 and rounding
    /// ~1e-16 / h = 1e-10 here; 1e-7 (+1e-6 relative) is far below any wrong term (O(1e-2)).
    func testGradientsOfParametersAndInputsMatchFiniteDifferences() throws {
        let specs: [(String, SamplerSpec)] = [
            ("4x4 k3 tanh time", TrainerFixtures.local()),
            ("3x4 muTX swish batch norm", TrainerFixtures.local(lt: 3, lx: 4, channels: [4, 3], activation: .swish, linkLayout: .muTX, batchNorm: true)),
            ("2x3 k5 leaky_relu no time, no coefficients", TrainerFixtures.local(lt: 2, lx: 3, kernel: 5, channels: [3], time: false,
                                                                                  activation: .leakyRelu, coefficients: false)),
        ]
        for (label, spec) in specs {
            let model = try TrainerFixtures.localModel(spec, noise: 0.3)
            let rows = 2, n = spec.stateSize
            let x = TrainerFixtures.angles(rows, n, seed: 7), other = TrainerFixtures.normals(rows, n, seed: 8)
            let a = TrainerFixtures.normals(rows, n, seed: 9), b = TrainerFixtures.normals(rows, n, seed: 10), cq = TrainerFixtures.normals(rows, n, seed: 11)
            let tau = spec.network.timeInput ? [0.6, -0.8] : nil
            for (net, read) in Self.networks(model) {
                func loss(_ x: Matrix, _ other: Matrix, _ p: ParameterStore) -> Double {
                    let c = net.forward(x: x, read: read, other: other, tau: tau, weights: (0.9, 1.1, 0.7), params: p)
                    var l = 0.0
                    for i in 0..<(rows * n) { l += a.data[i] * c.s.data[i] + b.data[i] * c.t.data[i] + cq.data[i] * c.q.data[i] }
                    return l
                }
                let cache = net.forward(x: x, read: read, other: other, tau: tau, weights: (0.9, 1.1, 0.7), params: model.params)
                var grads = [Double](repeating: 0, count: model.params.values.count)
                let (gx, gOther) = net.backward(cache, dS: a, dT: b, dQ: cq, params: model.params, grads: &grads)
                let h = 1e-6
                func check(_ analytic: Double, _ up: Double, _ down: Double, _ what: String) {
                    let fd = (up - down) / (2 * h)
                    XCTAssertEqual(analytic, fd, accuracy: 1e-7 + 1e-6 * abs(fd), "\(label) \(net.name): \(what)")
                }
                var checked = Set<String>()
                for slice in model.params.slices where slice.name.hasPrefix(net.name + ".") {
                    for j in 0..<min(4, slice.count) {
                        let i = slice.offset + (j * 7919) % slice.count
                        var p = model.params
                        p.values[i] += h; let up = loss(x, other, p)
                        p.values[i] -= 2 * h; let down = loss(x, other, p)
                        check(grads[i], up, down, "\(slice.name)[\(i - slice.offset)]")
                    }
                    checked.insert(slice.name)
                }
                XCTAssertTrue(checked.contains("\(net.name).conv0.kernel") && checked.contains("\(net.name).translation.bias"), "\(label): \(checked)")
                for i in 0..<(rows * n) {
                    var xp = x, xm = x
                    xp.data[i] += h; xm.data[i] -= h
                    check(gx.data[i], loss(xp, other, model.params), loss(xm, other, model.params), "dx[\(i)]")
                    var op = other, om = other
                    op.data[i] += h; om.data[i] -= h
                    check(gOther.data[i], loss(x, op, model.params), loss(x, om, model.params), "d other[\(i)]")
                }
                XCTAssertTrue(gx.data.contains { abs($0) > 1e-3 } && gOther.data.contains { abs($0) > 1e-3 }, "\(label) \(net.name): non-trivial input gradients")
            }
        }
    }

    // MARK: Structure

    /// Shifting the whole configuration by (dt, dx) sites shifts S, T, Q the same way (periodic
    /// convolutions commute with translations). The x-network's mask is shifted by (1, 1), which
    /// keeps the checkerboard's parity, so the same mask applies to the shifted configuration.
    func testOutputsAreTranslationEquivariant() throws {
        for layout in LinkLayout.allCases {
            let spec = TrainerFixtures.local(lt: 4, lx: 6, linkLayout: layout)
            let model = try TrainerFixtures.localModel(spec, noise: 0.3)
            let lt = 4, lx = 6, n = spec.stateSize
            func shifted(_ m: Matrix, _ dt: Int, _ dx: Int) -> Matrix {
                var out = m
                for t in 0..<lt {
                    for x in 0..<lx {
                        for mu in 0..<2 {
                            let from = layout.index(t: t, x: x, mu: mu, lt: lt, lx: lx)
                            let to = layout.index(t: (t + dt) % lt, x: (x + dx) % lx, mu: mu, lt: lt, lx: lx)
                            out.data[to] = m.data[from]
                        }
                    }
                }
                return out
            }
            let x = TrainerFixtures.angles(1, n, seed: 12), other = TrainerFixtures.normals(1, n, seed: 13)
            for (net, read) in Self.networks(model) {
                let (dt, dx) = read == nil ? (1, 2) : (1, 1)
                let base = net.forward(x: x, read: read, other: other, tau: [0.3, 0.4], weights: (1, 1, 1), params: model.params)
                let moved = net.forward(x: shifted(x, dt, dx), read: read, other: shifted(other, dt, dx), tau: [0.3, 0.4], weights: (1, 1, 1),
                                        params: model.params)
                for (got, want, head) in [(moved.s, shifted(base.s, dt, dx), "S"), (moved.t, shifted(base.t, dt, dx), "T"), (moved.q, shifted(base.q, dt, dx), "Q")] {
                    // Same sums in a different site order: rounding only.
                    for i in 0..<n { XCTAssertEqual(got.data[i], want.data[i], accuracy: 1e-13, "\(layout) \(net.name) \(head)[\(i)]") }
                }
            }
        }
    }

    /// The x-network reads no moved link: perturbing a link the sub-update moves leaves every
    /// output unchanged, bit for bit (its features are r cos x and r sin x with r = 0), while a
    /// read link changes them.
    func testXNetworkOutputsDoNotDependOnMovedLinks() throws {
        let spec = TrainerFixtures.local(lt: 4, lx: 4, nLF: 2, xNets: 2)
        let model = try TrainerFixtures.localModel(spec, noise: 0.3)
        let dyn = model.dynamics(), n = spec.stateSize
        let x = TrainerFixtures.angles(1, n, seed: 14), v = TrainerFixtures.normals(1, n, seed: 15)
        for k in 0..<2 {
            for stage in [TrajectoryStage.x1, .x2] {
                let rule = dyn.xUpdate(k, stage)
                let base = rule.net.forward(x: x, read: rule.read, other: v, tau: rule.tau, weights: (1, 1, 1), params: model.params)
                var movedCount = 0
                for i in 0..<n {
                    var xp = x
                    xp.data[i] += 0.7
                    let c = rule.net.forward(x: xp, read: rule.read, other: v, tau: rule.tau, weights: (1, 1, 1), params: model.params)
                    let same = c.s.data == base.s.data && c.t.data == base.t.data && c.q.data == base.q.data
                    if rule.update[i] == 1 {
                        movedCount += 1
                        XCTAssertTrue(same, "step \(k) \(stage): moved link \(i) must not change the heads")
                    } else {
                        XCTAssertFalse(same, "step \(k) \(stage): read link \(i) must change the heads")
                    }
                }
                XCTAssertEqual(movedCount, n / 2, "the checkerboard moves half the links of a 4x4 lattice")
            }
        }
    }

    /// The mask rule: the trainer's masks are (t + x + mu + k) even, evaluated here directly; the
    /// two x sub-updates of a step move complementary sets (a partition of the links); on even
    /// lattices every plaquette has two moved and two read links at every step.
    func testMaskRuleIsAPartitionWithTwoMovedLinksPerPlaquette() throws {
        for (lt, lx, layout) in [(4, 4, LinkLayout.tXMu), (2, 6, .muTX), (3, 5, .tXMu)] {
            let spec = TrainerFixtures.local(lt: lt, lx: lx, nLF: 3, linkLayout: layout)
            let model = try TrainerModel(spec: spec, eps: 0.1, seed: 1)
            let dyn = model.dynamics()
            for k in 0..<3 {
                var want = [Double](repeating: -1, count: spec.stateSize)
                for t in 0..<lt { for x in 0..<lx { for mu in 0..<2 { want[layout.index(t: t, x: x, mu: mu, lt: lt, lx: lx)] = (t + x + mu + k) % 2 == 0 ? 1 : 0 } } }
                XCTAssertEqual(model.masks[k], want, "\(lt)x\(lx) step \(k)")
                let u1 = dyn.xUpdate(k, .x1).update, u2 = dyn.xUpdate(k, .x2).update
                XCTAssertTrue(zip(u1, u2).allSatisfy { $0 + $1 == 1 && $0 * $1 == 0 }, "every link moves in exactly one x sub-update")
                guard lt % 2 == 0 && lx % 2 == 0 else { continue }
                for t in 0..<lt {
                    for x in 0..<lx {
                        let links = [(t, x, 0), ((t + 1) % lt, x, 1), (t, (x + 1) % lx, 0), (t, x, 1)]
                        let moved = links.reduce(0.0) { $0 + u1[layout.index(t: $1.0, x: $1.1, mu: $1.2, lt: lt, lx: lx)] }
                        XCTAssertEqual(moved, 2, "\(lt)x\(lx) step \(k) plaquette (\(t), \(x))")
                    }
                }
            }
        }
    }
}
