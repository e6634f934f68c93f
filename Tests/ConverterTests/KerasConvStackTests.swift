import Converter
import Foundation
import Inference
import ModelFormat
import XCTest

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

    func testConvPoolFact() throws {
        var f = Facts()
        try f.set(.convPool, text: "2, 3,1", origin: "--conv-pool")
        XCTAssertEqual(f.convPool?.value, [2, 3, 1])
        for bad in ["", "2,,2", "0", "2,x", "65", "-1"] {
            assertConvertError("convert.invalid_fact") { try f.set(.convPool, text: bad, origin: "--conv-pool") }
        }
        XCTAssertEqual(FactKey.convPool.flag, "--conv-pool")
    }
}
