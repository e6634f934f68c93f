import Converter
import Foundation
import Inference
import ModelFormat
import XCTest

/// Converts every committed Keras fixture (fixtures/keras, made by real Keras) and compares our
/// runtime's network outputs with Keras's own, recorded for fixed inputs.
final class KerasFixtureTests: XCTestCase {
    /// Tolerance: |ours - keras| <= 2e-6 + 1e-5 |keras|.
    ///
    /// Keras computes in float32; we evaluate the same float32 weights and inputs in float64, so
    /// the difference is Keras's rounding. A float32 dot product of K terms is off by at most
    /// about K u sum|a_i b_i| (u = 2^-24 = 6e-8, Higham's gamma_K); here K <= 26 (16 x inputs +
    /// 8 v + 2 t), the terms are O(0.3) and the sums O(1), so each layer contributes at most
    /// ~1e-6 and errors through relu, batch norm (gain <= ~2), tanh (Lipschitz 1) and
    /// exp(coeff) (~1.5) stay below ~5e-6 in the worst case; typical errors are ~1e-7 (they add
    /// like a random walk). The bound holds with margin and is still ~1e4 times smaller than
    /// the effect of any wrong, transposed or permuted weight (O(0.1)).
    static let tolerance = (abs: 2e-6, rel: 1e-5)

    static let lattice2x2: [(FactKey, String)] = [(.lattice, "2x2"), (.beta, "1.0"), (.eps, "0.1"), (.activation, "relu")]

    func testTF2021LayoutsMatchKeras() throws {
        for file in ["tf2021_tfkeras_weights.h5", "tf2021_tfkeras_model.h5", "tf2021_keras3.weights.h5"] {
            let result = try Converter.convert(path: Fixtures.keras(file),
                                               options: options(preset: "tf2-functional-2021", Self.lattice2x2 + [(.xUpdate, "ncp")]))
            let spec = try result.model.sampler
            XCTAssertEqual(result.report.naming, "tf2021", file)
            XCTAssertEqual(spec.network.layout, .perStep, file)
            XCTAssertEqual(spec.network.xNetworksPerStep, 2, file)
            XCTAssertEqual(spec.network.hiddenUnits, [8, 8], file)
            XCTAssertEqual(spec.network.batchNorm, BatchNormSpec(epsilon: 0.001), file)
            XCTAssertEqual(spec.network.scaleHead, .tanh, file)
            XCTAssertEqual(spec.dynamics.translationSign, .minus, file)
            try compareWithKeras(result.model, outputs: Fixtures.keras("tf2021_outputs.npz"), permutation: nil, label: file)
        }
    }

    func testAllTF2021LayoutsGiveTheSameArrays() throws {
        let opts = try options(preset: "tf2-functional-2021", Self.lattice2x2 + [(.xUpdate, "ncp")])
        let reference = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_weights.h5"), options: opts).model
        for file in ["tf2021_tfkeras_model.h5", "tf2021_keras3.weights.h5"] {
            let other = try Converter.convert(path: Fixtures.keras(file), options: opts).model
            XCTAssertEqual(Set(other.arrays.keys), Set(reference.arrays.keys), file)
            for (name, a) in reference.arrays where !name.hasPrefix("probe.") {
                XCTAssertEqual(other.arrays[name], a, "\(file): \(name)")
            }
            // Same weights, same probe inputs: the probes agree too.
            XCTAssertEqual(other.arrays, reference.arrays, file)
        }
    }

    func testSep2020LayoutMatchesKerasAfterFoldingTheLinearLayers() throws {
        let result = try Converter.convert(path: Fixtures.keras("sep2020_tfkeras_weights.h5"),
                                           options: options(preset: "tf2-functional-2020", Self.lattice2x2 + [(.xUpdate, "ncp"), (.nLF, "2")]))
        let spec = try result.model.sampler
        XCTAssertEqual(result.report.naming, "sep2020")
        XCTAssertEqual(spec.network.layout, .shared)
        XCTAssertEqual(spec.network.hiddenUnits, [8], "h_layer1 and h_layer2 are folded into the heads")
        XCTAssertEqual(spec.network.scaleHead, .tanhExpCoeff)
        XCTAssertEqual(spec.network.transformationHead, .tanhExpCoeff)
        XCTAssertEqual(result.model.arrays["xnet.0.scale.coeff"]?.shape, [8], "coeff (1, n) is stored as (n)")
        XCTAssertEqual(result.model.arrays["xnet.0.scale.kernel"]?.dtype, .float64, "folded kernels are computed in float64")
        XCTAssertEqual(result.model.arrays["xnet.0.x_layer.kernel"]?.dtype, .float32, "copied weights keep Keras's float32")
        try compareWithKeras(result.model, outputs: Fixtures.keras("sep2020_outputs.npz"), permutation: nil, label: "sep2020")
        let folded = result.report.rows.filter { $0.target.hasPrefix("(folded)") }
        XCTAssertEqual(folded.count, 8, "h_layer1/2 kernel and bias of both networks are reported as folded")
    }

