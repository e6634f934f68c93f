import Foundation
import XCTest
@testable import ModelFormat

/// Format 1.2's local network kind (docs/FORMAT.md, "Local networks"): the array table written
/// out by hand from the contract, shapes independent of the lattice, the mask rule against a
/// hand-enumerated 2x2 case, the writer's version and feature, a byte-identical round trip, and a
/// malformed-manifest table for every field of the kind.
final class LocalNetworkFormatTests: XCTestCase {
    static func sampler(lt: Int = 4, lx: Int = 6, layout: NetworkLayout = .shared, xNets: Int = 1, time: Bool = true,
                        batchNorm: Bool = false, channels: [Int] = [3, 5], kernel: Int = 3) -> SamplerSpec {
        SamplerSpec(target: .u1(U1Lattice(lt: lt, lx: lx, beta: 3, linkLayout: .muTX)),
                    dynamics: Dynamics(nLF: 2, xUpdate: .ncp),
                    network: .local(LocalNetworkSpec(kernelSize: kernel), layout: layout, xNetworksPerStep: xNets, timeInput: time,
                                    channels: channels, activation: .tanh, scaleHead: .tanhExpCoeff, transformationHead: .tanh,
                                    batchNorm: batchNorm ? BatchNormSpec(epsilon: 1e-5) : nil))
    }

    func testArrayTableMatchesTheContractAndIgnoresTheLatticeSize() throws {
        let s = Self.sampler(time: true, batchNorm: true, channels: [3, 5], kernel: 3)
        var expected: [String: [Int]] = ["eps_x": [2], "eps_v": [2]]
        for net in ["vnet.0", "xnet.0"] {
            expected["\(net).conv0.kernel"] = [3, 3, 8, 3]; expected["\(net).conv0.bias"] = [3]
            expected["\(net).conv1.kernel"] = [3, 3, 3, 5]; expected["\(net).conv1.bias"] = [5]
            expected["\(net).t_layer.kernel"] = [2, 3]; expected["\(net).t_layer.bias"] = [3]
            for p in ["gamma", "beta", "moving_mean", "moving_variance"] { expected["\(net).batch_norm.\(p)"] = [5] }
            for h in ["scale", "translation", "transformation"] { expected["\(net).\(h).kernel"] = [5, 2]; expected["\(net).\(h).bias"] = [2] }
            expected["\(net).scale.coeff"] = [2]   // transformation head is plain tanh: no coefficient
        }
        let table = SamplerRules.expectedArrays(s, probe: nil)
        XCTAssertEqual(table.mapValues(\.shape), expected)
        XCTAssertNil(table["masks"], "local models store no masks (a rule)")
        XCTAssertEqual(SamplerRules.expectedArrayCount(s, probe: nil), expected.count)
        let larger = Self.sampler(lt: 32, lx: 10, time: true, batchNorm: true)
        XCTAssertEqual(SamplerRules.expectedArrays(larger, probe: nil), table, "no shape may depend on the lattice size")
        // Per-step split networks: 2 steps x (vnet, xnet_first, xnet_second).
        let split = Self.sampler(layout: .perStep, xNets: 2, time: false, channels: [4])
        let names = Set(SamplerRules.expectedArrays(split, probe: nil).keys.compactMap { $0.split(separator: ".").count > 2 ? $0.split(separator: ".").prefix(2).joined(separator: ".") : nil })
        XCTAssertEqual(names, ["vnet.0", "xnet_first.0", "xnet_second.0", "vnet.1", "xnet_first.1", "xnet_second.1"])
    }

