import Converter
import Foundation
import Inference
import ModelFormat
import XCTest

/// Upstream PyTorch's convolution stack (fixtures conv2023 and conv2022, made with REAL PyTorch by
/// make_torch_l2hmc_fixtures.py): converted with the run's conv config, every network head and a
/// full trajectory reproduce PyTorch's own outputs with the tolerances of ``TorchL2HMCFixtureTests``
/// (|ours - torch64| <= 1e-10 abs + rel: the same float32 weights evaluated in float64 by both,
/// in a different summation order, through 3 convolutions of at most 36 terms and a 64-term
/// dense layer; |ours - torch32| within 1.01 x PyTorch's own float64-float32 gap + 1e-9).
extension TorchL2HMCFixtureTests {
    func convOptions(_ name: String, preset: String, config: String? = nil, layout: LinkLayout? = nil) throws -> ConversionOptions {
        try options(preset: preset, [(.masks, Fixtures.torchL2HMC("\(name)-masks.npy"))]) {
            $0.configPath = config ?? Fixtures.torchL2HMC("\(name)-config.yaml")
            $0.outputLinkLayout = layout
        }
    }

    /// Every network carries the stack (2023): filters [2, 3, 4], sizes [3, 2, 2], the pool after
    /// the third conv (loop index 1), F = 4 x 4 x 4 = 64, D = 32; the links stay mu_t_x.
    func testConv2023MatchesPyTorch() throws {
        let result = try Converter.convert(path: Fixtures.torchL2HMC("conv2023.pt"), options: convOptions("conv2023", preset: "torch-2023-06"))
        let spec = try result.model.sampler
        typealias L = ConvStackSpec.Layer
        XCTAssertEqual(spec.network.convStack, ConvStackSpec(appliesTo: .xAndVNetworks,
                                                             layers: [L(filters: 2, kernelSize: 3, pool: 1, activation: false),
                                                                      L(filters: 3, kernelSize: 2, pool: 1, activation: true),
                                                                      L(filters: 4, kernelSize: 2, pool: 2, activation: true)],
                                                             poolOrder: .poolThenActivation, denseUnits: 32))
        XCTAssertEqual(spec.u1LinkLayout, .muTX)
        XCTAssertEqual(result.model.arrays["xnet_first.0.conv_stack.conv0.kernel"]?.shape, [3, 3, 4, 2])
        XCTAssertEqual(result.model.arrays["vnet.0.conv_stack.conv0.kernel"]?.shape, [3, 3, 2, 2])
        XCTAssertEqual(result.model.arrays["vnet.0.conv_stack.dense.kernel"]?.shape, [64, 32])
        XCTAssertEqual(result.model.arrays["vnet.0.conv_stack.dense.kernel"]?.dtype, .float32, "float32 weights stay float32")
        XCTAssertTrue(result.report.rows.contains { $0.target == "xnet_second.0.conv_stack.conv2.kernel" && $0.source.hasSuffix("conv_stack.layers.6.weight") })
        // The converted file round-trips and its probe verifies on load.
        let back = try L2ZReader.read(bytes: try L2ZWriter.encode(result.model))
        XCTAssertEqual(back.manifest.formatVersion.description, "1.3")
        XCTAssertNotNil(try ProbeVerifier.verify(model: back.model, target: U1Action(lattice: U1Lattice(lt: 4, lx: 4, beta: 2, linkLayout: .muTX))))
        try compare(result.model, outputs: "conv2023-outputs.npz", label: "conv2023")
    }

    /// The stack on the x-network only (before 2023-02-08): the v-network keeps its x_layer on the
    /// raw links; no pool with two convs.
    func testConv2022XNetworksOnlyMatchesPyTorch() throws {
        let result = try Converter.convert(path: Fixtures.torchL2HMC("conv2022.pt"), options: convOptions("conv2022", preset: "torch-2022-12"))
        let stack = try XCTUnwrap(result.model.sampler.network.convStack)
        XCTAssertEqual(stack.appliesTo, .xNetworks)
        XCTAssertEqual(stack.layers.map(\.pool), [1, 1])
        XCTAssertNil(result.model.arrays["vnet.0.conv_stack.conv0.kernel"])
        XCTAssertEqual(result.model.arrays["vnet.0.x_layer.kernel"]?.shape, [32, 8])
        XCTAssertEqual(result.model.arrays["xnet.0.x_layer.kernel"]?.shape, [32, 8])
        try compare(result.model, outputs: "conv2022-outputs.npz", label: "conv2022")
    }