    /// The 2022 fixture uses the (mu, t, x) link order; the model is written in t_x_mu, so
    /// Keras's inputs are permuted into our order and our outputs compared with Keras's
    /// permuted ones.
    func testHead2022KerasArchiveAndLegacyH5MatchKerasThroughTheLinkPermutation() throws {
        let perm = (0..<8).map { j -> Int in
            // perm[j] = mu_t_x index of the link that is j in t_x_mu (lt = lx = 2).
            let mu = j % 2, x = (j / 2) % 2, t = j / 4
            return (mu * 2 + t) * 2 + x
        }
        for file in ["head2022_keras3.keras", "head2022_keras3_model.h5"] {
            let result = try Converter.convert(path: Fixtures.keras(file),
                                               options: options(preset: "head-2022", Self.lattice2x2 + [(.masks, "checkerboard")]))
            XCTAssertEqual(try result.model.sampler.network.timeInput, false)
            guard case let .u1(l) = try result.model.sampler.target else { return XCTFail("not U(1)") }
            XCTAssertEqual(l.linkLayout, .tXMu)
            XCTAssertTrue(result.report.generated.contains { $0.0 == "(links)" })
            try compareWithKeras(result.model, outputs: Fixtures.keras("head2022_outputs.npz"), permutation: perm, label: file)

            // Kept in the source's own layout, the same file needs no permutation at all.
            let kept = try Converter.convert(path: Fixtures.keras(file), options: options(preset: "head-2022", Self.lattice2x2 + [(.masks, "checkerboard")]) {
                $0.outputLinkLayout = .muTX
            })
            try compareWithKeras(kept.model, outputs: Fixtures.keras("head2022_outputs.npz"), permutation: nil, label: file + " (mu_t_x)")
        }
    }

    /// Control: the tolerance tells networks apart. xnet_first.0 evaluated on its inputs is far
    /// outside the tolerance of xnet_second.0's recorded outputs on the same inputs (same shapes,
    /// other weights), and a single swapped pair of head rows is detected too.
    func testToleranceDiscriminatesWrongWeights() throws {
        let model = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_weights.h5"),
                                          options: options(preset: "tf2-functional-2021", Self.lattice2x2 + [(.xUpdate, "ncp")])).model
        let npz = try readNPZ(Fixtures.keras("tf2021_outputs.npz"))
        let inX = npz["xnet_first.0.in_x"]!.doubles(), inV = npz["xnet_first.0.in_v"]!.doubles(), inT = npz["xnet_first.0.in_t"]!.doubles()
        let other = try evaluate(model, "xnet_second.0", inX: inX, inV: inV, inT: inT, rows: 4)
        let keras = npz["xnet_first.0.out_translation"]!.doubles()
        XCTAssertGreaterThan(worstRatio(other.t, keras, abs: Self.tolerance.abs, rel: Self.tolerance.rel).ratio, 1000)

        var swapped = model
        let k = model.arrays["xnet_first.0.translation.kernel"]!
        swapped.arrays["xnet_first.0.translation.kernel"] = try NDArray(dtype: k.dtype, shape: k.shape,
                                                                       bytes: Array(k.bytes[(8 * 4)..<(16 * 4)] + k.bytes[0..<(8 * 4)] + k.bytes[(16 * 4)...]))
        let wrong = try evaluate(swapped, "xnet_first.0", inX: inX, inV: inV, inT: inT, rows: 4)
        XCTAssertGreaterThan(worstRatio(wrong.t, keras, abs: Self.tolerance.abs, rel: Self.tolerance.rel).ratio, 100)
    }

    /// Evaluates every network in the npz with our runtime and compares all three heads.
    private func compareWithKeras(_ model: L2ZModel, outputs path: String, permutation perm: [Int]?, label: String) throws {
        let npz = try readNPZ(path)
        let n = try model.sampler.stateSize
        let nets = Set(npz.keys.map { $0.components(separatedBy: ".").prefix(2).joined(separator: ".") }).sorted()
        XCTAssertEqual(nets, SamplerRules.networkNames(try model.sampler).sorted(), "\(label): every network has recorded outputs")
        var worst = 0.0
        for net in nets {
            var inX = npz["\(net).in_x"]!.doubles(), inV = npz["\(net).in_v"]!.doubles()
            let inT = npz["\(net).in_t"]?.doubles()
            let rows = npz["\(net).in_v"]!.shape[0]
            let width = inX.count / rows
            if let perm {
                let encoding = net.hasPrefix("vnet") ? try model.sampler.network.vNetInput : try model.sampler.network.xNetInput
                let rowMap: [Int]
                switch encoding {
                case .raw: rowMap = perm
                case .cosSinBlocks: rowMap = perm + perm.map { $0 + n }
                case .cosSinInterleaved: rowMap = perm.flatMap { [2 * $0, 2 * $0 + 1] }
                }
                inX = (0..<rows).flatMap { r in rowMap.map { inX[r * width + $0] } }
                inV = (0..<rows).flatMap { r in perm.map { inV[r * n + $0] } }
            }
            let ours = try evaluate(model, net, inX: inX, inV: inV, inT: inT, rows: rows)
            for (head, actual) in [("out_scale", ours.s), ("out_translation", ours.t), ("out_transformation", ours.q)] {
                var keras = npz["\(net).\(head)"]!.doubles()
                if let perm { keras = (0..<rows).flatMap { r in perm.map { keras[r * n + $0] } } }
                let w = worstRatio(actual, keras, abs: Self.tolerance.abs, rel: Self.tolerance.rel)
                worst = max(worst, w.diff)
                XCTAssertLessThanOrEqual(w.ratio, 1, "\(label) \(net).\(head): element \(w.index) differs by \(w.diff) (ours \(actual[max(w.index, 0)]), keras \(keras[max(w.index, 0)]))")
                // A real comparison: outputs are not trivially zero.
                XCTAssertGreaterThan(keras.map(abs).max() ?? 0, 1e-3, "\(label) \(net).\(head) is not trivial")
            }
        }
        print("\(label): largest |ours - keras| = \(worst)")
    }
}
