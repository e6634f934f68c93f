import Converter
import Foundation
import ModelFormat
import XCTest

/// Presets, the sidecar and flags: precedence, strict parsing, and that a preset plus what it
/// says is still needed is enough to convert.
final class FactsTests: XCTestCase {
    func testEveryPresetNeedsExactlyWhatItSaysToConvertAFile() throws {
        // A random 2021-named file, converted with each preset plus only the facts the preset
        // lists as still needed (and the structure facts a file of this shape fixes).
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        for preset in Preset.keras {
            let f = preset.facts
            let layout = f.layout?.value ?? .shared, xNets = f.xNetworksPerStep?.value ?? 1
            let xInput = f.xNetInput!.value, vInput = f.vNetInput!.value
            var w = NetWeights.all(1)
            if f.xUpdate?.value == .linear { w.xScale = 0 }
            let spec = SamplerSpec(target: .u1(U1Lattice(lt: 2, lx: 2, beta: 1)), dynamics: Dynamics(nLF: 2, xUpdate: f.xUpdate?.value ?? .ncp),
                                   network: NetworkSpec(layout: layout, xNetworksPerStep: xNets, xNetInput: xInput, vNetInput: vInput,
                                                        maskPlacement: xInput == .raw ? nil : f.maskPlacement!.value, timeInput: f.timeInput!.value,
                                                        hiddenUnits: [4], scaleHead: .tanh, transformationHead: .tanh), netWeights: w)
            let model = try RandomModel.make(sampler: spec, seed: 9)
            var layers = kerasLayers2021(model)
            if layout == .shared {   // shared networks carry no step index: vnet_x_layer, ...
                layers = layers.map { (l, ws) in (String(l.dropLast()), ws.map { (n, s, v) in (n.replacingOccurrences(of: l + "_", with: String(l.dropLast()) + "_"), s, v) }) }
            }
            let path = scratch.file("\(preset.name).h5")
            try writeKerasH5(path, layers: layers)
            let masks = scratch.file("masks.npy")
            try Data(NpyCodec.encode(model.arrays["masks"]!)).write(to: URL(fileURLWithPath: masks))
            var given: [(FactKey, String)] = []
            for key in preset.stillNeeded {
                switch key {
                case .lattice: given.append((.lattice, "2x2"))
                case .beta: given.append((.beta, "1"))
                case .eps: given.append((.eps, "0.1"))
                case .masks: given.append((.masks, masks))
                case .xUpdate: given.append((.xUpdate, "ncp"))
                case .activation: given.append((.activation, "relu"))
                default: XCTFail("\(preset.name) needs \(key), which this test does not give")
                }
            }
            if layout == .shared { given.append((.nLF, "2")) }
            // One fact short of the list is refused, naming that fact.
            for drop in preset.stillNeeded {
                let fewer = given.filter { $0.0 != drop }
                let e = assertConvertError("convert.missing_fact", { _ = try Converter.convert(path: path, options: try options(preset: preset.name, fewer)) })
                XCTAssertTrue("\(e!)".contains("'\(drop.rawValue)'"), "\(preset.name) without \(drop): \(e!)")
            }
            let r = try Converter.convert(path: path, options: try options(preset: preset.name, given))
            XCTAssertEqual(try r.model.sampler.network.xNetInput, xInput, preset.name)
            XCTAssertTrue(r.model.arrays["eps_x"] != nil, preset.name)
        }
    }

    func testPresetFactsOfTheEras() {
        XCTAssertEqual(Preset.all.map(\.name), ["tf1-2019", "tf2-eager-2020", "tf2-functional-2020", "tf2-functional-2021", "head-2022",
                                                "torch-2022-08", "torch-2022-12", "torch-2023-06"])
        // The PyTorch eras differ only in the two facts no weight file shows.
        XCTAssertEqual(Preset.torch2022_08.facts.headCoefficient?.value, .linear)
        XCTAssertEqual(Preset.torch2022_12.facts.headCoefficient?.value, .exp)
        XCTAssertEqual(Preset.torch2022_12.facts.epsXParametrization?.value, .raw)
        XCTAssertEqual(Preset.torch2023_06.facts.epsXParametrization?.value, .epsOverOnePlusEps)
        XCTAssertEqual(Preset.torch2023_06.facts.epsVParametrization?.value, .epsOverOnePlusEps)
        for p in Preset.torch {
            XCTAssertEqual(p.facts.maskMeaning?.value, .keptFirst, p.name)
            XCTAssertEqual(p.facts.linkLayout?.value, .muTX, p.name)
            XCTAssertEqual(p.facts.batchNormEpsilon?.value, 1e-5, p.name)
            XCTAssertEqual(p.facts.timeInput?.value, false, p.name)
        }
        XCTAssertEqual(Preset.tf2Functional2021.facts.translationSign?.value, .minus)
        XCTAssertEqual(Preset.tf2Functional2021.facts.xNetInput?.value, .cosSinInterleaved)
        XCTAssertEqual(Preset.tf2Functional2021.facts.maskPlacement?.value, .afterTrig)
        XCTAssertEqual(Preset.tf2Functional2021.facts.masks?.value, .rule(.checkerboard))
        XCTAssertNil(Preset.tf2Functional2021.facts.xUpdate, "NCP was optional in the functional era: never guessed")
        XCTAssertEqual(Preset.head2022.facts.timeInput?.value, false)
        XCTAssertEqual(Preset.head2022.facts.linkLayout?.value, .muTX)
        XCTAssertEqual(Preset.head2022.facts.epsXParametrization?.value, .epsOverOnePlusEps)
        XCTAssertEqual(Preset.head2022.facts.epsVParametrization?.value, .raw)
        XCTAssertNil(Preset.head2022.facts.masks, "HEAD masks were never saved")
        XCTAssertEqual(Preset.tf1_2019.facts.translationSign?.value, .plus)
        XCTAssertEqual(Preset.tf2Eager2020.facts.masks?.value, .rule(.muAlternating))
        for p in Preset.all {
            XCTAssertNil(p.facts.lattice, p.name); XCTAssertNil(p.facts.beta, p.name); XCTAssertNil(p.facts.epsX, p.name)
            XCTAssertTrue(p.facts.givenKeys.allSatisfy { !p.stillNeeded.map(\.rawValue).contains($0) }, p.name)
        }
    }

