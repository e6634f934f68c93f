@testable import Converter
import Foundation
import ModelFormat
import XCTest

extension Fixtures {
    static func torchFlow(_ name: String) -> String { root.appendingPathComponent("fixtures/torch-flow/\(name)").path }
}

/// The PyTorch U(1) flow conversion (fixtures/torch-flow, written by real PyTorch with
/// make_torch_flow_fixtures.py): the tutorial's state dict with `cuda:0` storages and fthmc's
/// checkpoint dict (numpy objects in `history`) become `flow` models whose arrays are the saved
/// tensors, permuted exactly (checked against the weights numpy wrote into the reference npz, an
/// independent path); facts from presets, flags and fthmc's directory name; every refusal coded.
final class TorchFlowConversionTests: XCTestCase {
    func convertTutorial(_ facts: [(FactKey, String)] = []) throws -> ConversionResult {
        try Converter.convert(path: Fixtures.torchFlow("tutorial-8x8.pt"), options: options(preset: "tutorial-2021", facts))
    }

    /// Every array equals the torch tensor it comes from: kernel[a, b, c, o] == weight[o, c, a, b]
    /// bit for bit (float32 kept), bias copied; nothing else is written.
    func assertArraysMatchTorch(_ model: L2ZModel, reference: String, layers: Int, convs: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let ref = try readNPZ(Fixtures.torchFlow(reference))
        XCTAssertEqual(model.arrays.filter { !$0.key.hasPrefix("probe.") }.count, 2 * layers * convs, file: file, line: line)
        XCTAssertEqual(model.arrays.filter { $0.key.hasPrefix("probe.flow.") }.count, 4, "the runtime's probe (z, x, log-det, force)", file: file, line: line)
        for i in 0..<layers {
            for j in 0..<convs {
                let w = try XCTUnwrap(ref["weights.\(i).plaq_coupling.net.\(2 * j).weight"], file: file, line: line)
                let b = try XCTUnwrap(ref["weights.\(i).plaq_coupling.net.\(2 * j).bias"], file: file, line: line)
                let k = try XCTUnwrap(model.arrays["layer\(i).conv\(j).kernel"], file: file, line: line)
                let kb = try XCTUnwrap(model.arrays["layer\(i).conv\(j).bias"], file: file, line: line)
                XCTAssertEqual(k.dtype, .float32, file: file, line: line)
                let (co, ci, ka) = (w.shape[0], w.shape[1], w.shape[2])
                XCTAssertEqual(k.shape, [ka, ka, ci, co], file: file, line: line)
                let wv = w.doubles(), kv = k.doubles()
                var mismatches = 0
                for o in 0..<co { for c in 0..<ci { for a in 0..<ka { for bb in 0..<ka {
                    if kv[((a * ka + bb) * ci + c) * co + o] != wv[((o * ci + c) * ka + a) * ka + bb] { mismatches += 1 }
                } } } }
                XCTAssertEqual(mismatches, 0, "layer \(i) conv \(j)", file: file, line: line)
                XCTAssertEqual(kb.doubles(), b.doubles(), file: file, line: line)
                XCTAssertEqual(kb.dtype, .float32, file: file, line: line)
            }
        }
    }

    func testTutorialStateDictWithCudaStorages() throws {
        // The fixture really carries the tutorial blob's device tag (and no "cpu").
        let pickle = try ZipArchive(path: Fixtures.torchFlow("tutorial-8x8.pt")).read("archive/data.pkl")
        let text = String(decoding: pickle, as: UTF8.self)
        XCTAssertTrue(text.contains("cuda:0") && !text.contains("cpu"), "the storages are tagged cuda:0")
        let result = try convertTutorial()
        let spec = try result.model.spec.flow()
        XCTAssertEqual(spec.target, U1Lattice(lt: 8, lx: 8, beta: 2, linkLayout: .muTX))
        XCTAssertEqual(spec.coupling, FlowCoupling(layers: 10, nMix: 2, kernelSize: 3, hiddenChannels: [8, 8], activation: .leakyRelu, angleConvention: .zeroToTwoPi))
        XCTAssertEqual(spec.hmc, FlowHMCSettings(stepSize: TorchFlowConversion.defaultStepSize, nLF: TorchFlowConversion.defaultNLF))
        try assertArraysMatchTorch(result.model, reference: "tutorial-8x8-ref.npz", layers: 10, convs: 3)
        XCTAssertEqual(result.report.naming, "torch-flow")
        XCTAssertTrue(result.report.rows.filter { $0.target.hasSuffix(".kernel") }.allSatisfy { $0.note.hasPrefix("permuted") })
        // The written file reads back strictly, as the same model.
        let back = try L2ZReader.read(bytes: try L2ZWriter.encode(result.model)).model
        XCTAssertEqual(back.spec, result.model.spec)
        XCTAssertEqual(back.arrays, result.model.arrays)
    }

