import Foundation
import XCTest
import Audit
import CL2HMCKernels
import ModelFormat
@testable import Inference

/// `--precision float32`: the float twins of the networks against the double networks (an
/// independent path: double GEMMs and kernels), reversibility of the float32 proposal, the
/// float32 probe tolerance, and the float64 path left untouched.
final class Float32NetworkTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures")
    static func shipped(_ name: String) throws -> L2ZModel { try L2ZReader.read(path: fixtures.appendingPathComponent(name).path).model }

    /// Evaluates every network of `dyn` on the same random inputs in float64 and in float32.
    /// Bound per output: u G max(1, max |out|), u = 2^-24 and G the network's rounding growth
    /// (the first-order worst-case bound of the float roundings, ProbeVerifier's heads widening).
    /// Returns the largest difference seen (so a caller can check the float path really ran).
    @discardableResult
    private func assertNetworksAgree(_ model: L2ZModel, label: String, compress: Int? = nil, rows: Int = 8) throws -> Double {
        let target = makeTarget(try model.sampler.target)
        let d64 = try L2HMCDynamics(model: model, target: target, capacity: rows)
        let d32 = try L2HMCDynamics(model: model, target: target, capacity: rows)
        if let r = compress { try d64.compress(.rank(r)); try d32.compress(.rank(r)) }
        d32.setPrecision(.float32)
        XCTAssertEqual(d32.precision, .float32)
        XCTAssertEqual(d64.precision, .float64)
        let n = try model.sampler.stateSize
        var worst = 0.0
        for net in d64.networks {
            let width = net.xLayer.inputs
            let xIn = Fixtures.normals(rows * width, seed: 31), vIn = Fixtures.normals(rows * n, seed: 32, scale: 2)
            let tau: [Double]? = try model.sampler.network.timeInput ? [0.6, -0.8] : nil
            let a = try d64.evaluateNetwork(net.name, xIn: xIn, vIn: vIn, tau: tau, rows: rows)
            let b = try d32.evaluateNetwork(net.name, xIn: xIn, vIn: vIn, tau: tau, rows: rows)
            let bound = NetworkPrecision.float32.unitRoundoff * Double(net.float32RoundingGrowth)
            for (head, x, y) in [("S", a.s, b.s), ("T", a.t, b.t), ("Q", a.q, b.q)] {
                let d = Fixtures.maxDifference(x, y, compact: false), scale = max(1, x.map(abs).max() ?? 0)
                XCTAssertLessThanOrEqual(d, bound * scale, "\(label) \(net.name) \(head): float32 differs by \(d), bound \(bound * scale)")
                worst = max(worst, d / scale)
            }
        }
        return worst
    }

    func testFloat32NetworksAgreeWithFloat64WithinTheRoundingBoundOnShippedModels() throws {
        for file in ["default.l2z", "gmm2-trained.l2z"] {
            let worst = try assertNetworksAgree(try Self.shipped(file), label: file)
            // A float path that silently ran in double would give 0; float roundings give ~u.
            XCTAssertGreaterThan(worst, 1e-10, "\(file): no float32 rounding visible; the float path did not run")
            print("float32 networks, \(file): largest |difference| / scale \(worst) (u = 6e-8)")
        }
    }

    /// Every kernel path of the float twin: batch norm with tanh, swish, the small-input fused
    /// layer (mixture), low-rank layers (all heads of one rank: factored heads in the x updates),
    /// two x-networks per step.
    func testFloat32PathsAgreeForEveryArchitecture() throws {
        let specs: [(String, SamplerSpec, Int?)] = [
            ("tanh batch norm", Fixtures.u1Sampler(activation: .tanh, batchNorm: true), nil),
            ("swish interleaved", Fixtures.u1Sampler(xInput: .cosSinInterleaved, placement: .afterTrig, activation: .swish), nil),
            ("mixture small input", Fixtures.mixtureSampler(), nil),
            ("low rank 3", Fixtures.u1Sampler(lt: 4, lx: 4, units: [16, 16]), 3),
            ("per step two x-nets", Fixtures.u1Sampler(layout: .perStep, xNets: 2), nil),
        ]
        for (label, spec, rank) in specs {
            let model = try RandomModel.make(sampler: spec, seed: 5, epsX: 0.3, epsV: 0.3)
            let worst = try assertNetworksAgree(model, label: label, compress: rank)
            XCTAssertGreaterThan(worst, 1e-10, "\(label): no float32 rounding visible")
            // Whole trajectories: float32 and float64 proposals from the same start stay close
            // (4 N_LF network calls, each within the bound above, entering the updates linearly).
            let target = makeTarget(spec.target)
            let d64 = try L2HMCDynamics(model: model, target: target, capacity: 4), d32 = try L2HMCDynamics(model: model, target: target, capacity: 4)
            if let r = rank { try d64.compress(.rank(r)); try d32.compress(.rank(r)) }
            d32.setPrecision(.float32)
            let n = spec.stateSize, compact = target.isCompact
            let x0 = compact ? Fixtures.angles(4 * n, seed: 41) : Fixtures.normals(4 * n, seed: 41), v0 = Fixtures.normals(4 * n, seed: 42)
            let a = d64.run(x: x0, v: v0, rows: 4, forward: true), b = d32.run(x: x0, v: v0, rows: 4, forward: true)
            let growth = Double(d32.networks.map(\.float32RoundingGrowth).max() ?? 0)
            let bound = ProbeVerifier.float32Widening(growth: growth, factor: Double(4 * spec.dynamics.nLF), expected: a.v)
            XCTAssertLessThanOrEqual(Fixtures.maxDifference(a.x, b.x, compact: compact), bound, "\(label): x after a float32 trajectory")
            XCTAssertLessThanOrEqual(Fixtures.maxDifference(a.v, b.v, compact: false), bound, "\(label): v after a float32 trajectory")
        }
    }

    /// Forward then backward with float32 networks returns the start like float64 does: both
    /// directions evaluate the same float networks on states that differ only by double
    /// roundings, which the float rounding of the inputs mostly absorbs. Bound 1e-12, the same as
    /// the float64 reversibility tests (measured: ~2e-15 on both fixtures and W2-like weights).
    func testFloat32ForwardThenBackwardReturnsTheStart() throws {
        let w2 = Fixtures.u1Sampler(lt: 8, lx: 8, nLF: 4, layout: .perStep, units: [256, 256])
        for (label, model) in [("default.l2z", try Self.shipped("default.l2z")), ("gmm2-trained.l2z", try Self.shipped("gmm2-trained.l2z")),
                               ("W2-like random [256, 256]", try RandomModel.make(sampler: w2, seed: 3, epsX: 0.1, epsV: 0.1, weightScale: 0.3))] {
            let target = makeTarget(try model.sampler.target)
            let dyn = try L2HMCDynamics(model: model, target: target, capacity: 16)
            dyn.setPrecision(.float32)
            let n = try model.sampler.stateSize
            let states = target.isCompact ? Fixtures.angles(16 * n, seed: 51) : Fixtures.normals(16 * n, seed: 51)
            let r = ReversibilityCheck.run(l2hmc: dyn, hmc: nil, target: target, states: states, count: 16, random: ChainRandom(seed: 9))
            XCTAssertEqual(r.precision, .float32)
            XCTAssertEqual(r.chains, 16)
            XCTAssertLessThanOrEqual(r.maxDx, 1e-12, "\(label): |dx|")
            XCTAssertLessThanOrEqual(r.maxDv, 1e-12, "\(label): |dv|")
            XCTAssertLessThanOrEqual(r.maxLogDetSum, 1e-12, "\(label): log-dets")
            XCTAssertEqual(r.dxQuantile(1), r.maxDx)
        }
    }

    /// The float32 probe tolerance accepts both shipped models in float32, is needed (the
    /// double producer's tolerance refuses float32 on the mixture), and still catches a stored
    /// trajectory off by ten times the widening.
    func testProbeVerifiesInFloat32AtItsToleranceAndStillCatchesAMismatch() throws {
        for file in ["default.l2z", "gmm2-trained.l2z"] {
            let model = try Self.shipped(file)
            let target = makeTarget(try model.sampler.target)
            XCTAssertNoThrow(try ProbeVerifier.verify(model: model, target: target, precision: .float32), file)
        }
        var model = try Self.shipped("gmm2-trained.l2z")
        let target = makeTarget(try model.sampler.target)
        let report = try XCTUnwrap(try ProbeVerifier.verify(model: model, target: target, precision: .float32))
        let x1 = try XCTUnwrap(report.maxDifferences[ProbeArrayNames.Trajectory.x1])
        XCTAssertGreaterThan(x1, 1e-9, "float32 x1 within the float64 producer's tolerance: the widening would not be needed")
        var stored = try model.doubles(ProbeArrayNames.Trajectory.x1)
        let dyn = try L2HMCDynamics(model: model, target: target, capacity: 1)
        let widening = ProbeVerifier.float32Widening(growth: Double(dyn.networks.map(\.float32RoundingGrowth).max() ?? 0),
                                                     factor: try Double(4 * model.sampler.dynamics.nLF), expected: stored)
        stored[0] += 10 * widening
        model.arrays[ProbeArrayNames.Trajectory.x1] = try NDArray(shape: [stored.count / model.sampler.stateSize, model.sampler.stateSize], doubles: stored)
        XCTAssertThrowsError(try ProbeVerifier.verify(model: model, target: target, precision: .float32)) { error in
            guard case InferenceError.probeMismatch = error else { return XCTFail("expected a probe mismatch, got \(error)") }
        }
    }

    /// Switching back to float64 gives the double path bit for bit (the float twin is gone).
    func testSwitchingBackToFloat64IsBitIdenticalToNeverSwitching() throws {
        let model = try Self.shipped("default.l2z")
        let target = makeTarget(try model.sampler.target)
        let fresh = try L2HMCDynamics(model: model, target: target, capacity: 4), toggled = try L2HMCDynamics(model: model, target: target, capacity: 4)
        toggled.setPrecision(.float32)
        toggled.setPrecision(.float64)
        let n = try model.sampler.stateSize
        let x0 = Fixtures.angles(4 * n, seed: 61), v0 = Fixtures.normals(4 * n, seed: 62)
        let a = fresh.run(x: x0, v: v0, rows: 4, forward: true), b = toggled.run(x: x0, v: v0, rows: 4, forward: true)
        XCTAssertEqual(a.x, b.x)
        XCTAssertEqual(a.v, b.v)
        XCTAssertEqual(a.logDet, b.logDet)
    }

    /// The float kernels equal their double twins applied to the widened inputs and rounded once
    /// to float (the double kernels are checked against glibc in VectorMathTests), on every
    /// instruction set; whole float32 trajectories are bit-identical across instruction sets.
    func testFloat32KernelsRoundTheDoubleKernelsOnceOnEveryInstructionSet() throws {
        let best = VectorMath.instructionSetLevel
        defer { VectorMath.setInstructionSet(best) }
        let rows = 5, cols = 37, k1 = 3, k2 = 2
        let a = Fixtures.normals(rows * cols, seed: 81, scale: 3).map { Float($0) }, row = Fixtures.normals(cols, seed: 82).map { Float($0) }
        let in1 = Fixtures.normals(rows * k1, seed: 83).map { Float($0) }, in2 = Fixtures.normals(rows * k2, seed: 84).map { Float($0) }
        let w1 = Fixtures.normals(k1 * cols, seed: 85).map { Float($0) }, w2 = Fixtures.normals(k2 * cols, seed: 86).map { Float($0) }
        func widened(_ x: [Float]) -> [Double] { x.map { Double($0) } }
        func run() throws -> [UInt64] {
            var out: [UInt64] = []
            for act in [L2K_LINEAR, L2K_RELU, L2K_TANH, L2K_SWISH].map({ Int32($0) }) {
                var f = a, d = widened(a), dRow = widened(row)
                l2k_bias_activate_f32(&f, rows, cols, row, act)
                l2k_bias_activate(&d, rows, cols, &dRow, act)
                XCTAssertEqual(f.map(\.bitPattern), d.map { Float($0).bitPattern }, "bias_activate_f32, activation \(act)")
                var h = [Float](repeating: 0, count: rows * cols), hd = [Double](repeating: 0, count: rows * cols)
                l2k_small_input_layer_f32(in1, k1, k1, w1, in2, k2, k2, w2, rows, cols, row, act, &h)
                l2k_small_input_layer(widened(in1), k1, k1, widened(w1), widened(in2), k2, k2, widened(w2), rows, cols, widened(row), act, &hd)
                XCTAssertEqual(h.map(\.bitPattern), hd.map { Float($0).bitPattern }, "small_input_layer_f32, activation \(act)")
                out += (f + h).map { UInt64($0.bitPattern) }
            }
            var roundTrip = [Double](repeating: 0, count: a.count), narrowed = [Float](repeating: 0, count: a.count)
            l2k_to_f64(a, &roundTrip, a.count)
            l2k_to_f32(roundTrip, &narrowed, a.count)
            XCTAssertEqual(roundTrip, widened(a))
            XCTAssertEqual(narrowed, a)
            let d = Fixtures.normals(999, seed: 87)
            var n32 = [Float](repeating: 0, count: d.count)
            l2k_to_f32(d, &n32, d.count)
            XCTAssertEqual(n32, d.map { Float($0) }, "to_f32 rounds to nearest like Float(_:)")
            for spec in [Fixtures.u1Sampler(lt: 4, lx: 4, nLF: 2, xNets: 2, units: [16, 16], activation: .swish), Fixtures.mixtureSampler()] {
                let dyn = try Fixtures.dynamics(spec, eps: 0.3, capacity: 5)
                dyn.setPrecision(.float32)
                let n = spec.stateSize
                let x0 = dyn.target.isCompact ? Fixtures.angles(5 * n, seed: 88) : Fixtures.normals(5 * n, seed: 88)
                let r = dyn.run(x: x0, v: Fixtures.normals(5 * n, seed: 89), rows: 5, forward: true)
                out += (r.x + r.v + r.logDet).map(\.bitPattern)
            }
            return out
        }
        VectorMath.setInstructionSet(best)
        let reference = try run()
        for isa in 0..<best {
            XCTAssertEqual(VectorMath.setInstructionSet(isa), isa)
            XCTAssertEqual(try run(), reference, "instruction set \(isa) differs from \(best)")
        }
    }

    /// Measured distribution for docs/RUNTIME.md (L2HMC_F32_REPORT=1): per-chain max |dx| of
    /// forward then backward, 256 chains, float64 vs float32, on the shipped model and W2's
    /// random weights.
    func testReportReversibilityDistribution() throws {
        guard ProcessInfo.processInfo.environment["L2HMC_F32_REPORT"] != nil else { throw XCTSkip("set L2HMC_F32_REPORT=1") }
        let w2 = Benchmark.Workload.w2.spec
        for (label, model) in [("default.l2z", try Self.shipped("default.l2z")),
                               ("W2 random weights", try RandomModel.make(sampler: w2, seed: 1, epsX: 0.1, epsV: 0.1, weightScale: 0.3))] {
            let target = makeTarget(try model.sampler.target)
            for p in NetworkPrecision.allCases {
                let dyn = try L2HMCDynamics(model: model, target: target, capacity: 256)
                dyn.setPrecision(p)
                let n = try model.sampler.stateSize
                let r = ReversibilityCheck.run(l2hmc: dyn, hmc: nil, target: target, states: Fixtures.angles(256 * n, seed: 71), count: 256,
                                               random: ChainRandom(seed: 1))
                print(String(format: "REPORT %@ %@: per-chain max |dx| 50%% %.2e 90%% %.2e 99%% %.2e max %.2e; max |dv| %.2e; max |logdet sum| %.2e",
                             label, p.rawValue, r.dxQuantile(0.5), r.dxQuantile(0.9), r.dxQuantile(0.99), r.maxDx, r.maxDv, r.maxLogDetSum))
            }
        }
    }
}
