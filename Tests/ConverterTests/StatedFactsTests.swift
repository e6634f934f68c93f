import Converter
import Foundation
import HDF5Kit
import ModelFormat
import XCTest

/// Issue 9: a preset could silently produce a wrong model. Facts a Keras file states about itself
/// (its model configuration: hidden activation, batch-norm epsilon, Dense units) are read; a
/// preset or flag contradicting them is `convert.conflicting_fact` naming both values, and the
/// activation, which the functional eras made configurable, is required unless the file states it.
final class StatedFactsTests: XCTestCase {
    var scratch: Scratch!
    override func setUpWithError() throws { scratch = try Scratch() }
    override func tearDown() { scratch.cleanUp() }

    /// The facts the 2021 preset leaves open, except the activation.
    static let open2021: [(FactKey, String)] = [(.lattice, "2x2"), (.beta, "1"), (.eps, "0.1"), (.xUpdate, "ncp")]
    /// tf2021_tfkeras_model.h5 with its model_config's hidden activations changed to swish
    /// (fixtures/keras/make_swish_fixture.py): a tf-keras model.save of the 2021 networks built
    /// with activation_fn swish. Same weights as the relu fixture.
    static let swishModel = Fixtures.keras("tf2021_swish_model.h5")

    func testSwishModelIsRefusedWithAReluFactAndConvertsAsSwishFromTheFile() throws {
        // A flag contradicting the file: refused, naming both values and where each comes from.
        let flag = assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: Self.swishModel, options: try options(preset: "tf2-functional-2021", Self.open2021 + [(.activation, "relu")]))
        }
        XCTAssertEqual("\(flag!)", "[convert.conflicting_fact] fact 'activation': the file's model_config states swish (vnet0/activation), but --activation gives relu")
        XCTAssertTrue((flag as? ConvertError)?.isUsageError ?? false)
        // A preset that fixes relu (the TF2 eager era did) contradicts it too.
        let preset = assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: Self.swishModel, options: try options(preset: "tf2-eager-2020", [(.lattice, "2x2"), (.beta, "1"), (.eps, "0.1")]))
        }
        XCTAssertTrue("\(preset!)".contains("states swish") && "\(preset!)".contains("preset tf2-eager-2020 gives relu"), "\(preset!)")

        // The 2021 preset leaves the activation open: the file's swish is used, and said so.
        let swish = try Converter.convert(path: Self.swishModel, options: try options(preset: "tf2-functional-2021", Self.open2021))
        XCTAssertEqual(try swish.model.sampler.network.activation, .swish)
        XCTAssertTrue(swish.report.facts.contains { $0.0 == "activation" && $0.1 == "swish" && $0.2 == "the file (model_config)" }, "\(swish.report.facts)")
        // The right fact given explicitly converts the same.
        let given = try Converter.convert(path: Self.swishModel, options: try options(preset: "tf2-functional-2021", Self.open2021 + [(.activation, "swish")]))
        XCTAssertEqual(try given.model.sampler, try swish.model.sampler)

        // Only the activation differs from the relu file (same weights): nothing else was read differently.
        let relu = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_model.h5"), options: try options(preset: "tf2-functional-2021", Self.open2021))
        XCTAssertEqual(try relu.model.sampler.network.activation, .relu)
        var expected = try relu.model.sampler
        expected.network.activation = .swish
        XCTAssertEqual(try swish.model.sampler, expected)
        XCTAssertEqual(swish.model.arrays.filter { !$0.key.hasPrefix("probe.") }, relu.model.arrays.filter { !$0.key.hasPrefix("probe.") })
    }

    /// The converted swish model computes the swish network. The reference is a forward pass
    /// written here from Keras's definitions (Dense y = x W + b; the 2021 network: act(x_layer +
    /// v_layer + t_layer), act(h0_layer), batch norm with moving statistics, heads tanh / linear /
    /// tanh), reading the weights with HDF5Kit; it is first checked against Keras's own recorded
    /// relu outputs, then run with swish.
    func testConvertedSwishModelComputesTheSwishNetwork() throws {
        let file = try HDF5File.open(Self.swishModel)
        func w(_ layer: String, _ variable: String) throws -> [Double] { try file.readDataset("/model_weights/vnet0/vnet0_\(layer)/\(variable):0").doubles }
        let (wx, bx, wv, bv, wt, bt) = (try w("x_layer", "kernel"), try w("x_layer", "bias"), try w("v_layer", "kernel"), try w("v_layer", "bias"),
                                        try w("t_layer", "kernel"), try w("t_layer", "bias"))
        let (w0, b0) = (try w("h0_layer", "kernel"), try w("h0_layer", "bias"))
        let (gamma, beta, mean, variance) = (try w("batch_norm1", "gamma"), try w("batch_norm1", "beta"), try w("batch_norm1", "moving_mean"), try w("batch_norm1", "moving_variance"))
        let (ws, bs, wl, bl, wq, bq) = (try w("scale_layer", "kernel"), try w("scale_layer", "bias"), try w("transl_layer", "kernel"), try w("transl_layer", "bias"),
                                        try w("transf_layer", "kernel"), try w("transf_layer", "bias"))
        let npz = try readNPZ(Fixtures.keras("tf2021_outputs.npz"))
        let inX = npz["vnet.0.in_x"]!.doubles(), inV = npz["vnet.0.in_v"]!.doubles(), inT = npz["vnet.0.in_t"]!.doubles()
        let rows = 4, n = 8, units = 8
        func dense(_ x: ArraySlice<Double>, _ k: [Double], _ b: [Double]) -> [Double] {
            var y = b
            for (i, xi) in x.enumerated() {
                for j in 0..<b.count { y[j] += xi * k[i * b.count + j] }
            }
            return y
        }
        func forward(_ act: (Double) -> Double) -> (s: [Double], t: [Double], q: [Double]) {
            var s: [Double] = [], t: [Double] = [], q: [Double] = []
            for r in 0..<rows {
                let a = dense(inX[(r * n)..<((r + 1) * n)], wx, bx), b = dense(inV[(r * n)..<((r + 1) * n)], wv, bv)
                let c = dense(inT[(r * 2)..<((r + 1) * 2)], wt, bt)
                var sum = [Double](repeating: 0, count: units)
                for j in 0..<units { sum[j] = act(a[j] + b[j] + c[j]) }
                let h0 = dense(sum[...], w0, b0).map(act)
                var normed = [Double](repeating: 0, count: units)
                for j in 0..<units {
                    let centred: Double = h0[j] - mean[j]
                    let scale: Double = gamma[j] / (variance[j] + 0.001).squareRoot()
                    normed[j] = centred * scale + beta[j]
                }
                s += dense(normed[...], ws, bs).map { Foundation.tanh($0) }
                t += dense(normed[...], wl, bl)
                q += dense(normed[...], wq, bq).map { Foundation.tanh($0) }
            }
            return (s, t, q)
        }
        // The reference reproduces Keras (float32 arithmetic there: KerasFixtureTests' tolerance).
        let relu = forward { max(0, $0) }
        for (head, mine) in [("out_scale", relu.s), ("out_translation", relu.t), ("out_transformation", relu.q)] {
            let worst = worstRatio(mine, npz["vnet.0.\(head)"]!.doubles(), abs: 2e-6, rel: 1e-5)
            XCTAssertLessThanOrEqual(worst.ratio, 1, "reference vs Keras, relu \(head): \(worst)")
        }
        // The converted model computes the swish network: the same float32 weights in float64
        // arithmetic both sides, sums of at most 8 terms in another order, so 1e-12 is ample.
        let model = try Converter.convert(path: Self.swishModel, options: try options(preset: "tf2-functional-2021", Self.open2021)).model
        let ours = try evaluate(model, "vnet.0", inX: inX, inV: inV, inT: inT, rows: rows)
        let swish = forward { $0 / (1 + Foundation.exp(-$0)) }
        let heads: [(String, [Double], [Double], [Double])] = [("S", ours.s, swish.s, relu.s), ("T", ours.t, swish.t, relu.t), ("Q", ours.q, swish.q, relu.q)]
        for (label, actual, expected, other) in heads {
            let worst = worstRatio(actual, expected, abs: 1e-12, rel: 1e-12)
            XCTAssertLessThanOrEqual(worst.ratio, 1, "converted swish model vs reference \(label): \(worst)")
            let gap: Double = zip(expected, other).map { Swift.abs($0 - $1) }.max() ?? 0
            XCTAssertGreaterThan(gap, 1e-3, "swish and relu differ in \(label): the test discriminates")
        }
    }

    func testStatedFactsOfTheRealKerasFixtures() throws {
        // tf-keras model.save (relu, batch norm epsilon 0.001) and a Keras 3 .keras (config.json, relu, no batch norm).
        let eps = assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_model.h5"),
                                      options: try options(preset: "tf2-functional-2021", Self.open2021 + [(.batchNormEpsilon, "1e-5")]))
        }
        XCTAssertEqual("\(eps!)", "[convert.conflicting_fact] fact 'batch_norm_epsilon': the file's model_config states 0.001 (vnet0/vnet0_batch_norm1), but --batch-norm-epsilon gives 1e-05")
        let keras = try Converter.convert(path: Fixtures.keras("head2022_keras3.keras"),
                                          options: try options(preset: "head-2022", [(.lattice, "2x2"), (.beta, "1"), (.eps, "0.1"), (.masks, "checkerboard")]))
        XCTAssertEqual(try keras.model.sampler.network.activation, .relu)
        XCTAssertTrue(keras.report.facts.contains { $0.0 == "activation" && $0.2 == "the file (config.json)" }, "\(keras.report.facts)")
        // A weights-only save states nothing: the activation is then a required fact.
        let missing = assertConvertError("convert.missing_fact") {
            _ = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_weights.h5"), options: try options(preset: "tf2-functional-2021", Self.open2021))
        }
        XCTAssertTrue("\(missing!)".contains("missing fact 'activation'") && "\(missing!)".contains("--activation"), "\(missing!)")
    }

    /// Model configurations edited with h5py (python3 with h5py is required: scripts/setup.sh).
    func testConfigsTheFormatCannotHonourAreRefused() throws {
        let script = #"""
        import json, shutil, sys, h5py
        src, dst, edit = sys.argv[1], sys.argv[2], sys.argv[3]
        shutil.copyfile(src, dst)
        with h5py.File(dst, "r+", libver=("earliest", "v110")) as f:
            c = json.loads(f.attrs["model_config"])
            nets = [l for l in c["config"]["layers"] if "layers" in l["config"]]
            layer = {l["config"]["name"]: l for l in nets[1]["config"]["layers"]}
            if edit == "units": layer["xnet_first0_h0_layer"]["config"]["units"] = 16
            if edit == "elu": layer["activation_1"]["config"]["activation"] = "elu"
            if edit == "mixed": layer["activation_1"]["config"]["activation"] = "tanh"
            if edit == "json": c = None
            f.attrs["model_config"] = "{not json" if edit == "json" else json.dumps(c)
        """#
        var made: [String: String] = [:]
        for edit in ["units", "elu", "mixed", "json"] {
            let path = scratch.file("\(edit).h5")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", "-c", script, Fixtures.keras("tf2021_tfkeras_model.h5"), path, edit]
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "python3 with h5py is required (scripts/setup.sh)")
            made[edit] = path
        }
        let opts = try options(preset: "tf2-functional-2021", Self.open2021)
        let units = assertConvertError("convert.conflicting_fact") { _ = try Converter.convert(path: made["units"]!, options: opts) }
        XCTAssertTrue("\(units!)".contains("layer xnet_first0/xnet_first0_h0_layer has 16 units, but its kernel /model_weights/xnet_first0/xnet_first0_h0_layer/kernel:0 has shape [8, 8]"), "\(units!)")
        let elu = assertConvertError("convert.unsupported_source") { _ = try Converter.convert(path: made["elu"]!, options: opts) }
        XCTAssertTrue("\(elu!)".contains("the activation \"elu\""), "\(elu!)")
        let mixed = assertConvertError("convert.unsupported_source") { _ = try Converter.convert(path: made["mixed"]!, options: opts) }
        XCTAssertTrue("\(mixed!)".contains("different hidden activations, relu") && "\(mixed!)".contains("tanh (xnet_first0/activation_1)"), "\(mixed!)")
        assertConvertError("convert.unsupported_source") { _ = try Converter.convert(path: made["json"]!, options: opts) }
    }
}
