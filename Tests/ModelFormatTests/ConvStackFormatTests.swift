import Foundation
import XCTest
@testable import ModelFormat

/// Format 1.3's convolution stack (docs/FORMAT.md, "Convolution stack"): the array table worked
/// out by hand from the contract (sizes grow by k - 1 per layer, pools floor), the upstream
/// PyTorch default stack's flatten width as stated in the upstream facts (6272 at 16x16), the
/// writer's version and feature, a byte-identical round trip, and a malformed-manifest table.
final class ConvStackFormatTests: XCTestCase {
    /// 4x4 lattice, cos/sin blocks (C_0 = 4): conv 2 filters k3 (4 -> 6), conv 3 filters k2 (6 -> 7)
    /// then pool 2 (7 -> 3): F = 3 * 3 * 3 = 27, D = 5.
    static func stack(_ applies: ConvStackSpec.AppliesTo = .xAndVNetworks) -> ConvStackSpec {
        ConvStackSpec(appliesTo: applies, layers: [ConvStackSpec.Layer(filters: 2, kernelSize: 3, pool: 1, activation: false),
                                                   ConvStackSpec.Layer(filters: 3, kernelSize: 2, pool: 2, activation: true)],
                      poolOrder: .poolThenActivation, denseUnits: 5)
    }

    static func sampler(lt: Int = 4, lx: Int = 4, stack: ConvStackSpec? = stack(), xIn: InputEncoding = .cosSinBlocks,
                        vIn: InputEncoding = .raw, layout: LinkLayout = .muTX, xNets: Int = 1) -> SamplerSpec {
        var net = NetworkSpec(layout: .shared, xNetworksPerStep: xNets, xNetInput: xIn, vNetInput: vIn,
                              maskPlacement: xIn == .raw ? nil : .afterTrig, timeInput: true, hiddenUnits: [6, 4], activation: .leakyRelu)
        net.convStack = stack
        return SamplerSpec(target: .u1(U1Lattice(lt: lt, lx: lx, beta: 2, linkLayout: layout)), dynamics: Dynamics(nLF: 2, xUpdate: .ncp), network: net)
    }

    func testArrayTableMatchesTheContract() {
        let s = Self.sampler()
        let table = SamplerRules.expectedArrays(s, probe: nil).mapValues(\.shape)
        // x-network: cos/sin blocks of 32 links -> 4 channels; v-network: raw -> 2 channels.
        for (net, c0, xWidth) in [("xnet.0", 4, 64), ("vnet.0", 2, 32)] {
            XCTAssertEqual(table["\(net).conv_stack.conv0.kernel"], [3, 3, c0, 2], net)
            XCTAssertEqual(table["\(net).conv_stack.conv0.bias"], [2], net)
            XCTAssertEqual(table["\(net).conv_stack.conv1.kernel"], [2, 2, 2, 3], net)
            XCTAssertEqual(table["\(net).conv_stack.conv1.bias"], [3], net)
            XCTAssertEqual(table["\(net).conv_stack.dense.kernel"], [27, 5], net)
            XCTAssertEqual(table["\(net).conv_stack.dense.bias"], [5], net)
            XCTAssertEqual(table["\(net).x_layer.kernel"], [5, 6], "\(net): x_layer reads h_conv, not the \(xWidth) encoded inputs")
            XCTAssertEqual(table["\(net).v_layer.kernel"], [32, 6], net)
        }
        let plain = SamplerRules.expectedArrays(Self.sampler(stack: nil), probe: nil)
        XCTAssertEqual(table.count, plain.count + 2 * 6, "six stack arrays per network, nothing else added")
        XCTAssertEqual(SamplerRules.expectedArrayCount(s, probe: nil), table.count)

        // x-networks only (torch before 2023-02-08): the v-network keeps its plain x_layer, and the
        // counting walk still agrees with the table though the groups differ in size.
        let xOnly = Self.sampler(stack: Self.stack(.xNetworks), xNets: 2)
        let t2 = SamplerRules.expectedArrays(xOnly, probe: nil).mapValues(\.shape)
        XCTAssertNil(t2["vnet.0.conv_stack.dense.kernel"])
        XCTAssertEqual(t2["vnet.0.x_layer.kernel"], [32, 6])
        XCTAssertEqual(t2["xnet_first.0.x_layer.kernel"], [5, 6])
        XCTAssertEqual(t2["xnet_second.0.conv_stack.dense.kernel"], [27, 5])
        XCTAssertEqual(SamplerRules.expectedArrayCount(xOnly, probe: nil), t2.count)
    }

