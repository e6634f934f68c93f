import Converter
import Foundation
import Inference
import ModelFormat
import XCTest

/// Converts the upstream-PyTorch L2HMC fixtures (fixtures/torch-l2hmc, made with REAL PyTorch by
/// make_torch_l2hmc_fixtures.py) and compares our runtime with PyTorch's own outputs: every
/// network head and a full forward trajectory.
///
/// Two references, two tolerances:
/// - PyTorch in float64 (the same float32 weights, `model.double()`): both sides then compute the
///   same formulas in float64, in a different operation order (our NCP uses the atan2 form, our
///   GEMMs are OpenBLAS's). Rounding differences are O(1e-16) per operation and grow at most a
///   few hundredfold through two leapfrog steps (8 sub-updates, networks of width 8), so
///   |ours - torch64| <= 1e-10 (abs + rel) keeps a margin of > 1e3 and is still 1e3 below
///   float32's rounding (1e-7), the smallest difference a wrong weight, sign or mask could make.
/// - PyTorch in float32 (what upstream computes): our float64 result must be as close to it as
///   PyTorch's own float64 result is: max|ours - torch32| <= 1.01 max|torch64 - torch32| + 1e-9.
final class TorchL2HMCFixtureTests: XCTestCase {
    static let tight = (abs: 1e-10, rel: 1e-10)

    func testHead2023CheckpointPthAndSafetensorsGiveTheSameModel() throws {
        let a = try convertHead2023("ckpt-1-0-5-2026-11-26-120000.tar")
        for other in ["model-1-0-5-2026-11-26-120000.pth", "head2023.safetensors"] {
            let b = try convertHead2023(other)
            XCTAssertEqual(Set(a.model.arrays.keys), Set(b.model.arrays.keys), other)
            for (name, array) in a.model.arrays { XCTAssertEqual(b.model.arrays[name], array, "\(other): \(name)") }
        }
        XCTAssertEqual(a.report.naming, "torch-2023")
        // The checkpoint dict's counters are kept in the provenance (the .pth has none).
        XCTAssertEqual(a.model.provenance.training?["checkpoint"], .object(["era": .int(1), "epoch": .int(0), "gstep": .int(5)]))
        let ignored = a.report.rows.filter { $0.target == "ignored" }
        XCTAssertTrue(ignored.contains { $0.source.hasPrefix("optimizer_state_dict.") }, "optimizer state is listed as ignored")
        XCTAssertTrue(ignored.contains { $0.source.hasSuffix("num_batches_tracked") })
        XCTAssertTrue(ignored.contains { $0.note.hasPrefix("alias of ") })
    }

    func testHead2023MatchesPyTorch() throws {
        let result = try convertHead2023("ckpt-1-0-5-2026-11-26-120000.tar")
        let spec = try result.model.sampler
        XCTAssertEqual(spec.network.layout, .perStep)
        XCTAssertEqual(spec.network.xNetworksPerStep, 2)
        XCTAssertEqual(spec.network.hiddenUnits, [8, 8])
        XCTAssertEqual(spec.network.activation.rawValue, "leaky_relu")
        XCTAssertEqual(spec.network.batchNorm, BatchNormSpec(epsilon: 1e-5))
        XCTAssertEqual(spec.dynamics.epsXParametrization, .epsOverOnePlusEps)
        try compare(result.model, outputs: "head2023-outputs.npz", label: "head2023")
    }

    func testShared2022MatchesPyTorch() throws {
        let result = try Converter.convert(path: Fixtures.torchL2HMC("shared2022.pt"), options: options(preset: "torch-2022-12", [(.masks, Fixtures.torchL2HMC("shared2022-masks.npy"))]) {
            $0.configPath = Fixtures.torchL2HMC("shared2022-config.yaml")
            $0.outputLinkLayout = .muTX
        })
        XCTAssertEqual(try result.model.sampler.network.layout, .shared)
        XCTAssertEqual(try result.model.sampler.dynamics.nLF, 3, "n_lf from the number of xeps/veps parameters")
        try compare(result.model, outputs: "shared2022-outputs.npz", label: "shared2022")
    }

    func testLinearCoefficientEraMatchesPyTorch() throws {
        let result = try Converter.convert(path: Fixtures.torchL2HMC("linear2022-model.pth"), options: options(preset: "torch-2022-08", [(.masks, Fixtures.torchL2HMC("linear2022-masks.npy"))]) {
            $0.configPath = Fixtures.torchL2HMC("linear2022-config.yaml")
            $0.outputLinkLayout = .muTX
        })
        XCTAssertTrue(result.report.generated.contains { $0.0.hasSuffix(".scale.bias") && $0.1.hasPrefix("zeros") }, "the era's heads have no bias")
        try compare(result.model, outputs: "linear2022-outputs.npz", label: "linear2022")
    }

    /// The default output layout (t_x_mu) computes the same trajectory with the links renumbered.
    func testPermutedOutputLayoutGivesTheSameTrajectory() throws {
        let direct = try convertHead2023("head2023.safetensors")
        let permuted = try Converter.convert(path: Fixtures.torchL2HMC("head2023.safetensors"), options: head2023Options(layout: nil))
        XCTAssertEqual(try permuted.model.sampler.u1LinkLayout, .tXMu)
        let npz = try readNPZ(Fixtures.torchL2HMC("head2023-outputs.npz"))
        let n = 32, perm = LinkPermutationForTests.perm(lt: 4, lx: 4)   // perm[j] = mu_t_x index of t_x_mu link j
        let x0 = Array(npz["traj.x0"]!.doubles()[0..<n]), v0 = Array(npz["traj.v0"]!.doubles()[0..<n])
        let a = try trajectory(direct.model, x0: x0, v0: v0, forward: true)
        let b = try trajectory(permuted.model, x0: perm.map { x0[$0] }, v0: perm.map { v0[$0] }, forward: true)
        for j in 0..<n {
            XCTAssertEqual(b.x[j], a.x[perm[j]], accuracy: 1e-12)
            XCTAssertEqual(b.v[j], a.v[perm[j]], accuracy: 1e-12)
        }
        XCTAssertEqual(a.logDet, b.logDet, accuracy: 1e-12)
    }

