import Foundation
import XCTest
@testable import ModelFormat

/// The `flow` model family (docs/FORMAT.md section 13): the array table written out by hand from
/// the contract, shapes independent of the lattice size, a byte-identical round trip with the
/// manifest keys the contract lists, a malformed-manifest table for every field, and l2hmc-only
/// code refusing a flow with `model.wrong_family`.
final class FlowFormatTests: XCTestCase {
    static func spec(lt: Int = 8, lx: Int = 8, layers: Int = 3, hidden: [Int] = [4, 5], nMix: Int = 2, kernel: Int = 3,
                     activation: Activation = .leakyRelu) -> FlowSpec {
        FlowSpec(target: U1Lattice(lt: lt, lx: lx, beta: 2, linkLayout: .muTX),
                 coupling: FlowCoupling(layers: layers, nMix: nMix, kernelSize: kernel, hiddenChannels: hidden,
                                        activation: activation, angleConvention: .zeroToTwoPi),
                 hmc: FlowHMCSettings(stepSize: 0.1, nLF: 10))
    }

    func testArrayTableMatchesTheContractAndIgnoresTheLatticeSize() throws {
        let s = Self.spec(layers: 2, hidden: [4, 5], nMix: 2, kernel: 3)
        var expected: [String: [Int]] = [:]
        for i in 0..<2 {
            expected["layer\(i).conv0.kernel"] = [3, 3, 2, 4]; expected["layer\(i).conv0.bias"] = [4]
            expected["layer\(i).conv1.kernel"] = [3, 3, 4, 5]; expected["layer\(i).conv1.bias"] = [5]
            expected["layer\(i).conv2.kernel"] = [3, 3, 5, 3]; expected["layer\(i).conv2.bias"] = [3]  // n_mix scales + 1 shift
        }
        let model = ModelSpec.flow(s)
        XCTAssertEqual(model.expectedArrays(probe: nil).mapValues(\.shape), expected)
        XCTAssertEqual(model.expectedArrayCount(probe: nil), expected.count)
        XCTAssertEqual(ModelSpec.flow(Self.spec(lt: 16, lx: 24, layers: 2)).expectedArrays(probe: nil), model.expectedArrays(probe: nil),
                       "no shape may depend on the lattice size")
        // No hidden layer: one convolution from (cos, sin) to the n_mix + 1 outputs.
        XCTAssertEqual(ModelSpec.flow(Self.spec(layers: 1, hidden: [], nMix: 4, kernel: 5)).expectedArrays(probe: nil).mapValues(\.shape),
                       ["layer0.conv0.kernel": [5, 5, 2, 5], "layer0.conv0.bias": [5]])
        let probe = ProbeSpec(batch: 3, networks: [], trajectory: true, headsTolerance: Tolerance(abs: 0, rel: 0),
                              trajectoryTolerance: Tolerance(abs: 0, rel: 0), logDetTolerance: Tolerance(abs: 0, rel: 0))
        let withProbe = model.expectedArrays(probe: probe)
        XCTAssertEqual(withProbe["probe.flow.z"]?.shape, [3, 128]); XCTAssertEqual(withProbe["probe.flow.x"]?.shape, [3, 128])
        XCTAssertEqual(withProbe["probe.flow.force"]?.shape, [3, 128]); XCTAssertEqual(withProbe["probe.flow.log_det"]?.shape, [3])
        XCTAssertEqual(model.expectedArrayCount(probe: probe), expected.count + 4)
    }

    func testWriterRoundTripsByteIdenticallyWithTheContractKeys() throws {
        let model = try RandomModel.make(flow: Self.spec(), seed: 3)
        let bytes = try L2ZWriter.encode(model)
        let written = try LeakyReluFormatTests.written(bytes)
        XCTAssertEqual(written.version, "1.0", "a family needs no format-version bump (FORMAT.md 7.1)")
        XCTAssertEqual(written.features, [])
        let back = try L2ZReader.read(bytes: bytes)
        XCTAssertEqual(back.model, model)
        XCTAssertEqual(try L2ZWriter.encode(back.model), bytes)
        guard case let .object(root) = try ZipSurgery.Parts(bytes: bytes).manifest, case let .object(flow)? = root["flow"],
              case let .object(hmc)? = root["hmc"] else { return XCTFail("no flow or hmc object") }
        XCTAssertEqual(root["architecture"], .object(["name": .string("flow"), "version": .int(1)]))
        XCTAssertEqual(Set(root.keys), ["format", "format_version", "required_features", "architecture", "arrays", "provenance", "target", "flow", "hmc"])
        XCTAssertEqual(Set(flow.keys), ["coupling", "layers", "mask_rule", "n_mix", "kernel_size", "hidden_channels", "activation", "prior", "angle_convention"])
        XCTAssertEqual(flow["coupling"], .string("u1_plaquette_ncp"))
        XCTAssertEqual(Set(hmc.keys), ["step_size", "n_lf"])
    }