    func testFthmcCheckpointDictWithNumpyHistory() throws {
        let result = try Converter.convert(path: Fixtures.torchFlow("fthmc-4x4.tar"), options: options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "3"), (.eps, "0.05"), (.nLF, "8"), (.nMix, "2"), (.kernelSize, "3"), (.hiddenUnits, "4,4")]))
        let spec = try result.model.spec.flow()
        XCTAssertEqual(spec.target, U1Lattice(lt: 4, lx: 4, beta: 3, linkLayout: .muTX))
        XCTAssertEqual(spec.coupling, FlowCoupling(layers: 6, nMix: 2, kernelSize: 3, hiddenChannels: [4, 4], activation: .swish, angleConvention: .minusPiToPi))
        XCTAssertEqual(spec.hmc, FlowHMCSettings(stepSize: 0.05, nLF: 8))
        try assertArraysMatchTorch(result.model, reference: "fthmc-4x4-ref.npz", layers: 6, convs: 3)
        XCTAssertEqual(result.model.provenance.training?["checkpoint"], .object(["era": .int(1), "epoch": .int(2)]))
        let ignored = result.report.rows.filter { $0.target == "ignored" }.map(\.source)
        XCTAssertTrue(ignored.contains { $0.hasPrefix("optimizer_state_dict.") }, "\(ignored)")
        XCTAssertTrue(ignored.contains { $0.hasPrefix("history") }, "the numpy history is listed, not interpreted: \(ignored)")
    }

    /// fthmc states lattice and beta only in its directory tree; read from there, and a flag that
    /// differs is a conflict.
    func testFthmcLatticeAndBetaFromItsDirectory() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let dir = scratch.file("logs/models/lat4x4/beta3.0/2021-12-01/training/checkpoints")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/ckpt-era1-epoch2.tar"
        try FileManager.default.copyItem(atPath: Fixtures.torchFlow("fthmc-4x4.tar"), toPath: path)
        let result = try Converter.convert(path: path, options: options(preset: "fthmc"))
        XCTAssertEqual(try result.model.spec.flow().target, U1Lattice(lt: 4, lx: 4, beta: 3, linkLayout: .muTX))
        XCTAssertTrue(result.report.facts.contains { $0.0 == "lattice" && $0.2.contains("lat4x4/beta3.0") }, "\(result.report.facts)")
        XCTAssertNoThrow(try Converter.convert(path: path, options: options(preset: "fthmc", [(.beta, "3.0")])), "an equal flag agrees")
        assertConvertError("convert.conflicting_fact") { _ = try Converter.convert(path: path, options: options(preset: "fthmc", [(.beta, "6")])) }
        assertConvertError("convert.conflicting_fact") { _ = try Converter.convert(path: path, options: options(preset: "fthmc", [(.lattice, "8x8")])) }
        XCTAssertEqual(FlowCheckpointPath.statements(path: "/a/lat16x16/beta6/x/ckpt.tar")?.lattice, "16x16")
        XCTAssertNil(FlowCheckpointPath.statements(path: "/a/lat16x16/x/beta6/ckpt.tar"), "the two directories must be consecutive")
        XCTAssertNil(FlowCheckpointPath.statements(path: "/a/lat16x16/beta-1/ckpt.tar"))
    }

    /// A sidecar can name the flow preset; the weights convert the same.
    func testSidecarNamesTheFlowPreset() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let sidecar = scratch.file("facts.json")
        try Data(#"{"preset": "fthmc", "lattice": "4x4", "beta": 3}"#.utf8).write(to: URL(fileURLWithPath: sidecar))
        let result = try Converter.convert(path: Fixtures.torchFlow("fthmc-4x4.tar"), options: options { $0.configPath = sidecar })
        XCTAssertEqual(try result.model.spec.flow().coupling.activation, .swish)
    }

    // MARK: refusals

    /// A flow state dict written in Swift as safetensors (the same reader path after the
    /// container), with `edit` applied to the tensor list; sizes as the fthmc fixture.
    func flowFile(_ scratch: Scratch, layers: Int = 2, hidden: [Int] = [4, 4], nMix: Int = 2, k: Int = 3,
                  edit: (inout [SafetensorsWriter.Tensor]) -> Void = { _ in }) throws -> String {
        var tensors: [SafetensorsWriter.Tensor] = []
        let sizes = [2] + hidden + [nMix + 1]
        var seed: UInt64 = 7
        func values(_ n: Int) -> [UInt8] {
            (0..<n).flatMap { _ -> [UInt8] in
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let f = Float(Int64(bitPattern: seed >> 11) % 1000) / 1000
                return withUnsafeBytes(of: f.bitPattern.littleEndian, Array.init)
            }
        }
        for i in 0..<layers {
            for j in 0..<(sizes.count - 1) {
                let shape = [sizes[j + 1], sizes[j], k, k]
                tensors.append(.init(name: "\(i).plaq_coupling.net.\(2 * j).weight", dtype: "F32", shape: shape, bytes: values(shape.reduce(1, *))))
                tensors.append(.init(name: "\(i).plaq_coupling.net.\(2 * j).bias", dtype: "F32", shape: [sizes[j + 1]], bytes: values(sizes[j + 1])))
            }
        }
        edit(&tensors)
        let path = scratch.file("flow-\(UUID().uuidString).safetensors")
        try Data(try SafetensorsWriter.encode(tensors, metadata: [:])).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testRefusals() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let tutorial = Fixtures.torchFlow("tutorial-8x8.pt"), fthmc = Fixtures.torchFlow("fthmc-4x4.tar")
        let good = try flowFile(scratch)
        func without(_ prefix: String) -> (inout [SafetensorsWriter.Tensor]) -> Void { { $0.removeAll { $0.name.hasPrefix(prefix) } } }
        func reshaped(_ name: String, _ shape: [Int]) -> (inout [SafetensorsWriter.Tensor]) -> Void {
            { ts in
                guard let i = ts.firstIndex(where: { $0.name == name }) else { return }
                ts[i] = .init(name: name, dtype: "F32", shape: shape, bytes: [UInt8](repeating: 0, count: 4 * shape.reduce(1, *)))
            }
        }
        let cases: [(String, String, String, ConversionOptions)] = [
            // (what, code, source, options)
            ("fthmc without lattice or beta (file not in its tree)", "convert.missing_fact", fthmc, try options(preset: "fthmc")),
            ("fthmc without beta", "convert.missing_fact", fthmc, try options(preset: "fthmc", [(.lattice, "4x4")])),
            ("no preset: no activation", "convert.missing_fact", good, try options([(.lattice, "4x4"), (.beta, "1")])),
            ("no angle convention", "convert.missing_fact", good, try options([(.lattice, "4x4"), (.beta, "1"), (.activation, "tanh")])),
            ("lattice not a multiple of 4", "convert.invalid_fact", tutorial, try options(preset: "tutorial-2021", [(.lattice, "6x8")])),
            ("two FT-HMC step sizes", "convert.invalid_fact", tutorial, try options(preset: "tutorial-2021", [(.eps, "0.1,0.2")])),
            ("an L2HMC fact", "convert.option_not_accepted", tutorial, try options(preset: "tutorial-2021", [(.masks, "checkerboard")])),
            ("another L2HMC fact", "convert.option_not_accepted", tutorial, try options(preset: "tutorial-2021", [(.xUpdate, "ncp")])),
            ("t_x_mu links", "convert.conflicting_fact", tutorial, try options(preset: "tutorial-2021", [(.linkLayout, "t_x_mu")])),
            ("hidden channels differ from the kernels", "convert.conflicting_fact", tutorial, try options(preset: "tutorial-2021", [(.hiddenUnits, "4,4")])),
            ("n_mix differs from the last convolution", "convert.conflicting_fact", tutorial, try options(preset: "tutorial-2021", [(.nMix, "3")])),
            ("kernel size differs from the kernels", "convert.conflicting_fact", tutorial, try options(preset: "tutorial-2021", [(.kernelSize, "5")])),
            ("a flow fact for an L2HMC file", "convert.option_not_accepted", Fixtures.torchL2HMC("shared2022.pt"), try options(preset: "torch-2022-12", [(.angleConvention, "zero_to_two_pi")])),
            ("a flow fact for a Keras file", "convert.option_not_accepted", Fixtures.keras("tf2021_tfkeras_weights.h5"), try options(preset: "tf2-functional-2021", [(.nMix, "2")])),
            ("an L2HMC preset on a flow file", "convert.conflicting_fact", tutorial, try options(preset: "torch-2023-06")),
            ("a flow preset on an L2HMC file", "convert.unrecognized_naming", Fixtures.torchL2HMC("shared2022.pt"), try options(preset: "tutorial-2021")),
            ("a flow preset on a Keras file", "convert.option_not_accepted", Fixtures.keras("tf2021_tfkeras_weights.h5"), try options(preset: "fthmc")),
            ("--output-link-layout t_x_mu", "convert.option_not_accepted", tutorial, try options(preset: "tutorial-2021") { $0.outputLinkLayout = .tXMu }),
            ("a hydra config", "convert.option_not_accepted", tutorial, try options(preset: "tutorial-2021") { $0.configPath = Fixtures.torchL2HMC("shared2022-config.yaml") }),
            ("a missing coupling layer", "convert.missing_array", try flowFile(scratch, layers: 3, edit: without("1.")), try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "1")])),
            ("a missing bias", "convert.missing_array", try flowFile(scratch, edit: without("1.plaq_coupling.net.2.bias")), try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "1")])),
            ("first conv reads 3 channels", "convert.shape_mismatch", try flowFile(scratch, edit: reshaped("0.plaq_coupling.net.0.weight", [4, 3, 3, 3])), try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "1")])),
            ("even kernel", "convert.shape_mismatch", try flowFile(scratch, k: 2), try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "1")])),
            ("layer 1 differs from layer 0", "convert.shape_mismatch", try flowFile(scratch, edit: reshaped("1.plaq_coupling.net.2.weight", [5, 4, 3, 3])), try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "1")])),
            ("bias of the wrong length", "convert.shape_mismatch", try flowFile(scratch, edit: reshaped("1.plaq_coupling.net.4.bias", [2])), try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "1")])),
            ("one output channel (no shift)", "convert.shape_mismatch", try flowFile(scratch, nMix: 0), try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "1")])),
            ("parameters at an odd module index", "convert.unrecognized_naming", try flowFile(scratch) { $0.append(.init(name: "0.plaq_coupling.net.1.weight", dtype: "F32", shape: [1], bytes: [0, 0, 0, 0])) },
             try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "1")])),
            ("an extra tensor", "convert.unmapped_datasets", try flowFile(scratch) { $0.append(.init(name: "prior.low", dtype: "F32", shape: [1], bytes: [0, 0, 0, 0])) },
             try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "1")])),
        ]
        XCTAssertNoThrow(try Converter.convert(path: good, options: try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "1")])), "the unedited file converts")
        for (what, code, path, o) in cases {
            do {
                _ = try Converter.convert(path: path, options: o)
                XCTFail("\(what): converted, expected \(code)")
            } catch {
                XCTAssertEqual((error as? ConvertError)?.code, code, "\(what): \(error)")
            }
        }
        // An extra tensor is accepted with --allow-unused, and listed.
        let extra = try flowFile(scratch) { $0.append(.init(name: "prior.low", dtype: "F32", shape: [1], bytes: [0, 0, 0, 0])) }
        let r = try Converter.convert(path: extra, options: try options(preset: "fthmc", [(.lattice, "4x4"), (.beta, "1")]) { $0.allowUnused = true })
        XCTAssertEqual(r.report.warnings.count, 1)
    }

    /// The message of a missing fact names the flag, and where fthmc keeps it.
    func testMissingFactMessageSaysHow() throws {
        let error = assertConvertError("convert.missing_fact") { _ = try Converter.convert(path: Fixtures.torchFlow("fthmc-4x4.tar"), options: options(preset: "fthmc")) }
        let text = "\(error.map { "\($0)" } ?? "")"
        XCTAssertTrue(text.contains("--lattice") && text.contains("lat{L}x{L}"), text)
    }
}