    /// The counting walk (one body per group, multiplied) equals the table for every layout, both
    /// applies_to values and probes; the stack adds 2 arrays per conv plus 2 (dense) to each
    /// network that carries it, counted here by hand.
    func testCountEqualsTableWithStacks() {
        let tol = Tolerance(abs: 0, rel: 0)
        for layout in NetworkLayout.allCases {
            for xNets in [1, 2] {
                for applies in ConvStackSpec.AppliesTo.allCases {
                    var s = Self.sampler(stack: Self.stack(applies), xNets: xNets)
                    s.network.layout = layout
                    s.dynamics.nLF = 3
                    var plain = s
                    plain.network.convStack = nil
                    let names = SamplerRules.networkNames(s)
                    let carrying = names.filter { applies == .xAndVNetworks || !$0.hasPrefix("vnet") }.count
                    for probe in [nil, ProbeSpec(batch: 2, networks: names, trajectory: true, headsTolerance: tol, trajectoryTolerance: tol, logDetTolerance: tol)] {
                        let table = SamplerRules.expectedArrays(s, probe: probe)
                        XCTAssertEqual(SamplerRules.expectedArrayCount(s, probe: probe), table.count, "\(layout) \(xNets) \(applies)")
                        XCTAssertEqual(table.count, SamplerRules.expectedArrays(plain, probe: probe).count + carrying * (2 * 2 + 2), "\(layout) \(xNets) \(applies)")
                    }
                }
            }
        }
    }

    /// The upstream default (torch-facts section 9): filters [8,16,32,64,128], sizes [5,3,3,3,2],
    /// no activation after the first conv, pools after the 2nd and 4th later conv: at 16x16 the
    /// sizes are 16 -> 20 -> 22 -> 24 -> 12 -> 14 -> 15 -> 7 and the flatten is 128*7*7 = 6272.
    func testUpstreamDefaultStackAtSixteen() throws {
        let layers = [(8, 5, 1, false), (16, 3, 1, true), (32, 3, 2, true), (64, 3, 1, true), (128, 2, 2, true)]
            .map { ConvStackSpec.Layer(filters: $0.0, kernelSize: $0.1, pool: $0.2, activation: $0.3) }
        let stack = ConvStackSpec(layers: layers, denseUnits: 512)
        let shapes = try ConvStackRules.shapes(stack, channels: 4, lt: 16, lx: 16)
        XCTAssertEqual(shapes.map(\.convH), [20, 22, 24, 14, 15])
        XCTAssertEqual(shapes.map(\.outH), [20, 22, 12, 14, 7])
        XCTAssertEqual(ConvStackRules.flattenedWidth(stack, channels: 4, lt: 16, lx: 16), 6272)
        let table = SamplerRules.expectedArrays(Self.sampler(lt: 16, lx: 16, stack: stack), probe: nil)
        XCTAssertEqual(table["xnet.0.conv_stack.dense.kernel"]?.shape, [6272, 512])
        XCTAssertEqual(table["xnet.0.conv_stack.conv0.kernel"]?.shape, [5, 5, 4, 8])
        XCTAssertEqual(table["vnet.0.conv_stack.conv0.kernel"]?.shape, [5, 5, 2, 8])
    }

