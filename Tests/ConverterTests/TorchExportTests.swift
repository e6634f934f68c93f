import Foundation
import ModelFormat
import XCTest
@testable import Converter

/// `l2hmc-convert export --naming torch-2023`: the export of a converted PyTorch model is the
/// original state dict again (keys, shapes and every network value bit for bit, both aliases),
/// and it converts back with no option to the same model. Expected values come from the files
/// real PyTorch wrote (fixtures/torch-l2hmc), read by the independent TorchCheckpoint reader.
final class TorchExportTests: XCTestCase {
    func convertShared() throws -> L2ZModel {
        try Converter.convert(path: Fixtures.torchL2HMC("shared2022.pt"), options: options(preset: "torch-2022-12", [(.masks, Fixtures.torchL2HMC("shared2022-masks.npy"))]) {
            $0.configPath = Fixtures.torchL2HMC("shared2022-config.yaml")
        }).model
    }

    func testExportIsTheOriginalStateDict() throws {
        let model = try convertShared()
        let bytes = try TorchExport.encode(model, sourceSHA256: nil)
        let export = try SafetensorsFile(bytes: bytes, path: "export.safetensors")
        let original = try TorchCheckpoint(path: Fixtures.torchL2HMC("shared2022.pt"))
        XCTAssertEqual(Set(export.tensors.map(\.name)), Set(original.tensors.map(\.path)), "the same keys, both aliases included")
        for t in original.tensors {
            guard let e = export.tensors.first(where: { $0.name == t.path }) else { continue }
            XCTAssertEqual(e.shape, t.shape, t.path)
            let values = try export.values(e).values
            if t.path.hasPrefix("xeps.") || t.path.hasPrefix("veps.") {
                // This era used the raw parameter as the step size; upstream now uses p / (1 + p).
                let e = t.values?.first ?? 0, p = values[0]
                XCTAssertEqual(p / (1 + p), e, accuracy: 1e-15, t.path)
            } else {
                XCTAssertEqual(values, t.values, t.path)
            }
        }
        XCTAssertEqual(export.metadata["l2hmc.naming"], "torch-2023")
        // The masks in upstream's meaning are the file the conversion was given.
        let masks = try NpyCodec.decode(try AtomicFile.read(Fixtures.torchL2HMC("shared2022-masks.npy"), limit: 1 << 20), name: "m", limits: ReadLimits()).doubles()
        let rows = export.metadata["l2hmc.masks"]?.split(separator: ";").map { $0.map { $0 == "1" ? 1.0 : 0.0 } }
        XCTAssertEqual(rows?.flatMap { $0 }, masks)
    }

    func testExportConvertsBackWithNoOption() throws {
        let model = try convertShared()
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let path = scratch.path + "/m.safetensors"
        try AtomicFile.write(try TorchExport.encode(model, sourceSHA256: nil), to: path)
        let back = try Converter.convert(path: path, options: ConversionOptions()).model
        XCTAssertEqual(try back.sampler.network, try model.sampler.network)
        XCTAssertEqual(try back.sampler.netWeights, try model.sampler.netWeights)
        XCTAssertEqual(back.arrays["masks"], model.arrays["masks"])
        for (name, a) in model.arrays where !name.hasPrefix("probe.") && !name.hasPrefix("eps_") {
            XCTAssertEqual(back.arrays[name], a, name)
        }
        // Step sizes: raw e -> p = e / (1 - e) -> p / (1 + p): equal to rounding.
        XCTAssertEqual(try back.sampler.dynamics.epsXParametrization, .epsOverOnePlusEps)
        for name in ["eps_x", "eps_v"] {
            let p = back.arrays[name]?.doubles() ?? [], e = model.arrays[name]?.doubles() ?? []
            XCTAssertEqual(p.count, e.count)
            for (pk, ek) in zip(p, e) { XCTAssertEqual(pk / (1 + pk), ek, accuracy: 1e-16, name) }
        }
    }