    // MARK: Helpers

    func head2023Options(layout: LinkLayout? = .muTX) throws -> ConversionOptions {
        try options(preset: "torch-2023-06", [(.masks, Fixtures.torchL2HMC("head2023-masks.npy"))]) {
            $0.configPath = Fixtures.torchL2HMC("head2023-config.yaml")
            $0.outputLinkLayout = layout
        }
    }

    func convertHead2023(_ file: String) throws -> ConversionResult {
        try Converter.convert(path: Fixtures.torchL2HMC(file), options: head2023Options())
    }

    /// Heads of every network and the forward trajectory against PyTorch (float64 and float32);
    /// upstream's backward trajectory is measured against our exact inverse.
    func compare(_ model: L2ZModel, outputs file: String, label: String) throws {
        let npz = try readNPZ(Fixtures.torchL2HMC(file))
        let n = try model.sampler.stateSize
        let nets = SamplerRules.networkNames(try model.sampler)
        var worst64 = 0.0, worst32 = 0.0
        func check(_ ours: [Double], _ key: String, angles: Bool = false) {
            let t64 = npz[key]!.doubles(), t32 = npz["f32." + key]!.doubles()
            func diff(_ a: Double, _ b: Double) -> Double { angles ? abs(remainder(a - b, 2 * .pi)) : abs(a - b) }
            var own = 0.0, ref = 0.0, tight = 0.0
            for i in ours.indices {
                tight = max(tight, diff(ours[i], t64[i]) / (Self.tight.abs + Self.tight.rel * abs(t64[i])))
                own = max(own, diff(ours[i], t32[i]))
                ref = max(ref, diff(t64[i], t32[i]))
                worst64 = max(worst64, diff(ours[i], t64[i]))
            }
            worst32 = max(worst32, own)
            XCTAssertLessThanOrEqual(tight, 1, "\(label) \(key): ours vs PyTorch float64")
            XCTAssertLessThanOrEqual(own, 1.01 * ref + 1e-9, "\(label) \(key): ours vs PyTorch float32 (PyTorch's own float64 is within \(ref))")
            XCTAssertGreaterThan(t64.map(abs).max() ?? 0, 1e-3, "\(label) \(key) is not trivial")
        }
        for net in nets {
            let inX = npz["\(net).in_x"]!.doubles(), inV = npz["\(net).in_v"]!.doubles()
            let rows = npz["\(net).in_v"]!.shape[0]
            let ours = try evaluate(model, net, inX: inX, inV: inV, inT: nil, rows: rows)
            check(ours.s, "\(net).out_scale")
            check(ours.t, "\(net).out_translation")
            check(ours.q, "\(net).out_transformation")
        }
        let x0 = npz["traj.x0"]!.doubles(), v0 = npz["traj.v0"]!.doubles()
        let chains = x0.count / n
        var x1: [Double] = [], v1: [Double] = [], ld: [Double] = [], backwardGap = 0.0, roundTrip = 0.0
        let xb = npz["traj.xb"]!.doubles()
        for c in 0..<chains {
            let xs = Array(x0[(c * n)..<((c + 1) * n)]), vs = Array(v0[(c * n)..<((c + 1) * n)])
            let f = try trajectory(model, x0: xs, v0: vs, forward: true)
            x1 += f.x; v1 += f.v; ld.append(f.logDet)
            // Our backward is the exact inverse; upstream's NCP backward is not.
            let b = try trajectory(model, x0: xs, v0: vs, forward: false)
            for i in 0..<n { backwardGap = max(backwardGap, abs(remainder(b.x[i] - xb[c * n + i], 2 * .pi))) }
            let back = try trajectory(model, x0: f.x, v0: f.v, forward: false)
            for i in 0..<n { roundTrip = max(roundTrip, abs(remainder(back.x[i] - xs[i], 2 * .pi)), abs(back.v[i] - vs[i])) }
        }
        check(x1, "traj.x1", angles: true)
        check(v1, "traj.v1")
        check(ld, "traj.logdet")
        XCTAssertLessThan(roundTrip, 1e-12, "\(label): our backward trajectory inverts the forward one")
        XCTAssertGreaterThan(backwardGap, 1e-6, "\(label): upstream's NCP backward differs from the exact inverse (the defect is not copied)")
        print("\(label): max |ours - torch64| = \(worst64), max |ours - torch32| = \(worst32), max |exact backward - upstream backward| (x) = \(backwardGap), round trip \(roundTrip)")
    }
}

extension SamplerSpec {
    var u1LinkLayout: LinkLayout? { if case let .u1(l) = target { return l.linkLayout }; return nil }
}

/// Independent of the converter's LinkPermutation: written from the two index formulas.
enum LinkPermutationForTests {
    /// perm[j] = the mu_t_x index of the link whose t_x_mu index is j.
    static func perm(lt: Int, lx: Int) -> [Int] {
        var p = [Int](repeating: 0, count: 2 * lt * lx)
        for t in 0..<lt { for x in 0..<lx { for mu in 0..<2 { p[(t * lx + x) * 2 + mu] = (mu * lt + t) * lx + x } } }
        return p
    }
}