    func testWriterWrites13OnlyWhenUsedAndRoundTripsByteIdentically() throws {
        var model = try RandomModel.make(sampler: Self.sampler(), seed: 9)
        model.probe = nil
        let bytes = try L2ZWriter.encode(model)
        let written = try LeakyReluFormatTests.written(bytes)
        XCTAssertEqual(written.version, "1.3")
        XCTAssertEqual(written.features, ["conv_stack", "cos_sin_input", "leaky_relu", "ncp_x_update"])
        let back = try L2ZReader.read(bytes: bytes)
        XCTAssertEqual(back.model, model)
        XCTAssertEqual(try back.model.sampler.network.convStack, Self.stack())
        XCTAssertEqual(try L2ZWriter.encode(back.model), bytes)
        guard case let .object(root) = try ZipSurgery.Parts(bytes: bytes).manifest, case let .object(network)? = root["network"],
              case let .object(stack)? = network["conv_stack"] else {
            return XCTFail("no conv_stack object")
        }
        XCTAssertEqual(Set(stack.keys), ["applies_to", "layers", "pool_order", "dense_units"])
        XCTAssertEqual(stack["applies_to"], .string("x_and_v_networks"))
        XCTAssertEqual(stack["layers"], .array([
            .object(["filters": .int(2), "kernel_size": .int(3), "pool": .int(1), "activation": .bool(false)]),
            .object(["filters": .int(3), "kernel_size": .int(2), "pool": .int(2), "activation": .bool(true)]),
        ]))
        // Without the stack the same model is 1.1 (leaky_relu) and has no conv_stack key.
        let plain = try L2ZWriter.encode(try RandomModel.make(sampler: Self.sampler(stack: nil), seed: 9))
        XCTAssertEqual(try LeakyReluFormatTests.written(plain).version, "1.1")
        guard case let .object(proot) = try ZipSurgery.Parts(bytes: plain).manifest, case let .object(pnet)? = proot["network"] else {
            return XCTFail("no network object")
        }
        XCTAssertNil(pnet["conv_stack"])
        // With a probe (the probe's in_x stays the encoded input, width X).
        let probed = try TestModels.withProbe(Self.sampler())
        let pb = try L2ZWriter.encode(probed)
        XCTAssertEqual(try L2ZReader.read(bytes: pb).model, probed)
        XCTAssertEqual(probed.arrays[ProbeArrayNames.inX("vnet.0")]?.shape, [2, 32])
    }