    func testMalformedFlowManifests() throws {
        let file = try L2ZWriter.encode(try RandomModel.make(flow: Self.spec(), seed: 4))
        func edited(_ edits: [([String], JSONValue?)]) throws -> [UInt8] { try LeakyReluFormatTests.edited(file, edits) }
        let cases: [(String, [UInt8], String?, String?)] = [
            // (label, file, expected code or nil = loads, a part of the message)
            ("as written", file, nil, nil),
            ("unknown family version", try edited([(["architecture", "version"], .int(2))]), "manifest.unsupported_architecture", "flow v2"),
            ("t_x_mu layout", try edited([(["target", "link_layout"], .string("t_x_mu"))]), "manifest.invalid_value", "target.link_layout"),
            ("lt not a multiple of 4", try edited([(["target", "lt"], .int(6))]), "manifest.invalid_value", "target.lt must be a multiple of 4"),
            ("lx not a multiple of 4", try edited([(["target", "lx"], .int(10))]), "manifest.invalid_value", "target.lx"),
            ("mixture target", try edited([(["target"], ManifestCodec.encodeTarget(.gaussianMixture(GaussianMixture(dimension: 1, weights: [1], means: [[0]], covariances: [[[1]]]))))]),
             "manifest.invalid_value", "target.kind"),
            ("unknown coupling", try edited([(["flow", "coupling"], .string("spline"))]), "manifest.invalid_value", "flow.coupling"),
            ("zero layers", try edited([(["flow", "layers"], .int(0))]), "manifest.invalid_value", "flow.layers"),
            ("too many layers", try edited([(["flow", "layers"], .int(5000))]), "manifest.invalid_value", "flow.layers"),
            ("unknown mask rule", try edited([(["flow", "mask_rule"], .string("checkerboard"))]), "manifest.invalid_value", "flow.mask_rule"),
            ("n_mix zero", try edited([(["flow", "n_mix"], .int(0))]), "manifest.invalid_value", "flow.n_mix"),
            ("even kernel", try edited([(["flow", "kernel_size"], .int(4))]), "manifest.invalid_value", "flow.kernel_size must be an odd integer"),
            ("hidden channel zero", try edited([(["flow", "hidden_channels"], .array([.int(4), .int(0)]))]), "manifest.invalid_value", "flow.hidden_channels[1]"),
            ("hidden not an array", try edited([(["flow", "hidden_channels"], .int(4))]), "manifest.wrong_type", "flow.hidden_channels"),
            ("unknown activation", try edited([(["flow", "activation"], .string("gelu"))]), "manifest.invalid_value", "flow.activation"),
            ("unknown prior", try edited([(["flow", "prior"], .string("gaussian"))]), "manifest.invalid_value", "flow.prior"),
            ("unknown convention", try edited([(["flow", "angle_convention"], .string("degrees"))]), "manifest.invalid_value", "flow.angle_convention"),
            ("convention missing", try edited([(["flow", "angle_convention"], nil)]), "manifest.missing_field", "flow.angle_convention"),
            ("unknown key in flow", try edited([(["flow", "depth"], .int(2))]), "manifest.unknown_key", "flow.depth"),
            ("l2hmc key at the root", try edited([(["dynamics"], .object([:]))]), "manifest.unknown_key", "dynamics"),
            ("hmc missing", try edited([(["hmc"], nil)]), "manifest.missing_field", "hmc"),
            ("step size zero", try edited([(["hmc", "step_size"], .double(0))]), "manifest.invalid_value", "hmc.step_size"),
            ("n_lf zero", try edited([(["hmc", "n_lf"], .int(0))]), "manifest.invalid_value", "hmc.n_lf"),
            ("a layer more than the arrays", try edited([(["flow", "layers"], .int(4))]), "array.missing", "layer3.conv0"),
            ("wider hidden than the arrays", try edited([(["flow", "hidden_channels"], .array([.int(4), .int(6)]))]), "array.shape_mismatch", "layer0.conv1"),
        ]
        for (label, bytes, code, text) in cases {
            let got = LeakyReluFormatTests.readError(bytes)
            XCTAssertEqual(got?.code, code, "\(label): \(got?.text ?? "loads")")
            if let text { XCTAssertTrue(got?.text.contains(text) == true, "\(label): \(got?.text ?? "loads")") }
        }
    }

    func testL2HMCOnlyCodeRefusesAFlowWithACode() throws {
        let model = try RandomModel.make(flow: Self.spec(), seed: 5)
        XCTAssertThrowsError(try model.sampler) { e in
            XCTAssertEqual((e as? L2ZError)?.code, "model.wrong_family")
            XCTAssertTrue("\(e)".contains("flow v1"), "\(e)")
        }
        XCTAssertEqual(try model.spec.flow(), Self.spec())
        XCTAssertThrowsError(try ModelSpec.l2hmc(LocalNetworkFormatTests.sampler()).flow())
        XCTAssertTrue(ModelDescription.lines(model.spec).joined().contains("3 U(1) plaquette coupling layers"))
    }
}