    func testModelsUpstreamCannotComputeAreRefused() throws {
        let root = URL(fileURLWithPath: Fixtures.keras("x")).deletingLastPathComponent().deletingLastPathComponent()
        for (file, field) in [("default.l2z", "network.time_input"), ("gmm2-trained.l2z", "target.kind")] {
            let model = try L2ZReader.read(path: root.appendingPathComponent(file).path).model
            let error = assertConvertError("convert.export_unsupported") { _ = try TorchExport.encode(model, sourceSHA256: nil) }
            XCTAssertTrue("\(error.map { "\($0)" } ?? "")".contains(field), file)
        }
    }
}

/// Conversion refusals and fact cross-checks of PyTorch sources (each with its code).
final class TorchConversionRefusalTests: XCTestCase {
    func head2023(_ file: String = "model-1-0-5-2026-11-26-120000.pth", preset: String? = "torch-2023-06", _ facts: [(FactKey, String)] = [],
                  config: String? = "head2023-config.yaml") throws -> ConversionOptions {
        try options(preset: preset, [(.masks, Fixtures.torchL2HMC("head2023-masks.npy"))] + facts) { $0.configPath = config.map(Fixtures.torchL2HMC) }
    }

    /// A convolution stack's module indices, pools and activations are not in the weights: without
    /// the run's conv config the conversion names the missing fact.
    func testConvolutionStackWithoutItsConfigNamesTheMissingFact() throws {
        let e = assertConvertError("convert.missing_fact") {
            _ = try Converter.convert(path: Fixtures.torchL2HMC("conv2023.pt"), options: try self.head2023(config: nil))
        }
        XCTAssertTrue("\(e.map { "\($0)" } ?? "")".contains("'conv'"), "\(e.map { "\($0)" } ?? "")")
    }

    func testAliasesWithDifferentValuesAreRefused() throws {
        let e = assertConvertError("convert.alias_mismatch") {
            _ = try Converter.convert(path: Fixtures.torchL2HMC("alias-mismatch.safetensors"), options: try self.head2023())
        }
        XCTAssertTrue("\(e.map { "\($0)" } ?? "")".contains("networks.vnet.1.transl.bias"))
    }