    func testSidecarOverridesPresetAndFlagsOverrideSidecar() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let sidecar = scratch.file("facts.json")
        try Data("""
            {"preset": "tf2-functional-2021", "lattice": [2, 2], "beta": 3, "eps_x": [0.2], "eps_v": 0.3,
             "x_update": "ncp", "translation_sign": 1, "time_input": true, "activation": "relu"}
            """.utf8).write(to: URL(fileURLWithPath: sidecar))
        let r = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_weights.h5"), options: try options([(.beta, "4")]) { $0.configPath = sidecar })
        guard case let .u1(l) = try r.model.sampler.target else { return XCTFail() }
        XCTAssertEqual(l.beta, 4, "the flag wins over the sidecar")
        XCTAssertEqual(try r.model.sampler.dynamics.translationSign, .plus, "the sidecar wins over the preset")
        XCTAssertEqual(try r.model.doubles("eps_x"), [0.2])
        XCTAssertEqual(try r.model.doubles("eps_v"), [0.3])
        let origins = Dictionary(uniqueKeysWithValues: r.report.facts.map { ($0.0, $0.2) })
        XCTAssertEqual(origins["beta"], "--beta")
        XCTAssertEqual(origins["translation_sign"], "config facts.json")
        XCTAssertEqual(origins["x_net_input"], "preset tf2-functional-2021")
        XCTAssertEqual(origins["hidden_units"], "the file")

        try Data(#"{"lattice": "2x2", "colour": "blue"}"#.utf8).write(to: URL(fileURLWithPath: sidecar))
        let e = assertConvertError("convert.invalid_fact") { _ = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_weights.h5"), options: try options { $0.configPath = sidecar }) }
        XCTAssertTrue("\(e!)".contains("colour"), "\(e!)")
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: sidecar))
        assertConvertError("convert.invalid_fact") { _ = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_weights.h5"), options: try options { $0.configPath = sidecar }) }
    }

    func testMasksFromAnNpyFileAreCheckedAndUsed() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let base: [(FactKey, String)] = [(.lattice, "2x2"), (.beta, "1"), (.eps, "0.1"), (.xUpdate, "ncp"), (.activation, "relu")]
        let good = scratch.file("m.npy"), bad = scratch.file("bad.npy"), shape = scratch.file("shape.npy")
        let row: [UInt8] = [1, 1, 0, 0, 1, 1, 0, 0]
        try Data(NpyCodec.encode(try NDArray(shape: [1, 8], uint8s: row))).write(to: URL(fileURLWithPath: good))
        try Data(NpyCodec.encode(try NDArray(shape: [1, 8], doubles: [1, 2, 0, 0, 1, 1, 0, 0]))).write(to: URL(fileURLWithPath: bad))
        try Data(NpyCodec.encode(try NDArray(shape: [2, 8], uint8s: row + row))).write(to: URL(fileURLWithPath: shape))
        let r = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_weights.h5"), options: try options(preset: "tf2-functional-2021", base + [(.masks, good)]))
        XCTAssertEqual(r.model.arrays["masks"]?.bytes, row)
        assertConvertError("convert.invalid_fact") { _ = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_weights.h5"), options: try options(preset: "tf2-functional-2021", base + [(.masks, bad)])) }
        assertConvertError("convert.invalid_fact") { _ = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_weights.h5"), options: try options(preset: "tf2-functional-2021", base + [(.masks, shape)])) }
    }

    func testDryRunReportListsEveryDatasetAndFact() throws {
        let r = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_model.h5"),
                                      options: try options(preset: "tf2-functional-2021", [(.lattice, "2x2"), (.beta, "1"), (.eps, "0.1"), (.xUpdate, "ncp"), (.activation, "relu")]))
        let text = r.report.lines().joined(separator: "\n")
        XCTAssertEqual(r.report.rows.count, 54, "every weight dataset of the three networks")
        for row in r.report.rows { XCTAssertTrue(text.contains(row.source), row.source) }
        for key in ["lattice", "beta", "masks", "translation_sign", "x_update", "batch_norm_epsilon", "net_weights"] {
            XCTAssertTrue(text.contains("\n\(key) "), "fact \(key) in the report")
        }
        XCTAssertTrue(text.contains("/model_weights/vnet0/vnet0_x_layer/kernel:0"), text)
        XCTAssertTrue(text.contains("54 source datasets: 54 mapped, 0 ignored, 0 unmapped"), text)
    }
}
