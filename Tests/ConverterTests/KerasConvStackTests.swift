import Foundation
import HDF5Kit
import Inference
import ModelFormat
import XCTest
@testable import Converter

/// The upstream TensorFlow convolution stack in Keras files (fixtures/keras/conv2022_*, made by
/// real Keras with make_keras_conv_fixture.py): its names, the `conv_pool` fact, and the
/// conversion into the format's `conv_stack` compared with Keras's recorded outputs.
final class KerasConvStackTests: XCTestCase {
    func testTheNamingMapsTheStackLayers() {
        XCTAssertEqual(KerasNaming.tf2021.match("xnet_first0/xnet_first0_Conv2D-0/kernel:0".replacingOccurrences(of: ":0", with: "")),
                       WeightRef(net: .xFirst, step: 0, layer: .convStack(0), variable: "kernel"))
        XCTAssertEqual(KerasNaming.tf2021.match("xnet_second3_Conv2D-12/bias"), WeightRef(net: .xSecond, step: 3, layer: .convStack(12), variable: "bias"))
        XCTAssertEqual(KerasNaming.tf2021.match("model_weights/xnet_first0/xnet_first0_DenseOutput/kernel"),
                       WeightRef(net: .xFirst, step: 0, layer: .convStackDense, variable: "kernel"))
        XCTAssertEqual(KerasNaming.tf2021.match("xnet_first0_DenseOutput/kernel")?.canonicalName, "xnet_first.0.conv_stack.dense.kernel")
        XCTAssertEqual(KerasNaming.tf2021.match("xnet_first0_Conv2D-1/kernel")?.canonicalName, "xnet_first.0.conv_stack.conv1.kernel")
        // Not stack layers: no index, a non-numeric index, an unknown network, a variable a conv does not have.
        for name in ["xnet_first0_Conv2D-/kernel", "xnet_first0_Conv2D-a/kernel", "qnet0_Conv2D-0/kernel", "xnet_first0_Conv2D-0/gamma",
                     "xnet_first0_Conv2D-123/kernel"] {
            XCTAssertNil(KerasNaming.tf2021.match(name), name)
        }
    }

