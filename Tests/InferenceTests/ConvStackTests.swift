import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// The runtime's convolution stack (docs/FORMAT.md, "Convolution stack"): every network head of
/// a conv-stack model against a naive evaluation written here from the definition (explicitly
/// padded images, one output pixel at a time, max over each window, channel-major flatten, then
/// the dense layers), for both pool orders, a non-monotone activation (so the order matters), a
/// 1x1 kernel, raw and cos/sin images and a stack on the x-networks only; the float32 path; the
/// probe on load; reversibility and the log-det of whole trajectories.
final class ConvStackTests: XCTestCase {
    static func spec(lt: Int = 4, lx: Int = 4, stack: ConvStackSpec, activation: Activation, xNets: Int = 1,
                     xIn: InputEncoding = .cosSinBlocks, vIn: InputEncoding = .raw, units: [Int] = [6, 5], batchNorm: Bool = true) -> SamplerSpec {
        var n = NetworkSpec(layout: .shared, xNetworksPerStep: xNets, xNetInput: xIn, vNetInput: vIn, maskPlacement: xIn == .raw ? nil : .afterTrig,
                            timeInput: true, hiddenUnits: units, activation: activation, batchNorm: batchNorm ? BatchNormSpec(epsilon: 1e-3) : nil)
        n.convStack = stack
        return SamplerSpec(target: .u1(U1Lattice(lt: lt, lx: lx, beta: 2, linkLayout: .muTX)),
                           dynamics: Dynamics(nLF: 2, xUpdate: .ncp, epsVParametrization: .epsOverOnePlusEps), network: n)
    }

    typealias L = ConvStackSpec.Layer
    /// leaky_relu, torch order, torch-like layer list (no activation after the first conv).
    static let torchLike = spec(stack: ConvStackSpec(layers: [L(filters: 3, kernelSize: 3, pool: 1, activation: false),
                                                               L(filters: 4, kernelSize: 2, pool: 2, activation: true)],
                                                      poolOrder: .poolThenActivation, denseUnits: 7), activation: .leakyRelu)
    /// swish (not monotone: pool and activation do not commute), Keras order, a 1x1 kernel, pools
    /// on two layers, stack on the x-networks only, raw x input, 6x4 lattice.
    static let kerasLike = spec(lt: 6, lx: 4, stack: ConvStackSpec(appliesTo: .xNetworks,
                                                                    layers: [L(filters: 2, kernelSize: 1, pool: 2, activation: true),
                                                                             L(filters: 3, kernelSize: 3, pool: 1, activation: true),
                                                                             L(filters: 2, kernelSize: 2, pool: 2, activation: false)],
                                                                    poolOrder: .activationThenPool, denseUnits: 4),
                                activation: .swish, xNets: 2, xIn: .raw, vIn: .cosSinBlocks, units: [5])

    // MARK: The naive evaluation

    static func act(_ a: Double, _ f: Activation) -> Double {
        switch f {
        case .relu: return max(0, a)
        case .tanh: return Foundation.tanh(a)
        case .linear: return a
        case .swish: return a / (1 + Foundation.exp(-a))
        case .leakyRelu: return a >= 0 ? a : 0.01 * a
        }
    }

