import Foundation
import XCTest
import Audit
import ModelFormat
@testable import Inference

/// The runtime's local networks (docs/FORMAT.md, "Local networks"; docs/RUNTIME.md, "Local
/// networks at any lattice size"): the features, periodic convolutions and heads against a naive
/// per-site evaluation written here from the definition, translation equivariance, reversibility
/// and the log-det at a lattice size the model was not built for.
final class LocalNetworkTests: XCTestCase {
    static func localSpec(lt: Int = 4, lx: Int = 4, nLF: Int = 2, layout: NetworkLayout = .shared, xNets: Int = 1, time: Bool = true,
                          channels: [Int] = [6, 5], kernel: Int = 3, activation: Activation = .tanh, batchNorm: Bool = true,
                          linkLayout: LinkLayout = .tXMu, beta: Double = 2) -> SamplerSpec {
        SamplerSpec(target: .u1(U1Lattice(lt: lt, lx: lx, beta: beta, linkLayout: linkLayout)),
                    dynamics: Dynamics(nLF: nLF, xUpdate: .ncp, translationSign: .plus, epsXParametrization: .raw, epsVParametrization: .epsOverOnePlusEps),
                    network: .local(LocalNetworkSpec(kernelSize: kernel), layout: layout, xNetworksPerStep: xNets, timeInput: time, channels: channels,
                                    activation: activation, batchNorm: batchNorm ? BatchNormSpec(epsilon: 1e-3) : nil))
    }

    /// A random local model with heads large enough that S, T, Q matter (weight scale 1).
    static func model(_ spec: SamplerSpec, seed: UInt64 = 7, eps: Double = 0.25) throws -> L2ZModel {
        try RandomModel.make(sampler: spec, seed: seed, epsX: eps, epsV: eps)
    }

    static func dynamics(_ model: L2ZModel, lt: Int, lx: Int, beta: Double = 2, nLF: Int? = nil, mapping: StepMapping? = nil,
                         capacity: Int = 8) throws -> L2HMCDynamics {
        guard case let .u1(l) = try model.sampler.target else { throw XCTSkip("U(1) only") }
        let target = U1Action(lattice: U1Lattice(lt: lt, lx: lx, beta: beta, linkLayout: l.linkLayout))
        return try L2HMCDynamics(model: model, target: target, nLF: nLF, mapping: mapping, capacity: capacity)
    }

    // MARK: The naive evaluation (direct definition, no im2col, no tables)