    func testMalformedConvStackManifests() throws {
        let good = try L2ZWriter.encode(try RandomModel.make(sampler: Self.sampler(), seed: 4))
        let local = try L2ZWriter.encode(try RandomModel.make(sampler: LocalNetworkFormatTests.sampler(), seed: 4))
        func edited(_ edits: [([String], JSONValue?)], _ base: [UInt8]? = nil) throws -> [UInt8] {
            try LeakyReluFormatTests.edited(base ?? good, edits)
        }
        func layer(_ f: Int, _ k: Int, _ p: Int, _ a: Bool) -> JSONValue {
            .object(["filters": .int(Int64(f)), "kernel_size": .int(Int64(k)), "pool": .int(Int64(p)), "activation": .bool(a)])
        }
        let stackPath = ["network", "conv_stack"]
        let features: JSONValue = .array(["conv_stack", "cos_sin_input", "leaky_relu", "ncp_x_update"].map { .string($0) })
        let cases: [(String, [UInt8], String?, String?)] = [
            // (label, file, expected code or nil = loads, a part of the message)
            ("as written", good, nil, nil),
            ("x_networks only (arrays then do not match)", try edited([(stackPath + ["applies_to"], .string("x_networks"))]), "array.unexpected", "vnet.0.conv_stack"),
            ("applies_to unknown", try edited([(stackPath + ["applies_to"], .string("v_networks"))]), "manifest.invalid_value", "network.conv_stack.applies_to"),
            ("applies_to missing", try edited([(stackPath + ["applies_to"], nil)]), "manifest.missing_field", "network.conv_stack.applies_to"),
            ("pool_order unknown", try edited([(stackPath + ["pool_order"], .string("pool_first"))]), "manifest.invalid_value", "network.conv_stack.pool_order"),
            ("pool_order missing", try edited([(stackPath + ["pool_order"], nil)]), "manifest.missing_field", "network.conv_stack.pool_order"),
            ("dense_units zero", try edited([(stackPath + ["dense_units"], .int(0))]), "manifest.invalid_value", "network.conv_stack.dense_units"),
            ("dense_units a string", try edited([(stackPath + ["dense_units"], .string("5"))]), "manifest.wrong_type", "network.conv_stack.dense_units"),
            ("dense_units missing", try edited([(stackPath + ["dense_units"], nil)]), "manifest.missing_field", "network.conv_stack.dense_units"),
            ("layers empty", try edited([(stackPath + ["layers"], .array([]))]), "manifest.invalid_value", "network.conv_stack.layers must be 1 to 16 layers"),
            ("17 layers", try edited([(stackPath + ["layers"], .array([JSONValue](repeating: layer(1, 1, 1, true), count: 17)))]),
             "manifest.invalid_value", "network.conv_stack.layers"),
            ("layers not an array", try edited([(stackPath + ["layers"], .int(2))]), "manifest.wrong_type", "network.conv_stack.layers"),
            ("a layer not an object", try edited([(stackPath + ["layers"], .array([.int(2)]))]), "manifest.wrong_type", "network.conv_stack.layers[0]"),
            ("filters zero", try edited([(stackPath + ["layers"], .array([layer(0, 3, 1, false), layer(3, 2, 2, true)]))]),
             "manifest.invalid_value", "network.conv_stack.layers[0].filters"),
            ("filters too many", try edited([(stackPath + ["layers"], .array([layer(2, 3, 1, false), layer(5000, 2, 2, true)]))]),
             "manifest.invalid_value", "network.conv_stack.layers[1].filters"),
            ("kernel zero", try edited([(stackPath + ["layers"], .array([layer(2, 0, 1, false), layer(3, 2, 2, true)]))]),
             "manifest.invalid_value", "network.conv_stack.layers[0].kernel_size"),
            ("kernel 16", try edited([(stackPath + ["layers"], .array([layer(2, 16, 1, false), layer(3, 2, 2, true)]))]),
             "manifest.invalid_value", "network.conv_stack.layers[0].kernel_size"),
            ("padding wider than the lattice", try edited([(stackPath + ["layers"], .array([layer(2, 6, 1, false), layer(3, 2, 2, true)]))]),
             "manifest.invalid_value", "network.conv_stack.layers[0].kernel_size must be at most 5 (the periodic padding"),
            ("pool leaves no pixel", try edited([(stackPath + ["layers"], .array([layer(2, 3, 1, false), layer(3, 2, 8, true)]))]),
             "manifest.invalid_value", "network.conv_stack.layers[1].pool must be at most 7"),
            ("pool zero", try edited([(stackPath + ["layers"], .array([layer(2, 3, 0, false), layer(3, 2, 2, true)]))]),
             "manifest.invalid_value", "network.conv_stack.layers[0].pool"),
            ("activation not a bool", try edited([(stackPath + ["layers"], .array([.object(["filters": .int(2), "kernel_size": .int(3), "pool": .int(1), "activation": .int(0)]), layer(3, 2, 2, true)]))]),
             "manifest.wrong_type", "network.conv_stack.layers[0].activation"),
            ("unknown layer key", try edited([(stackPath + ["layers"], .array([.object(["filters": .int(2), "kernel_size": .int(3), "pool": .int(1), "activation": .bool(false), "stride": .int(1)]), layer(3, 2, 2, true)]))]),
             "manifest.unknown_key", "stride"),
            ("unknown stack key", try edited([(stackPath + ["batch_norm"], .bool(false))]), "manifest.unknown_key", "batch_norm"),
            ("conv_stack not an object", try edited([(stackPath, .array([]))]), "manifest.wrong_type", "network.conv_stack"),
            ("t_x_mu layout", try edited([(["target", "link_layout"], .string("t_x_mu"))]), "manifest.invalid_value", "target.link_layout must be \"mu_t_x\""),
            ("interleaved x input", try edited([(["network", "x_net_input"], .string("cos_sin_interleaved"))]), "manifest.invalid_value", "network.x_net_input"),
            ("conv_stack in a local network", try LeakyReluFormatTests.edited(local, [(stackPath, .object([:]))]), "manifest.unknown_key", "conv_stack"),
            ("feature not listed", try edited([(["required_features"], .array(["cos_sin_input", "leaky_relu", "ncp_x_update"].map { .string($0) }))]),
             "manifest.invalid_value", "required_features must be a list including \"conv_stack\""),
            ("1.2 file listing conv_stack", try edited([(["format_version"], .string("1.2")), (["required_features"], features)]),
             "manifest.invalid_value", "format_version must be 1.3 or newer"),
        ]
        for (label, file, code, text) in cases {
            let got = LeakyReluFormatTests.readError(file)
            XCTAssertEqual(got?.code, code, "\(label): \(got?.text ?? "loads")")
            if let text { XCTAssertTrue(got?.text.contains(text) == true, "\(label): \(got?.text ?? "loads")") }
        }
        // A Gaussian mixture cannot carry the stack (checked on the description: its file could not be written).
        var mixture = Self.sampler()
        mixture.target = .gaussianMixture(GaussianMixture(dimension: 2, weights: [1], means: [[0, 0]], covariances: [[[1, 0], [0, 1]]]))
        mixture.network.xNetInput = .raw; mixture.network.vNetInput = .raw; mixture.network.maskPlacement = nil
        mixture.dynamics.xUpdate = .linear
        XCTAssertThrowsError(try SamplerRules.validate(mixture)) { XCTAssertTrue("\($0)".contains("network.conv_stack"), "\($0)") }
    }
}