    /// A model configuration's stack: what it states, and each form the format cannot hold refused.
    func testModelConfigurationOfAStack() throws {
        func config(_ layers: [String]) -> [UInt8] {
            Array(#"{"class_name": "Functional", "config": {"name": "outer", "layers": [{"class_name": "Functional", "config": {"name": "xnet_first0", "layers": ["#
                  .utf8) + Array(layers.joined(separator: ", ").utf8) + Array("]}}]}}".utf8)
        }
        func pad(_ size: Int) -> String { #"{"class_name": "PeriodicPadding", "config": {"name": "periodic_padding", "size": \#(size)}}"# }
        func conv(_ j: Int, k: String = "[3, 3]", padding: String = "valid", strides: String = "[1, 1]", act: String = "swish", name: String? = nil) -> String {
            #"{"class_name": "Conv2D", "config": {"name": "\#(name ?? "xnet_first0_Conv2D-\(j)")", "kernel_size": \#(k), "padding": "\#(padding)", "strides": \#(strides), "dilation_rate": [1, 1], "use_bias": true, "activation": "\#(act)"}}"#
        }
        func pool(_ p: Int, strides: String = "null") -> String {
            #"{"class_name": "MaxPooling2D", "config": {"name": "max_pooling2d", "pool_size": [\#(p), \#(p)], "strides": \#(strides), "padding": "valid"}}"#
        }
        let dense = #"{"class_name": "Dense", "config": {"name": "xnet_first0_DenseOutput", "units": 32, "activation": "swish"}}"#
        let good = [pad(2), conv(0), pad(1), conv(1, k: "[2, 2]", act: "linear"), pool(2), dense]
        let stated = try StatedFacts.parse(config(good), origin: "model_config", path: "m.h5")
        XCTAssertEqual(stated.convStacks["xnet_first.0"], [0: .init(activation: true, pool: 1), 1: .init(activation: false, pool: 2)])
        XCTAssertEqual(stated.activation?.value, .swish)
        let bad: [(String, [String])] = [
            ("padding \"same\"", [pad(2), conv(0, padding: "same"), dense]),
            ("strides (2, 2)", [conv(0, strides: "[2, 2]"), dense]),
            ("kernel_size", [conv(0, k: "[3, 2]"), dense]),
            ("pads by 1", [pad(1), conv(0), dense]),
            ("stride = window", [conv(0), pool(2, strides: "[1, 1]"), dense]),
            ("does not follow a convolution", [pool(2), conv(0), dense]),
            ("at most one pool", [conv(0), pool(2), pool(2), dense]),
            ("no activation", [conv(0), #"{"class_name": "Dense", "config": {"name": "xnet_first0_DenseOutput", "units": 32, "activation": "linear"}}"#]),
            ("not named {net}{k}_Conv2D-{j}", [conv(0, name: "conv2d"), dense]),
            ("different hidden activations", [conv(0, act: "relu"), dense]),
        ]
        for (reason, layers) in bad {   // each refused for its own reason (named in the message)
            let e = assertConvertError("convert.unsupported_source") { _ = try StatedFacts.parse(config(layers), origin: "model_config", path: "m.h5") }
            XCTAssertTrue("\(e.map { "\($0)" } ?? "")".contains(reason), "\(reason): \(e.map { "\($0)" } ?? "nothing thrown")")
        }
    }

    func testConvPoolFact() throws {
        var f = Facts()
        try f.set(.convPool, text: "2, 3,1", origin: "--conv-pool")
        XCTAssertEqual(f.convPool?.value, [2, 3, 1])
        for bad in ["", "2,,2", "0", "2,x", "65", "-1"] {
            assertConvertError("convert.invalid_fact") { try f.set(.convPool, text: bad, origin: "--conv-pool") }
        }
        XCTAssertEqual(FactKey.convPool.flag, "--conv-pool")
    }

    // MARK: - Conversion (format 1.3 conv_stack)

    /// Tolerance: |ours - keras| <= 1e-5 + 1e-5 |keras|.
    ///
    /// Keras computes in float32, we evaluate the same float32 weights in float64, so the
    /// difference is Keras's rounding. A float32 sum of K products is off by at most about
    /// K u sum|a_i b_i| (u = 2^-24 = 6e-8); the widest sums here are K = 64 (x_layer and v_layer,
    /// 32 inputs each), 36 (conv0: 3 x 3 x 4) and 27 (the stack's dense), with sum|a_i b_i| of a
    /// few units, so each layer contributes at most ~1e-5 in the worst case and typically ~1e-7;
    /// swish (slope <= 1.1), max-pool (slope 1) and tanh (slope <= 1) do not amplify it. The
    /// generator measured 2.9e-7 between Keras and a float64 evaluation. Every wrong convention the
    /// fixture tells apart is far outside: pool before the activation 4.4e-3, no activation on the
    /// first convolution 1.1, unpermuted dense rows 0.24 (make_keras_conv_fixture.py).
    static let tolerance = (abs: 1e-5, rel: 1e-5)
    static let lattice4x4: [(FactKey, String)] = [(.lattice, "4x4"), (.beta, "1.0"), (.eps, "0.1"), (.masks, "checkerboard")]
    static let expectedStack = ConvStackSpec(appliesTo: .xNetworks,
                                             layers: [.init(filters: 2, kernelSize: 3, pool: 1, activation: true),
                                                      .init(filters: 3, kernelSize: 2, pool: 2, activation: true)],
                                             poolOrder: .activationThenPool, denseUnits: 32)

    func testEveryLayoutMatchesKerasThroughTheConvolutionStack() throws {
        let cases: [(String, [(FactKey, String)])] = [
            ("conv2022_tfkeras_model.h5", []),          // activation and pools stated by model_config
            ("conv2022_keras3.keras", []),              // ... by config.json
            ("conv2022_tfkeras_weights.h5", [(.activation, "swish"), (.convPool, "2,2")]),   // weights only: facts
        ]
        for (file, extra) in cases {
            let result = try Converter.convert(path: Fixtures.keras(file), options: options(preset: "head-2022", Self.lattice4x4 + extra))
            let spec = try result.model.sampler
            XCTAssertEqual(spec.network.convStack, Self.expectedStack, file)
            XCTAssertEqual(spec.network.activation, .swish, file)
            guard case let .u1(l) = spec.target else { return XCTFail("not U(1)") }
            XCTAssertEqual(l.linkLayout, .muTX, "\(file): a stack keeps the (mu, t, x) order")
            XCTAssertEqual(result.model.arrays["xnet_first.0.conv_stack.conv0.kernel"]?.shape, [3, 3, 4, 2], file)
            XCTAssertEqual(result.model.arrays["xnet_first.0.conv_stack.dense.kernel"]?.shape, [27, 32], file)
            XCTAssertEqual(result.model.arrays["xnet_first.0.x_layer.kernel"]?.shape, [32, 8], file)
            XCTAssertNil(result.model.arrays["vnet.0.conv_stack.dense.kernel"], "\(file): upstream TF v-networks have no stack")
            XCTAssertTrue(result.report.facts.contains { $0.0 == "conv_pool" }, file)
            try compareWithKeras(result.model, label: file)
        }
    }

    /// The dense kernel's rows are Keras's, permuted: format row (c h + t) w + x is Keras row
    /// (t w + x) C + c (C = 3, h = w = 3), the same values bit for bit.
    func testDenseRowsArePermutedFromNHWCToChannelMajor() throws {
        let a = try Converter.convert(path: Fixtures.keras("conv2022_tfkeras_model.h5"), options: options(preset: "head-2022", Self.lattice4x4)).model
        let ours = a.arrays["xnet_first.0.conv_stack.dense.kernel"]!.doubles()
        let h5 = try HDF5File.open(Fixtures.keras("conv2022_tfkeras_model.h5"))
        defer { try? h5.close() }
        let file = try h5.readDataset("/model_weights/xnet_first0/xnet_first0_DenseOutput/kernel:0")
        XCTAssertEqual(file.shape, [27, 32])
        let theirs = file.doubles
        for c in 0..<3 { for t in 0..<3 { for x in 0..<3 {
            let o = (c * 3 + t) * 3 + x, k = (t * 3 + x) * 3 + c
            XCTAssertEqual(Array(ours[(o * 32)..<((o + 1) * 32)]), Array(theirs[(k * 32)..<((k + 1) * 32)]), "row \(o)")
        } } }
        XCTAssertNotEqual(ours, theirs, "the permutation is not the identity here")
    }

    func testRefusals() throws {
        let weights = Fixtures.keras("conv2022_tfkeras_weights.h5"), model = Fixtures.keras("conv2022_tfkeras_model.h5")
        // Weights only: the pools are nowhere in the file.
        var e = assertConvertError("convert.missing_fact") {
            _ = try Converter.convert(path: weights, options: options(preset: "head-2022", Self.lattice4x4 + [(.activation, "swish")]))
        }
        XCTAssertTrue("\(e!)".contains("'conv_pool'"), "\(e!)")
        // Wrong pools: the flattened image is 3 x 2 x 2 = 12 wide, the file's dense kernel has 27 rows.
        e = assertConvertError("convert.shape_mismatch") {
            _ = try Converter.convert(path: weights, options: options(preset: "head-2022", Self.lattice4x4 + [(.activation, "swish"), (.convPool, "3,3")]))
        }
        XCTAssertTrue("\(e!)".contains("DenseOutput") && "\(e!)".contains("27"), "\(e!)")
        // A configuration states pool 2: a different fact is a conflict, as is a list of the wrong length.
        assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: model, options: options(preset: "head-2022", Self.lattice4x4 + [(.convPool, "3,3")]))
        }
        assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: model, options: options(preset: "head-2022", Self.lattice4x4 + [(.convPool, "2")]))
        }
        // 1 x 16 has the same n = 32 links, but the 3 x 3 kernel's padding 2 exceeds the single
        // row: upstream's slice padding is not periodic padding there (refused before any shape).
        e = assertConvertError("convert.unsupported_source") {
            _ = try Converter.convert(path: model, options: options(preset: "head-2022", [(.lattice, "1x16"), (.beta, "1"), (.eps, "0.1"), (.masks, "checkerboard")]))
        }
        XCTAssertTrue("\(e!)".contains("periodic padding"), "\(e!)")
        // The stack reads (mu, t, x): neither another output layout nor a t_x_mu source.
        assertConvertError("convert.option_not_accepted") {
            _ = try Converter.convert(path: model, options: options(preset: "head-2022", Self.lattice4x4) { $0.outputLinkLayout = .tXMu })
        }
        assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: model, options: options(preset: "head-2022", Self.lattice4x4 + [(.linkLayout, "t_x_mu")]))
        }
    }

    /// Evaluates every network in conv2022_outputs.npz with our runtime and compares the heads.
    private func compareWithKeras(_ model: L2ZModel, label: String) throws {
        let npz = try readNPZ(Fixtures.keras("conv2022_outputs.npz"))
        let nets = Set(npz.keys.map { $0.components(separatedBy: ".").prefix(2).joined(separator: ".") }).sorted()
        XCTAssertEqual(nets, SamplerRules.networkNames(try model.sampler).sorted(), "\(label): every network has recorded outputs")
        var worst = 0.0
        for net in nets {
            let rows = npz["\(net).in_v"]!.shape[0]
            let ours = try evaluate(model, net, inX: npz["\(net).in_x"]!.doubles(), inV: npz["\(net).in_v"]!.doubles(), inT: nil, rows: rows)
            for (head, actual) in [("out_scale", ours.s), ("out_translation", ours.t), ("out_transformation", ours.q)] {
                let keras = npz["\(net).\(head)"]!.doubles()
                let w = worstRatio(actual, keras, abs: Self.tolerance.abs, rel: Self.tolerance.rel)
                worst = max(worst, w.diff)
                XCTAssertLessThanOrEqual(w.ratio, 1, "\(label) \(net).\(head): element \(w.index) differs by \(w.diff)")
                XCTAssertGreaterThan(keras.map(abs).max() ?? 0, 1e-2, "\(label) \(net).\(head) is not trivial")
            }
        }
        print("\(label): largest |ours - keras| = \(worst)")
    }
}