    func testTheConfigContradictingAFlagIsAConflict() throws {
        let e = assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: Fixtures.torchL2HMC("shared2022.pt"),
                                      options: try options(preset: "torch-2022-12", [(.masks, Fixtures.torchL2HMC("shared2022-masks.npy")), (.activation, "relu")]) {
                                          $0.configPath = Fixtures.torchL2HMC("shared2022-config.yaml")
                                      })
        }
        XCTAssertEqual("\(e.map { "\($0)" } ?? "")", "[convert.conflicting_fact] fact 'activation': the file (shared2022-config.yaml: network.activation_fn) states tanh, but --activation gives relu")
    }

    func testStoredStepSizesWinOverNothingAndConflictWithADifferentFlag() throws {
        assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: Fixtures.torchL2HMC("shared2022.pt"),
                                      options: try options(preset: "torch-2022-12", [(.masks, Fixtures.torchL2HMC("shared2022-masks.npy")), (.eps, "0.1")]) {
                                          $0.configPath = Fixtures.torchL2HMC("shared2022-config.yaml")
                                      })
        }
    }

    /// The checkpoint dict's own `xeps` list (0-d numpy arrays, decoded as data) must agree with
    /// the state dict's `xeps.{k}`.
    func testCheckpointStepSizeListContradictingTheStateDictIsAConflict() throws {
        let e = assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: Fixtures.torchL2HMC("ckpt-eps-mismatch.tar"), options: try self.head2023())
        }
        XCTAssertTrue("\(e.map { "\($0)" } ?? "")".contains("checkpoint list xeps"), "\(e.map { "\($0)" } ?? "")")
        // The consistent checkpoint converts (its lists agree).
        XCTAssertNoThrow(try Converter.convert(path: Fixtures.torchL2HMC("ckpt-1-0-5-2026-11-26-120000.tar"), options: try self.head2023()))
    }

    func testWithoutConfigTheFactsAreRequired() throws {
        let e = assertConvertError("convert.missing_fact") {
            _ = try Converter.convert(path: Fixtures.torchL2HMC("shared2022.pt"),
                                      options: try options(preset: "torch-2022-12", [(.masks, Fixtures.torchL2HMC("shared2022-masks.npy"))]))
        }
        XCTAssertTrue("\(e.map { "\($0)" } ?? "")".contains("lattice"))
        assertConvertError("convert.missing_fact") {
            _ = try Converter.convert(path: Fixtures.torchL2HMC("shared2022.pt"), options: try options(preset: "torch-2022-12") {
                $0.configPath = Fixtures.torchL2HMC("shared2022-config.yaml")
            })
        }
    }

    /// Without a hydra config each PyTorch preset needs exactly what it lists (the step sizes are
    /// in the file); one fact short is refused naming that fact.
    func testEveryTorchPresetNeedsExactlyWhatItSays() throws {
        for preset in Preset.torch {
            let given: [(FactKey, String)] = preset.stillNeeded.map { key in
                switch key {
                case .lattice: return (.lattice, "4x4")
                case .beta: return (.beta, "1.5")
                case .masks: return (.masks, Fixtures.torchL2HMC("shared2022-masks.npy"))
                case .activation: return (.activation, "tanh")
                default: XCTFail("\(preset.name) needs \(key)"); return (key, "")
                }
            }
            for drop in preset.stillNeeded {
                let e = assertConvertError("convert.missing_fact") {
                    _ = try Converter.convert(path: Fixtures.torchL2HMC("shared2022.pt"), options: try options(preset: preset.name, given.filter { $0.0 != drop }))
                }
                XCTAssertTrue("\(e.map { "\($0)" } ?? "")".contains("'\(drop.rawValue)'"), "\(preset.name) without \(drop)")
            }
            XCTAssertNoThrow(try Converter.convert(path: Fixtures.torchL2HMC("shared2022.pt"), options: try options(preset: preset.name, given)), preset.name)
        }
    }

    func testHydraConfigRefusals() throws {
        let cases: [(String, String)] = [
            ("dynamics:\n  group: SU3\n", "only U(1)"),
            ("framework: tensorflow\ndynamics:\n  group: U1\n", "tensorflow"),
            ("network:\n  activation_fn: elu\n", "elu"),
            ("base: &b\n  units: [8]\nnetwork: *b\n", "anchor or alias"),
        ]
        for (yaml, phrase) in cases {
            let e = assertConvertError("convert.unsupported_source") { _ = try HydraConfig.statements(yaml: yaml, name: "c.yaml", path: "c.yaml") }
            XCTAssertTrue("\(e.map { "\($0)" } ?? "")".contains(phrase), yaml)
        }
        assertConvertError("convert.invalid_fact") { _ = try HydraConfig.statements(yaml: "- a\n- b\n", name: "c.yaml", path: "c.yaml") }
        // The conv group is read (checked against the weights later), with upstream's defaults.
        let conv = try HydraConfig.statements(yaml: "conv:\n  filters: [8, 16]\n  pool: null\ndynamics:\n  group: U1\n", name: "c.yaml", path: "c.yaml")
        XCTAssertEqual(conv.convStack?.filters, [8, 16])
        XCTAssertEqual(conv.convStack?.sizes, [2, 2])
        XCTAssertEqual(conv.convStack?.pool, [2, 2])
        assertConvertError("convert.invalid_fact") { _ = try HydraConfig.statements(yaml: "conv:\n  filters: [8, 0]\nnetwork: {}\n", name: "c.yaml", path: "c.yaml") }
    }
}