    /// h_conv of one encoded input row, straight from docs/FORMAT.md section 5.6.
    static func naiveStack(_ model: L2ZModel, _ name: String, xIn: [Double]) throws -> [Double] {
        let net = try model.sampler.network
        guard let stack = net.convStack, case let .u1(l) = try model.sampler.target else { throw XCTSkip("conv stack only") }
        var c = xIn.count / (l.lt * l.lx), h = l.lt, w = l.lx
        // img[c][t][x]
        var img = (0..<c).map { ch in (0..<h).map { t in (0..<w).map { x in xIn[(ch * h + t) * w + x] } } }
        for (j, layer) in stack.layers.enumerated() {
            let k = layer.kernelSize, p = k - 1, co = layer.filters
            let kernel = try model.doubles("\(name).conv_stack.conv\(j).kernel"), bias = try model.doubles("\(name).conv_stack.conv\(j).bias")
            // Explicit periodic padding: padded[i] = in[(i - p) mod L].
            let padded = img.map { plane in (0..<(h + 2 * p)).map { i in (0..<(w + 2 * p)).map { jj in plane[((i - p) % h + h) % h][((jj - p) % w + w) % w] } } }
            let oh = h + p, ow = w + p
            var out = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: ow), count: oh), count: co)
            for o in 0..<co {
                for t in 0..<oh {
                    for x in 0..<ow {
                        var sum = bias[o]
                        for a in 0..<k { for b in 0..<k { for ci in 0..<c { sum += padded[ci][t + a][x + b] * kernel[((a * k + b) * c + ci) * co + o] } } }
                        out[o][t][x] = sum
                    }
                }
            }
            if layer.activation && stack.poolOrder == .activationThenPool { out = out.map { $0.map { $0.map { act($0, net.activation) } } } }
            if layer.pool > 1 {
                let q = layer.pool, ph = oh / q, pw = ow / q
                out = out.map { plane in (0..<ph).map { t in (0..<pw).map { x in
                    var m = -Double.infinity
                    for i in 0..<q { for jj in 0..<q { m = max(m, plane[t * q + i][x * q + jj]) } }
                    return m
                } } }
            }
            if layer.activation && stack.poolOrder == .poolThenActivation { out = out.map { $0.map { $0.map { act($0, net.activation) } } } }
            img = out; c = co; h = out[0].count; w = out[0][0].count
        }
        let flat = img.flatMap { $0.flatMap { $0 } }   // channel-major (c, t, x)
        let kd = try model.doubles("\(name).conv_stack.dense.kernel"), bd = try model.doubles("\(name).conv_stack.dense.bias")
        let d = stack.denseUnits
        XCTAssertEqual(kd.count, flat.count * d)
        return (0..<d).map { o in act(bd[o] + flat.indices.reduce(0) { $0 + flat[$1] * kd[$1 * d + o] }, net.activation) }
    }

    /// S, T, Q of one row through the stack (when the network has it) and the dense layers.
    static func naiveHeads(_ model: L2ZModel, _ name: String, xIn: [Double], vIn: [Double], tau: [Double]) throws -> [Double] {
        let net = try model.sampler.network
        let xl = (net.convStack?.applies(toNetwork: name) ?? false) ? try naiveStack(model, name, xIn: xIn) : xIn
        func dense(_ layer: String, _ input: [Double]) throws -> [Double] {
            let k = try model.doubles("\(name).\(layer).kernel"), b = try model.doubles("\(name).\(layer).bias")
            let out = b.count
            return (0..<out).map { o in b[o] + input.indices.reduce(0) { $0 + input[$1] * k[$1 * out + o] } }
        }
        let a = try dense("x_layer", xl), bv = try dense("v_layer", vIn), bt = try dense("t_layer", tau)
        var h = (0..<a.count).map { act(a[$0] + bv[$0] + bt[$0], net.activation) }
        for i in 1..<net.hiddenUnits.count { h = try dense("hidden\(i)", h).map { act($0, net.activation) } }
        if let bn = net.batchNorm {
            let g = try model.doubles("\(name).batch_norm.gamma"), be = try model.doubles("\(name).batch_norm.beta")
            let m = try model.doubles("\(name).batch_norm.moving_mean"), v = try model.doubles("\(name).batch_norm.moving_variance")
            h = h.indices.map { g[$0] * (h[$0] - m[$0]) / (v[$0] + bn.epsilon).squareRoot() + be[$0] }
        }
        let cs = try model.doubles("\(name).scale.coeff"), cq = try model.doubles("\(name).transformation.coeff")
        let s = try dense("scale", h).enumerated().map { Foundation.tanh($1) * Foundation.exp(cs[$0]) }
        let t = try dense("translation", h)
        let q = try dense("transformation", h).enumerated().map { Foundation.tanh($1) * Foundation.exp(cq[$0]) }
        return s + t + q
    }

    // MARK: Tests

    /// Every network, 3 rows at once (the batched GEMMs over chains and pixels), against the
    /// naive loops. Tolerance 1e-11 absolute: both paths compute the same sums of at most
    /// max(k^2 C, F, H) <= 64 products of O(1) terms in different orders, so they differ by a few
    /// hundred ulps of O(1) values at most (~1e-13); a wrong index, pool window, flatten order or
    /// activation order changes outputs at O(0.01) or more.
    func testEveryHeadMatchesTheNaiveDefinition() throws {
        for (label, spec) in [("torch-like", Self.torchLike), ("keras-like", Self.kerasLike)] {
            var model = try RandomModel.make(sampler: spec, seed: 21)
            if label == "keras-like" {
                // The 1x1 first conv as 3 x identity - 2.5: many pixels land below -1.28, where swish
                // falls, so pooling before or after the activation gives different maxima.
                for net in ["xnet_first.0", "xnet_second.0"] {
                    model.arrays["\(net).conv_stack.conv0.kernel"] = try NDArray(shape: [1, 1, 2, 2], doubles: [3, 0.2, -0.1, 3])
                    model.arrays["\(net).conv_stack.conv0.bias"] = try NDArray(shape: [2], doubles: [-2.5, -2.5])
                }
            }
            let target = U1Action(lattice: U1Lattice(lt: spec.target.testLattice!.lt, lx: spec.target.testLattice!.lx, beta: 2, linkLayout: .muTX))
            let dyn = try L2HMCDynamics(model: model, target: target, capacity: 4)
            let n = spec.stateSize, rows = 3
            for (k, name) in SamplerRules.networkNames(spec).enumerated() {
                let width = (name.hasPrefix("vnet") ? spec.network.vNetInput : spec.network.xNetInput).width(stateSize: n)
                let xIn = Fixtures.normals(rows * width, seed: UInt64(40 + k)), vIn = Fixtures.normals(rows * n, seed: UInt64(60 + k))
                let tau = [cos(0.7), sin(0.7)]
                let got = try dyn.evaluateNetwork(name, xIn: xIn, vIn: vIn, tau: tau, rows: rows)
                var worst = 0.0, spread = 0.0
                for r in 0..<rows {
                    let want = try Self.naiveHeads(model, name, xIn: Array(xIn[(r * width)..<((r + 1) * width)]), vIn: Array(vIn[(r * n)..<((r + 1) * n)]), tau: tau)
                    let row = Array(got.s[(r * n)..<((r + 1) * n)]) + Array(got.t[(r * n)..<((r + 1) * n)]) + Array(got.q[(r * n)..<((r + 1) * n)])
                    worst = max(worst, zip(row, want).map { abs($0 - $1) }.max() ?? .infinity)
                    spread = max(spread, want.map(abs).max() ?? 0)
                }
                XCTAssertLessThanOrEqual(worst, 1e-11, "\(label) \(name)")
                XCTAssertGreaterThan(spread, 0.05, "\(label) \(name): outputs too small for the test to see a wrong stack")
            }
        }
    }

    /// The stack really matters: perturbing one stack weight changes the x-network's outputs, and
    /// with `x_networks` the v-network has no stack and reads its input directly.
    func testStackAppliesWhereTheSpecSays() throws {
        let model = try RandomModel.make(sampler: Self.kerasLike, seed: 3)
        let target = U1Action(lattice: U1Lattice(lt: 6, lx: 4, beta: 2, linkLayout: .muTX))
        let dyn = try L2HMCDynamics(model: model, target: target, capacity: 2)
        XCTAssertNil(dyn.vNets[0].convStack)
        XCTAssertEqual(dyn.xNetsFirst[0].convStack?.outputWidth, 4)
        XCTAssertEqual(dyn.vNets[0].xLayer.inputs, 96)   // cos/sin blocks of 48 links
        XCTAssertEqual(dyn.xNetsSecond[0].xLayer.inputs, 4)
    }

    /// float32 networks: the stack runs in float64, the dense layers in float; the heads agree
    /// with float64 to float rounding (u = 6e-8 times sums of a few dozen O(1) terms: 1e-4 is a
    /// wide bound, while a skipped stack differs at O(0.1)).
    func testFloat32PathAgreesWithFloat64() throws {
        let model = try RandomModel.make(sampler: Self.torchLike, seed: 5)
        let target = U1Action(lattice: U1Lattice(lt: 4, lx: 4, beta: 2, linkLayout: .muTX))
        let d64 = try L2HMCDynamics(model: model, target: target, capacity: 4)
        let d32 = try L2HMCDynamics(model: model, target: target, capacity: 4)
        for net in d32.networks { net.setPrecision(.float32) }
        let n = 32, xIn = Fixtures.normals(2 * 64, seed: 8), vIn = Fixtures.normals(2 * n, seed: 9)
        for name in ["vnet.0", "xnet.0"] {
            let w = name == "vnet.0" ? 32 : 64
            let a = try d64.evaluateNetwork(name, xIn: Array(xIn.prefix(2 * w)), vIn: vIn, tau: [1, 0], rows: 2)
            let b = try d32.evaluateNetwork(name, xIn: Array(xIn.prefix(2 * w)), vIn: vIn, tau: [1, 0], rows: 2)
            let diff = zip(a.s + a.t + a.q, b.s + b.t + b.q).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(diff, 1e-4, name)
            XCTAssertGreaterThan(diff, 0, "\(name): the float32 path was not taken")
        }
    }

    /// The probe computed by this runtime passes on load (float64 and float32), a changed stack
    /// weight fails it, forward then backward returns the start, chunked evaluation over many
    /// chains equals row-by-row evaluation.
    func testProbeReversibilityAndChunking() throws {
        var model = try RandomModel.make(sampler: Self.torchLike, seed: 11, epsX: 0.3, epsV: 0.3)
        let target = U1Action(lattice: U1Lattice(lt: 4, lx: 4, beta: 2, linkLayout: .muTX))
        try ProbeBuilder.addProbe(to: &model, target: target)
        let back = try L2ZReader.read(bytes: try L2ZWriter.encode(model)).model
        XCTAssertNotNil(try ProbeVerifier.verify(model: back, target: target))
        XCTAssertNotNil(try ProbeVerifier.verify(model: back, target: target, precision: .float32))
        var broken = back
        var k = try broken.doubles("xnet.0.conv_stack.conv1.kernel")
        k[5] += 1e-3
        broken.arrays["xnet.0.conv_stack.conv1.kernel"] = try NDArray(shape: [2, 2, 3, 4], doubles: k)
        XCTAssertThrowsError(try ProbeVerifier.verify(model: broken, target: target)) { e in
            XCTAssertEqual((e as? InferenceError)?.code, "probe.mismatch", "\(e)")
        }
        for spec in [Self.torchLike, Self.kerasLike] {
            let m = try RandomModel.make(sampler: spec, seed: 2, epsX: 0.3, epsV: 0.3)
            let lattice = spec.target.testLattice!
            try assertReversible(try L2HMCDynamics(model: m, target: U1Action(lattice: lattice), capacity: 8), label: "\(lattice.lt)x\(lattice.lx) stack")
        }
        // One chunk of 64 chains against 64 single-row evaluations (a stack workspace of 1 row).
        let dyn = try L2HMCDynamics(model: back, target: target, capacity: 64)
        let xIn = Fixtures.normals(64 * 64, seed: 4), vIn = Fixtures.normals(64 * 32, seed: 5)
        let all = try dyn.evaluateNetwork("xnet.0", xIn: xIn, vIn: vIn, tau: [0, 1], rows: 64)
        for r in [0, 17, 63] {
            let one = try dyn.evaluateNetwork("xnet.0", xIn: Array(xIn[(r * 64)..<((r + 1) * 64)]), vIn: Array(vIn[(r * 32)..<((r + 1) * 32)]), tau: [0, 1], rows: 1)
            XCTAssertEqual(Array(all.t[(r * 32)..<((r + 1) * 32)]), one.t, "row \(r)")
        }
    }

    /// `--lowrank` compresses the stack's dense layer (and x_layer) but not its conv kernels; the
    /// compressed h_conv equals the naive definition evaluated with the rank-r kernel P Q put back
    /// in the stored (channel-major) row order (same sums up to order: 1e-11 as above), and
    /// trajectories stay reversible.
    func testLowRankCompressesTheStackDenseLayer() throws {
        var model = try RandomModel.make(sampler: Self.torchLike, seed: 13, epsX: 0.3, epsV: 0.3)
        let target = U1Action(lattice: U1Lattice(lt: 4, lx: 4, beta: 2, linkLayout: .muTX))
        let dyn = try L2HMCDynamics(model: model, target: target, capacity: 8)
        let report = try dyn.compress(.rank(3))
        // 4 x 4 -> 6 (k3) -> 7 (k2) -> pool 2 -> 3: F = 4 * 3 * 3 = 36, D = 7.
        let dense = try XCTUnwrap(report.first { $0.network == "xnet.0" && $0.layer == "conv_stack.dense" })
        XCTAssertEqual([dense.rows, dense.cols, dense.rank], [36, 7, 3])
        XCTAssertFalse(report.contains { $0.layer.contains("conv_stack.conv") })
        let stack = try XCTUnwrap(dyn.xNetsFirst[0].convStack)
        XCTAssertTrue(stack.convs.allSatisfy { $0.lowRank == nil })
        let lr = try XCTUnwrap(stack.dense.lowRank)
        // P Q in the runtime's (t, x, c) rows -> the stored (c, t, x) rows.
        let c = 4, h = 3, w = 3, d = 7
        var stored = [Double](repeating: 0, count: 36 * d)
        for t in 0..<h { for x in 0..<w { for ch in 0..<c { for o in 0..<d {
            let r = (t * w + x) * c + ch
            stored[((ch * h + t) * w + x) * d + o] = (0..<lr.rank).reduce(0) { $0 + lr.p[r * lr.rank + $1] * lr.q[$1 * d + o] }
        } } } }
        model.arrays["xnet.0.conv_stack.dense.kernel"] = try NDArray(shape: [36, d], doubles: stored)
        let ws = ConvStackWorkspace(rows: 2, stacks: [stack])
        let xIn = Fixtures.normals(2 * 64, seed: 3)
        xIn.withUnsafeBufferPointer { stack.evaluate($0.baseAddress!, ldx: 64, rows: 2, into: ws.output.pointer, workspace: ws) }
        for r in 0..<2 {
            let want = try Self.naiveStack(model, "xnet.0", xIn: Array(xIn[(r * 64)..<((r + 1) * 64)]))
            let got = Array(ws.output.array[(r * d)..<((r + 1) * d)])
            XCTAssertLessThanOrEqual(zip(got, want).map { abs($0 - $1) }.max() ?? .infinity, 1e-11, "row \(r)")
        }
        try assertReversible(dyn, label: "conv stack, rank 3")
    }

    /// The workspace splits many chains into chunks within its budget, and the chunks give the
    /// same h_conv as one pass.
    func testChunksWithinBudget() throws {
        let model = try RandomModel.make(sampler: Self.torchLike, seed: 1)
        let net = try L2HMCNetwork(model: model, name: "xnet.0")
        let stack = try XCTUnwrap(net.convStack)
        let rows = 10
        let one = ConvStackWorkspace(rows: rows, stacks: [stack])
        XCTAssertEqual(one.chainsPerChunk, rows)
        let xIn = Fixtures.normals(rows * 64, seed: 3)
        xIn.withUnsafeBufferPointer { stack.evaluate($0.baseAddress!, ldx: 64, rows: rows, into: one.output.pointer, workspace: one) }
        let small = ConvStackWorkspace(rows: rows, stacks: [stack], chunkBudget: 2 * (stack.patchPerChain + 2 * stack.imagePerChain) + 1)
        XCTAssertEqual(small.chainsPerChunk, 2)
        xIn.withUnsafeBufferPointer { stack.evaluate($0.baseAddress!, ldx: 64, rows: rows, into: small.output.pointer, workspace: small) }
        XCTAssertEqual(one.output.array, small.output.array)
    }
}

private extension Target {
    var testLattice: U1Lattice? { if case let .u1(l) = self { return l } else { return nil } }
}