    /// S, T, Q of network `name` at every link (link-layout order), from the model's arrays.
    /// `features(t, x)` gives the 8 input channels of site (t, x).
    static func naiveHeads(model: L2ZModel, name: String, lt: Int, lx: Int, tau: (Double, Double)?,
                           features: (Int, Int) -> [Double]) throws -> (s: [Double], t: [Double], q: [Double]) {
        let spec = try model.sampler.network
        guard let local = spec.kind.local, case let .u1(lattice) = try model.sampler.target else { throw XCTSkip("local U(1) only") }
        let k = local.kernelSize, r = (k - 1) / 2
        let ch = [8] + spec.hiddenUnits
        func act(_ a: Double) -> Double {
            switch spec.activation {
            case .relu: return max(0, a)
            case .tanh: return Foundation.tanh(a)
            case .linear: return a
            case .swish: return a / (1 + Foundation.exp(-a))
            case .leakyRelu: return a > 0 ? a : 0.2 * a
            }
        }
        // h[t][x][c]
        var h = (0..<lt).map { t in (0..<lx).map { x in features(t, x) } }
        for i in 0..<(ch.count - 1) {
            let kernel = try model.doubles("\(name).conv\(i).kernel"), bias = try model.doubles("\(name).conv\(i).bias")
            var extra = [Double](repeating: 0, count: ch[i + 1])
            if i == 0, spec.timeInput, let tau {
                let kt = try model.doubles("\(name).t_layer.kernel"), bt = try model.doubles("\(name).t_layer.bias")
                for c in 0..<ch[1] { extra[c] = tau.0 * kt[c] + tau.1 * kt[ch[1] + c] + bt[c] }
            }
            var next = h
            for t in 0..<lt {
                for x in 0..<lx {
                    var out = [Double](repeating: 0, count: ch[i + 1])
                    for o in 0..<ch[i + 1] {
                        var a = bias[o] + extra[o]
                        for p in 0..<k {
                            for q in 0..<k {
                                let src = h[((t + p - r) % lt + lt) % lt][((x + q - r) % lx + lx) % lx]
                                for c in 0..<ch[i] { a += src[c] * kernel[((p * k + q) * ch[i] + c) * ch[i + 1] + o] }
                            }
                        }
                        out[o] = act(a)
                    }
                    next[t][x] = out
                }
            }
            h = next
        }
        let cl = ch[ch.count - 1]
        if let bn = spec.batchNorm {
            let g = try model.doubles("\(name).batch_norm.gamma"), b = try model.doubles("\(name).batch_norm.beta")
            let m = try model.doubles("\(name).batch_norm.moving_mean"), v = try model.doubles("\(name).batch_norm.moving_variance")
            for t in 0..<lt { for x in 0..<lx { for c in 0..<cl { h[t][x][c] = g[c] * (h[t][x][c] - m[c]) / (v[c] + bn.epsilon).squareRoot() + b[c] } } }
        }
        func head(_ hname: String) throws -> (k: [Double], b: [Double]) { (try model.doubles("\(name).\(hname).kernel"), try model.doubles("\(name).\(hname).bias")) }
        let (ks, bs) = try head("scale"), (kt, bt) = try head("translation"), (kq, bq) = try head("transformation")
        let cs = spec.scaleHead == .tanhExpCoeff ? try model.doubles("\(name).scale.coeff") : [0, 0]
        let cq = spec.transformationHead == .tanhExpCoeff ? try model.doubles("\(name).transformation.coeff") : [0, 0]
        let n = 2 * lt * lx
        var s = [Double](repeating: 0, count: n), tt = s, q = s
        for t in 0..<lt {
            for x in 0..<lx {
                for mu in 0..<2 {
                    func dot(_ kk: [Double]) -> Double { (0..<cl).reduce(0) { $0 + h[t][x][$1] * kk[$1 * 2 + mu] } }
                    let l = lattice.linkLayout.index(t: t, x: x, mu: mu, lt: lt, lx: lx)
                    s[l] = Foundation.tanh(dot(ks) + bs[mu]) * Foundation.exp(cs[mu])
                    tt[l] = dot(kt) + bt[mu]
                    q[l] = Foundation.tanh(dot(kq) + bq[mu]) * Foundation.exp(cq[mu])
                }
            }
        }
        return (s, tt, q)
    }

    /// S, T, Q per link from the runtime's raw heads in column order `order` (column j is link order[j]).
    static func runtimeHeads(raw: [Double], columns c: LocalNetworkSet.Columns, order: [Int], n: Int) -> (s: [Double], t: [Double], q: [Double]) {
        var s = [Double](repeating: 0, count: n), t = s, q = s
        for (j, l) in order.enumerated() {
            s[l] = Foundation.tanh(raw[j] + c.bias[j]) * c.scaleFactor[j]
            t[l] = raw[n + j] + c.bias[n + j]
            q[l] = Foundation.tanh(raw[2 * n + j] + c.bias[2 * n + j]) * c.transformationFactor[j]
        }
        return (s, t, q)
    }

