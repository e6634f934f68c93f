import Foundation
import ModelFormat
import XCTest

/// `l2hmc-convert` on the Keras convolution-stack fixture: `--conv-pool` through the child
/// process, the model it writes (format 1.3, mu_t_x), and the missing fact's usage exit.
final class ConvertKerasConvStackCLITests: XCTestCase {
    static let facts = ["--preset", "head-2022", "--lattice", "4x4", "--beta", "1", "--eps", "0.1", "--masks", "checkerboard", "--activation", "swish"]

    func testConvPoolFlagConvertsTheWeightsOnlyFile() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("conv.l2z").path
        let missing = try CLI.run("l2hmc-convert", ["fixtures/keras/conv2022_tfkeras_weights.h5", out] + Self.facts)
        XCTAssertEqual(missing.status, 64, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("[convert.missing_fact]") && missing.stderr.contains("--conv-pool"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        let convert = try CLI.run("l2hmc-convert", ["fixtures/keras/conv2022_tfkeras_weights.h5", out, "--conv-pool", "2,2"] + Self.facts)
        XCTAssertEqual(convert.status, 0, convert.stderr)
        let model = try L2ZReader.read(path: out).model
        XCTAssertEqual(try model.sampler.network.convStack?.layers.map(\.pool), [1, 2])
        XCTAssertEqual(try model.sampler.network.convStack?.appliesTo, .xNetworks)
        guard case let .u1(l) = try model.sampler.target else { return XCTFail("not U(1)") }
        XCTAssertEqual(l.linkLayout, .muTX)
    }
}