    func testCheckerboardRuleByHandOnTwoByTwo() {
        // t_x_mu index (t * 2 + x) * 2 + mu; 1 iff t + x + mu + step even.
        XCTAssertEqual(LocalNetworkRules.updateMask(.checkerboard, step: 0, lt: 2, lx: 2, layout: .tXMu), [1, 0, 0, 1, 0, 1, 1, 0])
        XCTAssertEqual(LocalNetworkRules.updateMask(.checkerboard, step: 1, lt: 2, lx: 2, layout: .tXMu), [0, 1, 1, 0, 1, 0, 0, 1])
        // mu_t_x index (mu * 2 + t) * 2 + x.
        XCTAssertEqual(LocalNetworkRules.updateMask(.checkerboard, step: 0, lt: 2, lx: 2, layout: .muTX), [1, 0, 0, 1, 0, 1, 1, 0])
        // Any size (odd included): half the links (rounded) per step, steps alternate.
        for (lt, lx) in [(3, 5), (1, 1), (8, 8), (6, 10)] {
            let a = LocalNetworkRules.updateMask(.checkerboard, step: 2, lt: lt, lx: lx, layout: .muTX)
            let b = LocalNetworkRules.updateMask(.checkerboard, step: 3, lt: lt, lx: lx, layout: .muTX)
            XCTAssertEqual(a.count, 2 * lt * lx)
            XCTAssertEqual(zip(a, b).filter { $0 + $1 != 1 }.count, 0, "consecutive steps are complements")
            XCTAssertEqual(a.filter { $0 == 1 }.count, lt * lx, "each site has one moved link per step")
        }
    }

    func testWriterWrites12WithFeatureAndRoundTripsByteIdentically() throws {
        var model = try RandomModel.make(sampler: Self.sampler(batchNorm: true), seed: 9)
        model.probe = nil
        let bytes = try L2ZWriter.encode(model)
        let written = try LeakyReluFormatTests.written(bytes)
        XCTAssertEqual(written.version, "1.2")
        XCTAssertEqual(written.features, ["batch_norm", "local_network", "ncp_x_update"])
        let back = try L2ZReader.read(bytes: bytes)
        XCTAssertEqual(back.model, model)
        XCTAssertEqual(try back.model.sampler.network.kind, .local(LocalNetworkSpec(kernelSize: 3, maskRule: .checkerboard)))
        XCTAssertEqual(try L2ZWriter.encode(back.model), bytes)
        guard case let .object(root) = try ZipSurgery.Parts(bytes: bytes).manifest, case let .object(network)? = root["network"] else {
            return XCTFail("no network object")
        }
        XCTAssertEqual(Set(network.keys), ["kind", "layout", "x_networks_per_step", "time_input", "activation", "scale_head",
                                           "transformation_head", "batch_norm", "channels", "kernel_size", "mask_rule"])
        XCTAssertEqual(network["channels"], .array([.int(3), .int(5)]))
        // Dense files do not gain a "kind" key (their bytes stay as before).
        let dense = try L2ZWriter.encode(try RandomModel.make(sampler: LeakyReluFormatTests.sampler(.relu), seed: 5))
        guard case let .object(droot) = try ZipSurgery.Parts(bytes: dense).manifest, case let .object(dnet)? = droot["network"] else {
            return XCTFail("no dense network object")
        }
        XCTAssertNil(dnet["kind"])
    }