    /// A config that disagrees with the tensors is refused naming the tensor, and so are a
    /// config without a stack, another output link layout, and a kernel size 1.
    func testConvConfigMismatchesAreRefused() throws {
        let text = try String(contentsOfFile: Fixtures.torchL2HMC("conv2023-config.yaml"), encoding: .utf8)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("convstack-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var written = 0
        func config(_ from: String, _ to: String, in base: String? = nil) throws -> String {
            let source = base ?? text
            XCTAssertTrue(source.contains(from), from)
            written += 1
            let path = dir.appendingPathComponent("c\(written).yaml").path
            try source.replacingOccurrences(of: from, with: to).write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        func error(_ options: ConversionOptions) -> String {
            do { _ = try Converter.convert(path: Fixtures.torchL2HMC("conv2023.pt"), options: options); return "converted" } catch let e as ConvertError {
                return "[\(e.code)] \(e)"
            } catch { return "\(error)" }
        }
        let cases: [(String, ConversionOptions, String, String)] = [
            // (label, options, code, phrase)
            ("wrong filters", try convOptions("conv2023", preset: "torch-2023-06", config: config("- 2\n  - 3\n  - 4\n", "- 2\n  - 5\n  - 4\n")),
             "convert.shape_mismatch", "conv_stack.layers.3.weight"),
            ("wrong sizes", try convOptions("conv2023", preset: "torch-2023-06", config: config("- 3\n  - 2\n  - 2\n", "- 3\n  - 3\n  - 2\n")),
             "convert.shape_mismatch", "conv_stack.layers.3.weight"),
            ("wrong pool (the flatten width)", try convOptions("conv2023", preset: "torch-2023-06", config: config("pool:\n  - 2\n  - 2\n", "pool:\n  - 2\n  - 4\n")),
             "convert.shape_mismatch", "conv_stack.layers.10.weight"),
            ("two filters: other indices", try convOptions("conv2023", preset: "torch-2023-06", config: config("- 2\n  - 3\n  - 4\n", "- 2\n  - 3\n")),
             "convert.invalid_fact", "as many sizes and pools as filters"),
            ("no stack in the config", try convOptions("conv2023", preset: "torch-2023-06", config: config("filters:\n  - 2\n  - 3\n  - 4\n  sizes:\n  - 3\n  - 2\n  - 2\n  pool:\n  - 2\n  - 2\n  - 2\n",
                                                                                                   "filters: []\n  sizes: []\n  pool: []\n")),
             "convert.conflicting_fact", "has no convolution stack"),
            ("t_x_mu output", try convOptions("conv2023", preset: "torch-2023-06", layout: .tXMu), "convert.option_not_accepted", "mu_t_x"),
        ]
        for (label, o, code, phrase) in cases {
            let got = error(o)
            XCTAssertTrue(got.hasPrefix("[\(code)]") && got.contains(phrase), "\(label): \(got)")
        }
        // The stack's config without the tensors (head2023 has none).
        let head = try String(contentsOfFile: Fixtures.torchL2HMC("head2023-config.yaml"), encoding: .utf8)
        let strayConfig = try config("filters: []\n  sizes: []\n  pool: []\n", "filters: [2]\n  sizes: [3]\n  pool: [2]\n", in: head)
        let stray = try options(preset: "torch-2023-06", [(.masks, Fixtures.torchL2HMC("head2023-masks.npy"))]) { $0.configPath = strayConfig }
        do { _ = try Converter.convert(path: Fixtures.torchL2HMC("head2023.safetensors"), options: stray); XCTFail("converted") } catch let e as ConvertError {
            XCTAssertEqual(e.code, "convert.conflicting_fact", "\(e)")
            XCTAssertTrue("\(e)".contains("has a convolution stack"), "\(e)")
        }
        // The x-networks-only stack (before 2023-02-08) is not what upstream's 2023 code builds: no export.
        XCTAssertThrowsError(try TorchExport.encode(try Converter.convert(path: Fixtures.torchL2HMC("conv2022.pt"), options: convOptions("conv2022", preset: "torch-2022-12")).model,
                                                    sourceSHA256: nil)) { e in
            XCTAssertEqual((e as? ConvertError)?.code, "convert.export_unsupported", "\(e)")
            XCTAssertTrue("\(e)".contains("network.conv_stack") && "\(e)".contains("x_networks"), "\(e)")
        }
    }

    /// The export writes the stack at upstream's module indices with the config in its metadata:
    /// the export of the converted conv2023 holds exactly PyTorch's stack tensors (the same keys
    /// and values as the original state dict), and converts back with no option to the same model.
    func testConv2023ExportsToUpstreamKeysAndConvertsBack() throws {
        let model = try Converter.convert(path: Fixtures.torchL2HMC("conv2023.pt"), options: convOptions("conv2023", preset: "torch-2023-06")).model
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("convexport-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.safetensors").path
        try AtomicFile.write(try TorchExport.encode(model, sourceSHA256: nil), to: path, replaceExisting: false)
        let exported = try SafetensorsFile(path: path)
        let original = try TorchCheckpoint(path: Fixtures.torchL2HMC("conv2023.pt"))
        XCTAssertEqual(Set(exported.tensors.map(\.name)), Set(original.tensors.map(\.path)), "the same keys, both aliases and the stack's module indices included")
        XCTAssertEqual(original.tensors.filter { $0.path.contains("conv_stack") }.count, 2 * 3 * 8, "3 networks x 8 stack tensors, under both aliases")
        for t in original.tensors {
            guard let e = exported.tensors.first(where: { $0.name == t.path }) else { continue }
            XCTAssertEqual(e.shape, t.shape, t.path)
            XCTAssertEqual(try exported.values(e).values, t.values, t.path)
        }
        XCTAssertEqual(exported.metadata["l2hmc.conv_filters"], "2,3,4")
        XCTAssertEqual(exported.metadata["l2hmc.conv_sizes"], "3,2,2")
        XCTAssertEqual(exported.metadata["l2hmc.conv_pool"], "1,2,1")
        let back = try Converter.convert(path: path, options: ConversionOptions()).model
        XCTAssertEqual(try back.sampler, try model.sampler)
        for (name, array) in model.arrays where !ProbeArrayNames.isProbe(name) {
            XCTAssertEqual(back.arrays[name]?.doubles(), array.doubles(), name)
        }
    }
}
