import Foundation
import XCTest
@testable import ModelFormat

/// Format 1.1 and its one new feature, `leaky_relu` (docs/FORMAT.md sections 4, 5.1 and 7): the
/// feature is listed exactly when `network.activation` is "leaky_relu"; a 1.0 file cannot use it;
/// the writer writes "1.1" only for such a model and "1.0" otherwise, so existing files keep
/// their bytes. Expected versions and codes come from the rules, read from the written bytes'
/// own manifest text, not from the codec's decoded values.
final class LeakyReluFormatTests: XCTestCase {
    static func sampler(_ activation: Activation) -> SamplerSpec {
        SamplerSpec(target: .u1(U1Lattice(lt: 2, lx: 2, beta: 1.0)),
                    dynamics: Dynamics(nLF: 2, xUpdate: .ncp),
                    network: NetworkSpec(layout: .shared, xNetInput: .raw, vNetInput: .raw, maskPlacement: nil,
                                         timeInput: false, hiddenUnits: [4], activation: activation))
    }

    static func bytes(_ activation: Activation) throws -> [UInt8] {
        try L2ZWriter.encode(try RandomModel.make(sampler: sampler(activation), seed: 5))
    }

    /// `format_version` and `required_features` as written in the file's manifest.json.
    static func written(_ bytes: [UInt8]) throws -> (version: String, features: [String]) {
        guard case let .object(root) = try ZipSurgery.Parts(bytes: bytes).manifest,
              case let .string(version)? = root["format_version"], case let .array(list)? = root["required_features"] else {
            throw ZipSurgery.SurgeryError(description: "manifest without format_version or required_features")
        }
        return (version, list.compactMap { if case let .string(s) = $0 { return s } else { return nil } })
    }

    /// The reader's error code for `bytes` (nil when the file loads), and its message.
    static func readError(_ bytes: [UInt8]) -> (code: String, text: String)? {
        do { _ = try L2ZReader.read(bytes: bytes); return nil } catch let e as L2ZError { return (e.code, "\(e)") } catch { return ("other", "\(error)") }
    }

    static func edited(_ bytes: [UInt8], _ edits: [([String], JSONValue?)]) throws -> [UInt8] {
        var p = try ZipSurgery.Parts(bytes: bytes)
        for (path, value) in edits { try p.setManifest(path, value) }
        return try p.build(alignment: NpyCodec.headerAlignment)
    }

    func testWriterWrites11OnlyForLeakyRelu() throws {
        for activation in Activation.allCases {
            let w = try Self.written(try Self.bytes(activation))
            let leaky = activation == .leakyRelu
            XCTAssertEqual(w.version, leaky ? "1.1" : "1.0", "\(activation)")
            XCTAssertEqual(w.features.contains("leaky_relu"), leaky, "\(activation): \(w.features)")
        }
        XCTAssertEqual(Manifest.currentVersion.description, "1.3")   // 1.2 added local_network, 1.3 conv_stack
        XCTAssertEqual(Manifest.minimumVersion(for: []).description, "1.0")
        XCTAssertEqual(Manifest.minimumVersion(for: ["probe", "batch_norm"]).description, "1.0")
        XCTAssertEqual(Manifest.minimumVersion(for: ["probe", "leaky_relu"]).description, "1.1")
    }

    func testLeakyReluModelRoundTripsByteIdentically() throws {
        var model = try RandomModel.make(sampler: Self.sampler(.leakyRelu), seed: 5)
        model = try TestModels.withProbe(model.sampler, seed: 6)   // with a probe
        let a = try L2ZWriter.encode(model)
        let back = try L2ZReader.read(bytes: a)
        XCTAssertEqual(back.model, model)
        XCTAssertEqual(try back.model.sampler.network.activation, .leakyRelu)
        XCTAssertEqual(back.manifest.formatVersion, FormatVersion(major: 1, minor: 1))
        XCTAssertEqual(back.manifest.requiredFeatures, ["leaky_relu", "ncp_x_update", "probe"])
        XCTAssertEqual(try L2ZWriter.encode(back.model), a, "re-encoding must reproduce the file byte for byte")
        guard case let .object(root) = try ZipSurgery.Parts(bytes: a).manifest, case let .object(network)? = root["network"] else {
            return XCTFail("no network object")
        }
        XCTAssertEqual(network["activation"], .string("leaky_relu"))
    }

    func testVersionAndFeatureRules() throws {
        let leaky = try Self.bytes(.leakyRelu), relu = try Self.bytes(.relu)
        let ncp = JSONValue.string("ncp_x_update"), leakyFeature = JSONValue.string("leaky_relu")   // the models are ncp
        let cases: [(String, [UInt8], String?, String?)] = [
            // (label, file, expected code or nil = loads, a part of the message)
            ("1.1 leaky_relu as written", leaky, nil, nil),
            ("1.0 file listing leaky_relu", try Self.edited(leaky, [(["format_version"], .string("1.0"))]),
             "manifest.invalid_value", "format_version must be 1.1 or newer, since required_features lists \"leaky_relu\""),
            ("1.0 file using leaky_relu without listing it",
             try Self.edited(leaky, [(["format_version"], .string("1.0")), (["required_features"], .array([ncp]))]),
             "manifest.invalid_value", "required_features must be a list including \"leaky_relu\""),
            ("1.1 file using leaky_relu without listing it", try Self.edited(leaky, [(["required_features"], .array([ncp]))]),
             "manifest.invalid_value", "required_features must be a list including \"leaky_relu\""),
            ("1.0 relu file listing leaky_relu", try Self.edited(relu, [(["required_features"], .array([leakyFeature, ncp]))]),
             "manifest.invalid_value", "format_version must be 1.1 or newer"),
            // 1.1 is older than this reader's own version: unknown keys are errors in it, as in 1.0.
            ("1.1 file with an unknown key", try Self.edited(leaky, [(["network", "negative_slope"], .double(0.01))]), "manifest.unknown_key", nil),
            // A newer minor with known features only loads (section 7), leaky_relu included.
            ("1.4 leaky_relu with an unknown key", try Self.edited(leaky, [(["format_version"], .string("1.4")), (["network", "negative_slope"], .double(0.01))]),
             nil, nil),
            ("1.4 file with an unknown feature", try Self.edited(leaky, [(["format_version"], .string("1.4")),
                                                                        (["required_features"], .array([leakyFeature, ncp, .string("gelu")]))]),
             "manifest.unknown_required_feature", "requires feature \"gelu\", unknown to this reader (format 1.3)"),
            // An older-version model in a newer-version file is fine; listing a known unused feature too (section 4).
            ("1.1 relu file", try Self.edited(relu, [(["format_version"], .string("1.1"))]), nil, nil),
            ("1.1 relu file listing leaky_relu", try Self.edited(relu, [(["format_version"], .string("1.1")),
                                                                       (["required_features"], .array([leakyFeature, ncp]))]), nil, nil),
            ("2.0 leaky_relu", try Self.edited(leaky, [(["format_version"], .string("2.0"))]), "manifest.unsupported_version", "1.0 to 1.3"),
        ]
        for (label, file, code, text) in cases {
            let got = Self.readError(file)
            XCTAssertEqual(got?.code, code, "\(label): \(got?.text ?? "loads")")
            if let text { XCTAssertTrue(got?.text.contains(text) == true, "\(label): \(got?.text ?? "loads")") }
        }
    }
}
