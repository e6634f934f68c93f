import Foundation
import HDF5Kit
import ModelFormat
import XCTest
@testable import Converter

/// The format's `leaky_relu` (PyTorch's nn.LeakyReLU(), slope 0.01) through the converter:
/// `--activation leaky_relu` is a fact like any other (a weights-only Keras save states no
/// activation), the result is a format 1.1 file computing the leaky network; a Keras
/// configuration's own leaky ReLU (slopes 0.2 and 0.3, other functions) is refused, saying why.
final class LeakyReluConverterTests: XCTestCase {
    static let facts: [(FactKey, String)] = [(.lattice, "2x2"), (.beta, "1"), (.eps, "0.1"), (.xUpdate, "ncp")]

    /// vnet.0 of the 2021 fixture computed here from the HDF5 weights (hidden act, batch norm,
    /// tanh heads), as StatedFactsTests does for swish.
    func testActivationFactGivesALeakyReluModelThatComputesTheLeakyNetwork() throws {
        let result = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_weights.h5"),
                                           options: try options(preset: "tf2-functional-2021", Self.facts + [(.activation, "leaky_relu")]))
        let model = result.model
        XCTAssertEqual(try model.sampler.network.activation, .leakyRelu)
        let back = try L2ZReader.read(bytes: try L2ZWriter.encode(model))
        XCTAssertEqual(back.manifest.formatVersion.description, "1.1")
        XCTAssertTrue(back.manifest.requiredFeatures.contains("leaky_relu"))

        // Same weights as the model.h5 save (one model saved both ways by the fixture generator).
        let file = try HDF5File.open(Fixtures.keras("tf2021_tfkeras_model.h5"))
        func w(_ layer: String, _ variable: String) throws -> [Double] { try file.readDataset("/model_weights/vnet0/vnet0_\(layer)/\(variable):0").doubles }
        let (wx, bx, wv, bv, wt, bt) = (try w("x_layer", "kernel"), try w("x_layer", "bias"), try w("v_layer", "kernel"), try w("v_layer", "bias"),
                                        try w("t_layer", "kernel"), try w("t_layer", "bias"))
        let (w0, b0) = (try w("h0_layer", "kernel"), try w("h0_layer", "bias"))
        let (gamma, beta, mean, variance) = (try w("batch_norm1", "gamma"), try w("batch_norm1", "beta"), try w("batch_norm1", "moving_mean"),
                                             try w("batch_norm1", "moving_variance"))
        let (ws, bs, wl, bl, wq, bq) = (try w("scale_layer", "kernel"), try w("scale_layer", "bias"), try w("transl_layer", "kernel"),
                                        try w("transl_layer", "bias"), try w("transf_layer", "kernel"), try w("transf_layer", "bias"))
        let npz = try readNPZ(Fixtures.keras("tf2021_outputs.npz"))
        let inX = npz["vnet.0.in_x"]!.doubles(), inV = npz["vnet.0.in_v"]!.doubles(), inT = npz["vnet.0.in_t"]!.doubles()
        let rows = 4, n = 8, units = 8
        func dense(_ x: ArraySlice<Double>, _ k: [Double], _ b: [Double]) -> [Double] {
            var y = b
            for (i, xi) in x.enumerated() { for j in 0..<b.count { y[j] += xi * k[i * b.count + j] } }
            return y
        }
        func forward(_ act: (Double) -> Double) -> [Double] {
            var out: [Double] = []
            for r in 0..<rows {
                let a = dense(inX[(r * n)..<((r + 1) * n)], wx, bx), b = dense(inV[(r * n)..<((r + 1) * n)], wv, bv)
                let c = dense(inT[(r * 2)..<((r + 1) * 2)], wt, bt)
                let h1 = (0..<units).map { act(a[$0] + b[$0] + c[$0]) }
                let h2 = dense(h1[...], w0, b0).map(act)
                let normed = (0..<units).map { j -> Double in (h2[j] - mean[j]) * (gamma[j] / (variance[j] + 0.001).squareRoot()) + beta[j] }
                out += dense(normed[...], ws, bs).map { Foundation.tanh($0) }
                out += dense(normed[...], wl, bl)
                out += dense(normed[...], wq, bq).map { Foundation.tanh($0) }
            }
            return out
        }
        let ours = try evaluate(model, "vnet.0", inX: inX, inV: inV, inT: inT, rows: rows)
        var actual: [Double] = []
        for r in 0..<rows {
            let row: Range<Int> = (r * n)..<((r + 1) * n)
            actual += ours.s[row]; actual += ours.t[row]; actual += ours.q[row]
        }
        let leaky = forward { $0 >= 0 ? $0 : 0.01 * $0 }, relu = forward { max(0, $0) }
        // The same float32 weights in float64 both sides, sums of at most 8 terms in another order: 1e-12 is ample.
        let worst = worstRatio(actual, leaky, abs: 1e-12, rel: 1e-12)
        XCTAssertLessThanOrEqual(worst.ratio, 1, "converted leaky_relu model vs reference: \(worst)")
        XCTAssertGreaterThan(zip(leaky, relu).map { Swift.abs($0 - $1) }.max() ?? 0, 1e-4, "leaky_relu and relu differ here: the test discriminates")
    }

    /// A Keras configuration's leaky ReLU, in each form it takes, is refused with the reason.
    func testKerasLeakyReluIsRefusedWithTheReason() throws {
        let layers: [(String, String)] = [
            ("the leaky_relu activation", #"{"class_name": "Activation", "config": {"name": "act", "activation": "leaky_relu"}}"#),
            ("a LeakyReLU layer (Keras 3)", #"{"class_name": "LeakyReLU", "config": {"name": "lr", "negative_slope": 0.01}}"#),
            ("a LeakyReLU layer (tf-keras)", #"{"class_name": "LeakyReLU", "config": {"name": "lr", "alpha": 0.3}}"#),
            ("tf.nn.leaky_relu", #"{"class_name": "TFOpLambda", "config": {"name": "tf.nn.leaky_relu", "function": "nn.leaky_relu"}}"#),
        ]
        for (label, layer) in layers {
            let config = #"{"class_name": "Functional", "config": {"name": "m", "layers": ["# + layer + "]}}"
            let error = assertConvertError("convert.unsupported_source") {
                _ = try StatedFacts.parse(Array(config.utf8), origin: "model_config", path: "m.h5")
            }
            let text = "\(error.map { "\($0)" } ?? "")"
            XCTAssertTrue(text.contains("PyTorch's nn.LeakyReLU() with slope 0.01, a different function from Keras's"), "\(label): \(text)")
        }
        // The stated slope is named.
        let slope = assertConvertError("convert.unsupported_source") {
            _ = try StatedFacts.parse(Array(#"{"class_name": "LeakyReLU", "config": {"name": "lr", "alpha": 0.3}}"#.utf8), origin: "model_config", path: "m.h5")
        }
        XCTAssertTrue("\(slope.map { "\($0)" } ?? "")".contains("negative slope 0.3"), "\(slope.map { "\($0)" } ?? "")")
        // relu still reads.
        let relu = try StatedFacts.parse(Array(#"{"class_name": "Activation", "config": {"name": "a", "activation": "relu"}}"#.utf8), origin: "model_config", path: "m.h5")
        XCTAssertEqual(relu.activation?.value, .relu)
    }
}