    /// (a) The v- and x-network heads of a random local model (time input, batch norm, two
    /// layers, 3x3 kernels) equal the naive per-site evaluation at the built lattice (4x4) and at
    /// 6x10, in both link layouts, for two chains. Both sides sum the same terms in different
    /// orders: agreement to 1e-12 (values are O(1), sums of ~100 terms).
    func testHeadsMatchTheNaiveConvolutionAtTheBuiltAndAnotherLattice() throws {
        for linkLayout in LinkLayout.allCases {
            let model = try Self.model(Self.localSpec(layout: .perStep, xNets: 2, linkLayout: linkLayout))
            for (lt, lx) in [(4, 4), (6, 10)] {
                let dyn = try Self.dynamics(model, lt: lt, lx: lx, beta: 1.7)
                let local = try XCTUnwrap(dyn.local)
                let n = 2 * lt * lx, rows = 2
                let x = Fixtures.angles(rows * n, seed: 31), v = Fixtures.normals(rows * n, seed: 32)
                let trig = Buffer(rows * 2 * n), force = Buffer(rows * n), out = Buffer(rows * 3 * n)
                for i in 0..<(rows * n) { trig[(i / n) * 2 * n + i % n] = cos(x[i]); trig[(i / n) * 2 * n + n + i % n] = sin(x[i]) }
                x.withUnsafeBufferPointer { dyn.target.force($0.baseAddress!, rows: rows, into: force.pointer) }
                let tau = (cos(0.7), sin(0.7))
                for step in 0..<2 {
                    // v-network of step `step`: cos/sin of both links, of the plaquette, the force.
                    let vnet = local.vNets[step]
                    x.withUnsafeBufferPointer { xp in
                        local.vHeads(vnet, x: xp.baseAddress!, trig: trig.pointer, force: force.pointer, tau: tau, rows: rows, out: out.pointer)
                    }
                    for row in 0..<rows {
                        let xr = Array(x[(row * n)..<((row + 1) * n)])
                        func link(_ t: Int, _ s: Int, _ mu: Int) -> Int { linkLayout.index(t: (t + lt) % lt, x: (s + lx) % lx, mu: mu, lt: lt, lx: lx) }
                        let expected = try Self.naiveHeads(model: model, name: "vnet.\(step)", lt: lt, lx: lx, tau: tau) { t, s in
                            let p = xr[link(t, s, 0)] + xr[link(t + 1, s, 1)] - xr[link(t, s + 1, 0)] - xr[link(t, s, 1)]
                            return [cos(xr[link(t, s, 0)]), sin(xr[link(t, s, 0)]), cos(xr[link(t, s, 1)]), sin(xr[link(t, s, 1)]), cos(p), sin(p),
                                    force[row * n + link(t, s, 0)], force[row * n + link(t, s, 1)]]
                        }
                        let got = Self.runtimeHeads(raw: Array(out.array[(row * 3 * n)..<((row + 1) * 3 * n)]), columns: local.columns(vnet, mask: -1),
                                                    order: Array(0..<n), n: n)
                        for (e, g, label) in [(expected.s, got.s, "S"), (expected.t, got.t, "T"), (expected.q, got.q, "Q")] {
                            XCTAssertLessThanOrEqual(Fixtures.maxDifference(e, g, compact: false), 1e-12, "\(linkLayout) \(lt)x\(lx) vnet.\(step) \(label)")
                        }
                        XCTAssertGreaterThan(expected.s.map(abs).max() ?? 0, 1e-3, "the heads must be non-trivial")
                    }
                    // x-networks of step `step`: the first reads the links with mask 0 (the checkerboard).
                    let mask = LocalNetworkRules.updateMask(.checkerboard, step: step, lt: lt, lx: lx, layout: linkLayout)
                    for first in [true, false] {
                        let net = first ? local.xNetsFirst[step] : local.xNetsSecond[step]
                        let read = mask.map { first ? 1 - Double($0) : Double($0) }
                        let order = dyn.maskOrders[step].map { Int($0) }
                        XCTAssertEqual(Set(order.prefix(mask.filter { $0 == 1 }.count)), Set((0..<n).filter { mask[$0] == 1 }), "moved links first")
                        read.withUnsafeBufferPointer { rp in v.withUnsafeBufferPointer { vp in
                            local.xHeads(net, mask: step, trig: trig.pointer, v: vp.baseAddress!, read: rp.baseAddress!, tau: tau, rows: rows, out: out.pointer)
                        } }
                        for row in 0..<rows {
                            let xr = Array(x[(row * n)..<((row + 1) * n)]), vr = Array(v[(row * n)..<((row + 1) * n)])
                            let expected = try Self.naiveHeads(model: model, name: (first ? "xnet_first." : "xnet_second.") + "\(step)", lt: lt, lx: lx, tau: tau) { t, s in
                                let l0 = linkLayout.index(t: t, x: s, mu: 0, lt: lt, lx: lx), l1 = linkLayout.index(t: t, x: s, mu: 1, lt: lt, lx: lx)
                                return [read[l0] * cos(xr[l0]), read[l0] * sin(xr[l0]), read[l1] * cos(xr[l1]), read[l1] * sin(xr[l1]), read[l0], read[l1], vr[l0], vr[l1]]
                            }
                            let got = Self.runtimeHeads(raw: Array(out.array[(row * 3 * n)..<((row + 1) * 3 * n)]), columns: local.columns(net, mask: step), order: order, n: n)
                            for (e, g, label) in [(expected.s, got.s, "S"), (expected.t, got.t, "T"), (expected.q, got.q, "Q")] {
                                XCTAssertLessThanOrEqual(Fixtures.maxDifference(e, g, compact: false), 1e-12, "\(linkLayout) \(lt)x\(lx) x first \(first) step \(step) \(label)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The checkerboard masks of the run lattice: half the links per step on even extents, the
    /// complement at the next step, and the dense sub-update convention (first moves mask 1).
    func testMasksFollowTheRuleAtTheRunLattice() throws {
        let model = try Self.model(Self.localSpec())
        let dyn = try Self.dynamics(model, lt: 6, lx: 10)
        for k in 0..<2 {
            let mask = dyn.masks[k].array
            XCTAssertEqual(mask.count, 120)
            for t in 0..<6 { for x in 0..<10 { for mu in 0..<2 {
                XCTAssertEqual(mask[LinkLayout.tXMu.index(t: t, x: x, mu: mu, lt: 6, lx: 10)], (t + x + mu + k) % 2 == 0 ? 1 : 0)
            } } }
        }
    }

    /// (b) Translation equivariance: the whole trajectory (every sub-update) of the configuration
    /// shifted by (1, 1) or (2, 0) sites is the shifted trajectory, with the same log-det: the
    /// checkerboard is invariant under these shifts and the convolutions are periodic. Rounding
    /// differs only by summation order: 1e-12.
    func testShiftedConfigurationGivesTheShiftedTrajectory() throws {
        let model = try Self.model(Self.localSpec(nLF: 2, layout: .perStep, xNets: 2))
        let lt = 6, lx = 8, n = 2 * lt * lx, rows = 3
        let dyn = try Self.dynamics(model, lt: lt, lx: lx)
        let x = Fixtures.angles(rows * n, seed: 41), v = Fixtures.normals(rows * n, seed: 42)
        let base = dyn.run(x: x, v: v, rows: rows, forward: true)
        XCTAssertTrue(base.logDet.contains { abs($0) > 1e-3 }, "non-trivial log-det")
        for (dt, dx) in [(1, 1), (2, 0), (0, 2)] {
            func shift(_ a: [Double]) -> [Double] {
                var out = a
                for r in 0..<rows { for t in 0..<lt { for s in 0..<lx { for mu in 0..<2 {
                    out[r * n + LinkLayout.tXMu.index(t: (t + dt) % lt, x: (s + dx) % lx, mu: mu, lt: lt, lx: lx)] = a[r * n + LinkLayout.tXMu.index(t: t, x: s, mu: mu, lt: lt, lx: lx)]
                } } } }
                return out
            }
            let shifted = dyn.run(x: shift(x), v: shift(v), rows: rows, forward: true)
            XCTAssertLessThanOrEqual(Fixtures.maxDifference(shifted.x, shift(base.x), compact: true), 1e-12, "shift (\(dt), \(dx)): x")
            XCTAssertLessThanOrEqual(Fixtures.maxDifference(shifted.v, shift(base.v), compact: false), 1e-12, "shift (\(dt), \(dx)): v")
            XCTAssertLessThanOrEqual(Fixtures.maxDifference(shifted.logDet, base.logDet, compact: false), 1e-12, "shift (\(dt), \(dx)): log-det")
        }
        // A shift by one site in t moves the checkerboard: the trajectory is not the shifted one
        // (so the test above can fail).
        func shiftOne(_ a: [Double]) -> [Double] {
            var out = a
            for r in 0..<rows { for t in 0..<lt { for s in 0..<lx { for mu in 0..<2 {
                out[r * n + LinkLayout.tXMu.index(t: (t + 1) % lt, x: s, mu: mu, lt: lt, lx: lx)] = a[r * n + LinkLayout.tXMu.index(t: t, x: s, mu: mu, lt: lt, lx: lx)]
            } } } }
            return out
        }
        let odd = dyn.run(x: shiftOne(x), v: shiftOne(v), rows: rows, forward: true)
        XCTAssertGreaterThan(Fixtures.maxDifference(odd.x, shiftOne(base.x), compact: true), 1e-6)
    }

    /// (c) Forward then backward returns the start to 1e-12 at sizes the model was not built for
    /// (6x10, 5x3 with odd extents, 12x12), with free N_LF: shared networks at N_LF 3 (built 2),
    /// per-step networks at N_LF 5 with the stretch mapping, and the linear x update.
    func testReversibleAtTransferredSizesWithFreeStepCount() throws {
        let shared = try Self.model(Self.localSpec(nLF: 2, layout: .shared))
        try assertReversible(Self.dynamics(shared, lt: 6, lx: 10, nLF: 3), label: "shared 6x10 N_LF 3")
        try assertReversible(Self.dynamics(shared, lt: 5, lx: 3, nLF: 3), label: "shared 5x3 N_LF 3")
        try assertReversible(Self.dynamics(shared, lt: 1, lx: 4, nLF: 2), label: "shared 1x4")
        let perStep = try Self.model(Self.localSpec(nLF: 2, layout: .perStep, xNets: 2, time: false, channels: [4], kernel: 5, activation: .relu, batchNorm: false))
        try assertReversible(Self.dynamics(perStep, lt: 12, lx: 12, nLF: 5, mapping: .stretch), label: "per step 12x12 N_LF 5 stretch")
        var linearSpec = Self.localSpec(nLF: 2, linkLayout: .muTX)
        linearSpec.dynamics.xUpdate = .linear
        linearSpec.netWeights.xScale = 0
        try assertReversible(Self.dynamics(try Self.model(linearSpec), lt: 6, lx: 4), label: "linear mu_t_x 6x4")
    }

    /// (d) The accumulated log-det equals log|det| of the numerical Jacobian of (x, v) -> (x', v')
    /// on a 2x4 lattice (16 variables; the model was built for 4x4), both directions. Central
    /// differences with h = 1e-6 give each entry to ~1e-9; the determinant of a well-conditioned
    /// 16x16 matrix agrees to ~1e-7 (tolerance 1e-6, as for the dense kind).
    func testLogDetMatchesNumericalJacobianOnA2x4Lattice() throws {
        let model = try Self.model(Self.localSpec(nLF: 2, layout: .perStep, xNets: 2), eps: 0.3)
        let dyn = try Self.dynamics(model, lt: 2, lx: 4, nLF: 2)
        let n = 16
        for forward in [true, false] {
            let x = Fixtures.angles(n, seed: 21).map { $0 * 0.8 }, v = Fixtures.normals(n, seed: 22)
            let base = dyn.run(x: x, v: v, rows: 1, forward: forward)
            let logDet = NumericalJacobian.logAbsDeterminant(x: x, v: v, step: 1e-6, angles: true) { xs, vs in
                let r = dyn.run(x: xs, v: vs, rows: 1, forward: forward)
                return (r.x, r.v)
            }
            XCTAssertEqual(logDet, base.logDet[0], accuracy: 1e-6, "forward \(forward)")
            XCTAssertGreaterThan(abs(base.logDet[0]), 1e-3, "the log-det must be non-trivial for the test to mean something")
        }
    }

    /// (f) `--lowrank` on local models. At full rank nothing changes (the trajectory is the
    /// uncompressed one to 1e-12, in fact bit for bit). At rank 2 every conv kernel is replaced by
    /// its rank-2 truncated SVD of the [k k C_in, C_out] matrix: the trajectory equals that of the
    /// uncompressed runtime on a model whose conv arrays hold the product P Q (rows in (p, q, c)
    /// order), to 1e-10 ((x P) Q and x (P Q) round differently at ~1e-16 relative per entry, and
    /// two steps of four sub-updates amplify that by less than 1e6 here).
    func testLowRankCompressesTheConvKernelMatrices() throws {
        let spec = Self.localSpec(nLF: 2, layout: .perStep, xNets: 2, channels: [6, 5])
        let model = try Self.model(spec)
        let lt = 6, lx = 4, n = 2 * lt * lx, rows = 3
        let x = Fixtures.angles(rows * n, seed: 51), v = Fixtures.normals(rows * n, seed: 52)
        let plain = try Self.dynamics(model, lt: lt, lx: lx).run(x: x, v: v, rows: rows, forward: true)
        let full = try Self.dynamics(model, lt: lt, lx: lx)
        let wholeReport = try full.compress(.rank(1000))
        XCTAssertTrue(wholeReport.allSatisfy { $0.rank == min($0.rows, $0.cols) && $0.energyRetained == 1 })
        XCTAssertTrue(wholeReport.contains { $0.layer == "conv0" && $0.rows == 72 && $0.cols == 6 }, "conv0 is the [3*3*8, 6] matrix")
        let fullRun = full.run(x: x, v: v, rows: rows, forward: true)
        XCTAssertLessThanOrEqual(Fixtures.maxDifference(fullRun.x, plain.x, compact: true), 1e-12)
        XCTAssertLessThanOrEqual(Fixtures.maxDifference(fullRun.v, plain.v, compact: false), 1e-12)

        let low = try Self.dynamics(model, lt: lt, lx: lx)
        let report = try low.compress(.rank(2))
        XCTAssertEqual(report.filter { $0.layer.hasPrefix("conv") }.map(\.rank), [Int](repeating: 2, count: report.filter { $0.layer.hasPrefix("conv") }.count))
        var rewritten = model
        let local = try XCTUnwrap(low.local)
        for net in local.networks {
            for (i, conv) in net.convs.enumerated() {
                let f = try XCTUnwrap(conv.lowRank)
                var product = [Double](repeating: 0, count: conv.inputs * conv.outputs)
                for r in 0..<conv.inputs { for c in 0..<conv.outputs { for k in 0..<f.rank { product[r * conv.outputs + c] += f.p[r * f.rank + k] * f.q[k * conv.outputs + c] } } }
                rewritten.arrays["\(net.name).conv\(i).kernel"] = try NDArray(shape: [3, 3, net.channels[i], net.channels[i + 1]], doubles: product)
            }
        }
        let lowRun = low.run(x: x, v: v, rows: rows, forward: true)
        let reference = try Self.dynamics(rewritten, lt: lt, lx: lx).run(x: x, v: v, rows: rows, forward: true)
        XCTAssertLessThanOrEqual(Fixtures.maxDifference(lowRun.x, reference.x, compact: true), 1e-10)
        XCTAssertLessThanOrEqual(Fixtures.maxDifference(lowRun.v, reference.v, compact: false), 1e-10)
        XCTAssertLessThanOrEqual(Fixtures.maxDifference(lowRun.logDet, reference.logDet, compact: false), 1e-10)
        XCTAssertGreaterThan(Fixtures.maxDifference(lowRun.x, plain.x, compact: true), 1e-6, "rank 2 must change the proposal")
        try assertReversible(low, label: "rank 2")
    }

    /// (e) A random local model with small weights (scale 0.3), built for 4x4, run at 6x4 with
    /// beta 1.5 through the run engine: the plaquette within 3 sigma of the exact finite-volume
    /// value (autocorrelation-corrected error; fixed seed).
    func testExactPlaquetteAtAnUnseenLattice() throws {
        let spec = Self.localSpec(nLF: 3, channels: [4, 4], batchNorm: false)
        let model = try RandomModel.make(sampler: spec, seed: 9, epsX: 0.3, epsV: 0.3, weightScale: 0.3)
        let target = U1Action(lattice: U1Lattice(lt: 6, lx: 4, beta: 1.5))
        var settings = RunSettings(chains: 32, trajectories: 300, seed: 11, schedule: .l2hmcOnly, hmcStepSize: 0.2, hmcSteps: 3)
        settings.thermalization = 0.25
        let engine = try RunEngine(settings: settings, target: target, model: model)
        try engine.run()
        let summary = RunSummary(record: engine.record, target: target, thermalization: 0.25)
        let q = try XCTUnwrap(summary.quantities.first { $0.name == "plaquette" })
        let z = try XCTUnwrap(q.zScore)
        XCTAssertLessThan(abs(z), 3, "plaquette \(q.estimate.mean) +- \(q.estimate.error) vs exact \(q.exact!)")
        XCTAssertGreaterThan(q.estimate.error, 0)
        XCTAssertGreaterThan(summary.acceptance[.l2hmc] ?? 0, 0.3, "the test needs accepted proposals")
    }

    /// Chains are evaluated in chunks (the im2col budget): chunks of 1 and 2 chains give the
    /// heads of one chunk of all 5 chains. Each row's sums are the same; OpenBLAS may pick another
    /// kernel (summation order) for another row count, so agreement to 1e-13 on O(1) values.
    func testChunkedEvaluationEqualsOneChunk() throws {
        let model = try Self.model(Self.localSpec())
        let dyn = try Self.dynamics(model, lt: 3, lx: 5, capacity: 5)
        let local = try XCTUnwrap(dyn.local)
        XCTAssertEqual(local.chunkChains, 5)
        let n = 30, rows = 5
        let x = Fixtures.angles(rows * n, seed: 61), v = Fixtures.normals(rows * n, seed: 62)
        let trig = Buffer(rows * 2 * n), force = Buffer(rows * n)
        for i in 0..<(rows * n) { trig[(i / n) * 2 * n + i % n] = cos(x[i]); trig[(i / n) * 2 * n + n + i % n] = sin(x[i]) }
        x.withUnsafeBufferPointer { dyn.target.force($0.baseAddress!, rows: rows, into: force.pointer) }
        let read = Buffer(dyn.complements[1].array)
        func heads(_ set: LocalNetworkSet) -> [Double] {
            let out = Buffer(rows * 3 * n), out2 = Buffer(rows * 3 * n)
            x.withUnsafeBufferPointer { xp in v.withUnsafeBufferPointer { vp in
                set.vHeads(set.vNets[0], x: xp.baseAddress!, trig: trig.pointer, force: force.pointer, tau: (0.3, 0.9), rows: rows, out: out.pointer)
                set.xHeads(set.xNetsFirst[0], mask: 1, trig: trig.pointer, v: vp.baseAddress!, read: read.pointer, tau: (0.3, 0.9), rows: rows, out: out2.pointer)
            } }
            return out.array + out2.array
        }
        let whole = heads(local)
        for chunk in [1, 2] {
            let set = LocalNetworkSet(replicating: local, capacity: 5, chunkChains: chunk)
            XCTAssertEqual(set.chunkChains, chunk)
            XCTAssertLessThanOrEqual(Fixtures.maxDifference(heads(set), whole, compact: false), 1e-13, "chunks of \(chunk)")
            XCTAssertGreaterThan(whole.map(abs).max() ?? 0, 1e-2, "non-trivial heads")
        }
    }
}