    func testMalformedLocalManifests() throws {
        let local = try L2ZWriter.encode(try RandomModel.make(sampler: Self.sampler(), seed: 4))
        let dense = try LeakyReluFormatTests.bytes(.relu)
        let features: JSONValue = .array([.string("local_network"), .string("ncp_x_update")])
        func edited(_ edits: [([String], JSONValue?)], _ base: [UInt8]? = nil) throws -> [UInt8] {
            try LeakyReluFormatTests.edited(base ?? local, edits)
        }
        func maskedLocal() throws -> [UInt8] {
            var m = try RandomModel.make(sampler: Self.sampler(), seed: 4)
            m.arrays["masks"] = try NDArray(shape: [2, 48], uint8s: [UInt8](repeating: 1, count: 96))
            return try ZipSurgery.Parts(unvalidated: m).build()
        }
        let mixture = ManifestCodec.encodeTarget(.gaussianMixture(GaussianMixture(dimension: 2, weights: [1], means: [[0, 0]], covariances: [[[1, 0], [0, 1]]])))
        let cases: [(String, [UInt8], String?, String?)] = [
            // (label, file, expected code or nil = loads, a part of the message)
            ("as written", local, nil, nil),
            ("explicit dense kind on a dense file", try edited([(["network", "kind"], .string("dense"))], dense), nil, nil),
            ("unknown kind", try edited([(["network", "kind"], .string("conv"))]), "manifest.invalid_value", "network.kind"),
            ("kind not a string", try edited([(["network", "kind"], .int(1))]), "manifest.wrong_type", "network.kind"),
            ("even kernel", try edited([(["network", "kernel_size"], .int(4))]), "manifest.invalid_value", "network.kernel_size must be an odd number in 1...15"),
            ("kernel too large", try edited([(["network", "kernel_size"], .int(17))]), "manifest.invalid_value", "network.kernel_size"),
            ("kernel zero", try edited([(["network", "kernel_size"], .int(0))]), "manifest.invalid_value", "network.kernel_size"),
            ("kernel missing", try edited([(["network", "kernel_size"], nil)]), "manifest.missing_field", "network.kernel_size"),
            ("kernel a string", try edited([(["network", "kernel_size"], .string("3"))]), "manifest.wrong_type", "network.kernel_size"),
            ("mask rule unknown", try edited([(["network", "mask_rule"], .string("random"))]), "manifest.invalid_value", "network.mask_rule"),
            ("mask rule missing", try edited([(["network", "mask_rule"], nil)]), "manifest.missing_field", "network.mask_rule"),
            ("channels empty", try edited([(["network", "channels"], .array([]))]), "manifest.invalid_value", "network.channels"),
            ("channels zero", try edited([(["network", "channels"], .array([.int(3), .int(0)]))]), "manifest.invalid_value", "network.channels"),
            ("channels too wide", try edited([(["network", "channels"], .array([.int(5000)]))]), "manifest.invalid_value", "network.channels"),
            ("channels missing", try edited([(["network", "channels"], nil)]), "manifest.missing_field", "network.channels"),
            ("dense key in a local network", try edited([(["network", "hidden_units"], .array([.int(3)]))]), "manifest.unknown_key", "hidden_units"),
            ("input encoding in a local network", try edited([(["network", "x_net_input"], .string("raw"))]), "manifest.unknown_key", "x_net_input"),
            ("local keys in a dense network", try edited([(["network", "kernel_size"], .int(3))], dense), "manifest.unknown_key", "kernel_size"),
            ("local network on a mixture", try edited([(["target"], mixture)]), "manifest.invalid_value", "network.kind"),
            ("feature not listed", try edited([(["required_features"], .array([.string("ncp_x_update")]))]),
             "manifest.invalid_value", "required_features must be a list including \"local_network\""),
            ("1.1 file listing local_network", try edited([(["format_version"], .string("1.1")), (["required_features"], features)]),
             "manifest.invalid_value", "format_version must be 1.2 or newer"),
            ("a masks array in a local model", try maskedLocal(), "array.unexpected", "masks"),
        ]
        for (label, file, code, text) in cases {
            let got = LeakyReluFormatTests.readError(file)
            XCTAssertEqual(got?.code, code, "\(label): \(got?.text ?? "loads")")
            if let text { XCTAssertTrue(got?.text.contains(text) == true, "\(label): \(got?.text ?? "loads")") }
        }
    }

    func testProbeNetworksAreRefusedForLocalModels() throws {
        let s = Self.sampler()
        let probe = ProbeSpec(batch: 2, networks: ["vnet.0"], trajectory: true, headsTolerance: Tolerance(abs: 0, rel: 0),
                              trajectoryTolerance: Tolerance(abs: 0, rel: 0), logDetTolerance: Tolerance(abs: 0, rel: 0))
        XCTAssertThrowsError(try SamplerRules.validate(probe: probe, for: s)) { e in
            XCTAssertTrue("\(e)".contains("[] for a local network"), "\(e)")
        }
        var trajectoryOnly = probe
        trajectoryOnly.networks = []
        XCTAssertNoThrow(try SamplerRules.validate(probe: trajectoryOnly, for: s))
    }
}
