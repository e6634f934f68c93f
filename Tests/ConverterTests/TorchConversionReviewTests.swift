@testable import Converter
import Foundation
import Inference
@testable import ModelFormat
import Trainer
import XCTest

/// Edge cases of the PyTorch L2HMC conversion and export found in review: files with one alias
/// copy only, aliases of another shape, networks past the stored step sizes, heads without a
/// bias in some networks only, the linear-coefficient fold checked by hand, hydra YAML forms, and
/// the export of every layout l2hmc-train makes (float64) round-tripping bit for bit.
final class TorchConversionReviewTests: XCTestCase {
    typealias Parts = TorchL2HMCFuzzTests.SafetensorsParts

    func head2023Options() throws -> ConversionOptions { try TorchL2HMCFuzzTests.head2023Options() }

    func head2023() throws -> Parts {
        try Parts(Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.torchL2HMC("head2023.safetensors")))))
    }

    func convert(_ parts: Parts, options: ConversionOptions) throws -> ConversionResult {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let file = scratch.file("m.safetensors")
        var parts = parts
        parts.repack()
        try Data(try parts.encoded()).write(to: URL(fileURLWithPath: file))
        return try Converter.convert(path: file, options: options)
    }

    // MARK: Aliases

    /// Before 2022-07-22 upstream saved only the `networks.` copy: the same model.
    func testOnlyTheNetworksCopyGivesTheSameModel() throws {
        let full = try convert(try head2023(), options: try head2023Options())
        var parts = try head2023()
        for name in parts.tensorNames where name.hasPrefix("xnet.") || name.hasPrefix("vnet.") { parts.header[name] = nil }
        XCTAssertTrue(parts.tensorNames.contains { $0.hasPrefix("networks.xnet.") })
        let only = try convert(parts, options: try head2023Options())
        for (name, a) in full.model.arrays where !name.hasPrefix("probe.") { XCTAssertEqual(only.model.arrays[name], a, name) }
        XCTAssertFalse(only.report.rows.contains { $0.note.hasPrefix("alias of") })
    }

    /// A weight present only as the `networks.` alias, with its elements reshaped (same byte
    /// count): refused by shape, never reinterpreted.
    func testAnAliasOnlyCopyOfAnotherShapeIsRefused() throws {
        var parts = try head2023()
        let key = "xnet.0.first.scale.layer.weight"
        parts.header[key] = nil
        var entry = try XCTUnwrap(parts.header["networks." + key] as? [String: Any])
        let shape = try XCTUnwrap(entry["shape"] as? [Int])
        entry["shape"] = [shape[0] / 2, shape[1] * 2]
        parts.header["networks." + key] = entry
        assertConvertError("convert.shape_mismatch") { _ = try convert(parts, options: try head2023Options()) }
        // Both copies present, of different shapes: an alias mismatch.
        var both = try head2023()
        both.header["networks." + key] = entry
        assertConvertError("convert.alias_mismatch") { _ = try convert(both, options: try head2023Options()) }
    }

    /// Networks for a step past the stored step sizes are not dropped silently.
    func testNetworksPastTheStoredStepSizesAreRefused() throws {
        var parts = try head2023()
        for name in parts.tensorNames where name.contains("net.1.") {
            parts.header[name.replacingOccurrences(of: "net.1.", with: "net.2.")] = parts.header[name]
        }
        XCTAssertThrowsError(try convert(parts, options: try head2023Options())) { error in
            XCTAssertTrue(error is ConvertError, "\(error)")
        }
    }

    /// Step sizes: a gap in the indices is a missing array; fewer v than x parameters is a
    /// conflict about n_lf (each list states it); a step-size tensor of another shape, an
    /// integer one, or a value <= 0 is refused; without them the config's n_lf stands.
    func testStepSizeParameterEdgeCases() throws {
        var gap = try head2023()
        gap.header["xeps.0"] = nil
        assertConvertError("convert.missing_array") { _ = try convert(gap, options: try head2023Options()) }
        var fewer = try head2023()
        fewer.header["veps.1"] = nil
        assertConvertError("convert.conflicting_fact") { _ = try convert(fewer, options: try head2023Options()) }
        var vector = try head2023()
        vector.header["veps.1"] = ["dtype": "F16", "shape": [2], "data_offsets": [41636, 41640]]
        assertConvertError("convert.shape_mismatch") { _ = try convert(vector, options: try head2023Options()) }
        var integer = try head2023()
        integer.header["veps.1"] = ["dtype": "I32", "shape": [], "data_offsets": [41636, 41640]]
        assertConvertError("convert.shape_mismatch") { _ = try convert(integer, options: try head2023Options()) }
        var negative = try head2023()
        let at = try XCTUnwrap((negative.header["xeps.1"] as? [String: Any])?["data_offsets"] as? [Int])[0]
        negative.data.replaceSubrange(at..<(at + 4), with: withUnsafeBytes(of: Float(-0.1).bitPattern.littleEndian, Array.init))
        assertConvertError("convert.invalid_fact") { _ = try convert(negative, options: try head2023Options()) }
        var none = try head2023()
        for name in none.tensorNames where name.hasPrefix("xeps.") || name.hasPrefix("veps.") { none.header[name] = nil }
        let error = assertConvertError("convert.missing_fact") { _ = try convert(none, options: try head2023Options()) }
        XCTAssertTrue("\(error.map { "\($0)" } ?? "")".contains("eps"), "\(String(describing: error))")
    }

    /// A head bias is generated as zeros only for the era whose heads have none at all; a file
    /// where one network's head lacks the bias the others have is damaged.
    func testAHeadBiasMissingInOneNetworkOnlyIsRefused() throws {
        var parts = try head2023()
        for name in parts.tensorNames where name.hasSuffix("xnet.1.second.transf.layer.bias") { parts.header[name] = nil }
        let error = assertConvertError("convert.missing_array") { _ = try convert(parts, options: try head2023Options()) }
        XCTAssertTrue("\(error.map { "\($0)" } ?? "")".contains("xnet.1.second.transf.layer.bias"), "\(String(describing: error))")
    }

    // MARK: The linear-coefficient fold, by hand

    /// c * tanh(h K + b) with c = [2, -0.5, 0] for h = [0.3, -0.7]; expected from the formula
    /// directly (not from the fold): the folded head exp(c') * tanh(h K' + b') must equal it.
    func testLinearCoefficientFoldByHand() throws {
        let k: [Double] = [0.5, -1.0, 2.0,
                           0.25, 0.75, -1.5]   // 2 x 3, row-major (in, out)
        let b: [Double] = [0.1, -0.2, 0.3], c: [Double] = [2, -0.5, 0], h: [Double] = [0.3, -0.7]
        // z_j = h0 K0j + h1 K1j + b_j: z = [0.15 - 0.175 + 0.1, -0.3 - 0.525 - 0.2, 0.6 + 1.05 + 0.3] = [0.075, -1.025, 1.95]
        let expected = [2 * tanh(0.075), -0.5 * tanh(-1.025), 0.0]
        var arrays: [String: NDArray] = [
            "xnet.0.scale.coeff": try NDArray(shape: [3], doubles: c),
            "xnet.0.scale.kernel": try NDArray(shape: [2, 3], doubles: k),
            "xnet.0.scale.bias": try NDArray(shape: [3], doubles: b),
        ]
        let notes = try HeadCoefficientFold.apply(&arrays, networks: ["xnet.0"])
        XCTAssertEqual(notes.count, 1)
        let c2 = try XCTUnwrap(arrays["xnet.0.scale.coeff"]).doubles(), k2 = try XCTUnwrap(arrays["xnet.0.scale.kernel"]).doubles()
        let b2 = try XCTUnwrap(arrays["xnet.0.scale.bias"]).doubles()
        XCTAssertEqual(c2, [log(2), log(0.5), 0])
        XCTAssertEqual(k2, [0.5, 1.0, 0, 0.25, -0.75, 0])
        XCTAssertEqual(b2, [0.1, 0.2, 0])
        for j in 0..<3 {
            let z = h[0] * k2[j] + h[1] * k2[3 + j] + b2[j]
            // exp(log|c|) = |c| to 1 ulp; tanh of the same z: 1e-15 relative.
            XCTAssertEqual(exp(c2[j]) * tanh(z), expected[j], accuracy: 1e-15, "column \(j)")
        }
    }

    // MARK: Hydra YAML

    func testHydraIntegerBetaMissingGroupsAndWrongTypes() throws {
        let base = try String(contentsOfFile: Fixtures.torchL2HMC("head2023-config.yaml"), encoding: .utf8)
        // beta_final as an int, as hydra writes `beta_final: 6`.
        let intBeta = try HydraConfig.statements(yaml: base.replacingOccurrences(of: "beta_final: 2.0", with: "beta_final: 6"), name: "c", path: "c")
        XCTAssertEqual(intBeta.facts.beta?.value, 6)
        // Only the network group: read what is there, nothing else.
        let network = try HydraConfig.statements(yaml: "network:\n  units: [8, 8]\n  activation_fn: tanh\n", name: "c", path: "c")
        XCTAssertEqual(network.facts.hiddenUnits?.value, [8, 8])
        XCTAssertNil(network.facts.nLF)
        XCTAssertNil(network.facts.lattice)
        // A key the reader uses, present with a value of the wrong type, is refused rather than
        // skipped (skipping would let a preset's value stand for what the file says).
        for (from, to) in [("nleapfrog: 2", "nleapfrog: 2.5"), ("nleapfrog: 2", "nleapfrog: two"), ("use_ncp: true", "use_ncp: 1"),
                           ("  - 8\n  - 8\n  dropout", "  - 8\n  - 8.5\n  dropout"), ("  - 4\n  - 4\n", "  - 4\n  - 4\n  - 4\n"),
                           ("beta_final: 2.0", "beta_final: high"), ("activation_fn: leaky_relu", "activation_fn: [leaky_relu]")] {
            let yaml = base.replacingOccurrences(of: from, with: to)
            XCTAssertNotEqual(yaml, base, from)
            assertConvertError("convert.invalid_fact") { _ = try HydraConfig.statements(yaml: yaml, name: "c", path: "c") }
        }
    }

    /// A nesting bomb (deeper than any config) is refused with a code, not a stack overflow.
    func testDeeplyNestedYAMLIsRefused() throws {
        for bomb in ["a: " + String(repeating: "[", count: 100_000), String(repeating: "- ", count: 50_000) + "x",
                     "a: " + String(repeating: "{b: ", count: 100_000)] {
            XCTAssertThrowsError(try HydraConfig.statements(yaml: bomb, name: "c", path: "c")) { error in
                XCTAssertTrue(error is ConvertError, "\(error)")
            }
        }
    }

    /// Keys that are not scalars (Yams.load force-unwrapped them and crashed) and repeated keys
    /// are refused with a code.
    func testComplexAndRepeatedYAMLKeysAreRefused() throws {
        for yaml in ["[a]: 1\n", "network:\n  ? [units]\n  : 8\n", "? {a: 1}\n: b\n", "dynamics:\n  nleapfrog: 2\n  nleapfrog: 3\n",
                     "network: !!set {a, b}\n", "network: !!omap [a: 1]\n"] {
            do {
                _ = try HydraConfig.statements(yaml: yaml, name: "c", path: "c")
            } catch let e as ConvertError {
                XCTAssertFalse(e.message.contains("\n"), yaml)
            } catch {
                XCTFail("\(yaml.debugDescription): \(error)")
            }
        }
        assertConvertError("convert.invalid_fact") { _ = try HydraConfig.statements(yaml: "dynamics:\n  nleapfrog: 2\n  nleapfrog: 3\n", name: "c", path: "c") }
    }

    /// Upstream's BatchNorm1d has eps 1e-5 and no way to change it: a model with another
    /// batch-norm epsilon (the head-2022 Keras era used 1e-3) would load strictly into PyTorch
    /// and compute other numbers, so it is refused; 1e-5 exports.
    func testBatchNormEpsilonOtherThanTorchsIsNotExported() throws {
        var model = try convert(try head2023(), options: try head2023Options()).model
        XCTAssertNoThrow(try TorchExport.encode(model, sourceSHA256: nil))
        try model.updateSampler { $0.network.batchNorm = BatchNormSpec(epsilon: 1e-3) }
        let error = assertConvertError("convert.export_unsupported") { _ = try TorchExport.encode(model, sourceSHA256: nil) }
        XCTAssertTrue("\(error.map { "\($0)" } ?? "")".contains("network.batch_norm.epsilon"), "\(String(describing: error))")
    }

    /// `&` and `*` inside plain or quoted scalars are text, not anchors or aliases (they were
    /// refused before); anchors and aliases where a node starts still are.
    func testAmpersandsAndAsterisksInScalarsAreNotAnchors() throws {
        let base = try String(contentsOfFile: Fixtures.torchL2HMC("head2023-config.yaml"), encoding: .utf8)
        for extra in ["note: rock & roll\n", "expr: 2 * 3\n", "tags: [a&b, c*d]\n", "title: \"x & *y\"\n", "q: don't * me\n"] {
            let s = try HydraConfig.statements(yaml: base + "\n" + extra, name: "c", path: "c")
            XCTAssertEqual(s.facts.nLF?.value, 2, extra)
        }
        for bad in ["a: &x 1\nb: *x\n", "- &x 1\n", "a: [*x]\n", "a: {b: *x}\n", "*x: 1\n", "a:\n  - b\n  - *x\n", "a: [1, &y 2]\n"] {
            assertConvertError("convert.unsupported_source") { _ = try HydraConfig.statements(yaml: bad, name: "c", path: "c") }
        }
    }

    // MARK: Export of every layout l2hmc-train makes (float64)

    /// l2hmc-train models made exportable (no time input, leaky_relu): the export converts back
    /// with no option to the same float64 arrays bit for bit (raw step sizes e come back as
    /// parameters p with p / (1 + p) = e), in the per-step split, per-step one-x-network and
    /// shared layouts.
    func testTrainedFloat64ModelsOfEveryLayoutRoundTripThroughTheExport() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        for (layout, perStep) in [("per_step", "2"), ("per_step", "1"), ("shared", "1")] {
            var config = TrainingConfig()
            for (k, v) in [("target", "u1"), ("lattice", "2x4"), ("steps", "3"), ("chains", "4"), ("n_lf", "3"), ("hidden_units", "4,3"),
                           ("activation", "leaky_relu"), ("time_input", "false"), ("layout", layout), ("x_networks_per_step", perStep)] {
                try config.set(k, text: v)
            }
            let trainer = try L2HMCTrainer(config: config)
            while trainer.step < config.steps { _ = trainer.trainStep() }
            let model = try ModelExporter.export(trainer.model, provenance: Provenance(producer: "test", producerVersion: "0"))
            let label = "\(layout) x\(perStep)"
            let file = scratch.file("\(layout)-\(perStep).safetensors")
            try AtomicFile.write(try TorchExport.encode(model, sourceSHA256: nil), to: file, replaceExisting: true)
            let export = try SafetensorsFile(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: file))), path: file)
            let names = Set(export.tensors.map(\.name))
            // Upstream's keys for the layout (NetworkFactory.build_networks).
            switch (layout, perStep) {
            case ("per_step", "2"): XCTAssertTrue(names.contains("networks.xnet.2.second.hidden_layers.0.weight"), label)
            case ("per_step", "1"):
                XCTAssertTrue(names.contains("xnet.2.hidden_layers.0.weight"), label)
                XCTAssertFalse(names.contains { $0.contains(".first.") }, label)
            default:
                XCTAssertTrue(names.contains("xnet.hidden_layers.0.weight") && names.contains("networks.vnet.transl.bias"), label)
                XCTAssertFalse(names.contains { $0.hasPrefix("xnet.0") }, label)
            }
            XCTAssertTrue(export.tensors.filter { $0.name.contains("net") }.allSatisfy { $0.dtype.rawValue == "F64" || $0.name.hasSuffix("num_batches_tracked") }, label)
            let back = try Converter.convert(path: file, options: ConversionOptions()).model
            XCTAssertEqual(try back.sampler.network, try model.sampler.network, label)
            XCTAssertEqual(try back.sampler.target, try model.sampler.target, label)
            for (name, a) in model.arrays where !name.hasPrefix("probe.") && !name.hasPrefix("eps_") {
                XCTAssertEqual(back.arrays[name], a, "\(label): \(name)")
            }
            for name in ["eps_x", "eps_v"] {
                let p = back.arrays[name]?.doubles() ?? [], e = model.arrays[name]?.doubles() ?? []
                XCTAssertEqual(p.count, 3, label)
                // p = e / (1 - e) then p / (1 + p): a few ulp of e.
                for (pk, ek) in zip(p, e) { XCTAssertEqual(pk / (1 + pk), ek, accuracy: 1e-15, "\(label) \(name)") }
            }
        }
    }

    /// A model with plain tanh heads (no coefficient) and net weights other than 1: the export
    /// writes zero coefficients of shape (1, n) (exp(0) = 1) and every fact in the metadata; the
    /// file converts back with no option to the same facts (the heads become tanh_exp_coeff with
    /// zero coefficients, by design) and the same network outputs, exactly (a factor exp(0) = 1
    /// changes no bit), and the same trajectory (net weights included).
    func testTanhHeadsAndNetWeightsRoundTripThroughTheExport() throws {
        var config = TrainingConfig()
        for (k, v) in [("target", "u1"), ("lattice", "4x2"), ("steps", "2"), ("chains", "4"), ("n_lf", "2"), ("hidden_units", "5,4"),
                       ("activation", "tanh"), ("time_input", "false"), ("layout", "per_step"), ("x_networks_per_step", "1"), ("beta_final", "3.5")] {
            try config.set(k, text: v)
        }
        let trainer = try L2HMCTrainer(config: config)
        while trainer.step < config.steps { _ = trainer.trainStep() }
        var model = try ModelExporter.export(trainer.model, provenance: Provenance(producer: "test", producerVersion: "0"))
        try model.updateSampler { $0.network.scaleHead = .tanh; $0.network.transformationHead = .tanh }
        for name in model.arrays.keys where name.hasSuffix(".coeff") { model.arrays[name] = nil }
        try model.updateSampler { $0.netWeights = NetWeights(xScale: 0.5, xTranslation: 1, xTransformation: 0.25, vScale: 1, vTranslation: 0.75, vTransformation: 2) }
        let n = try model.sampler.stateSize

        let bytes = try TorchExport.encode(model, sourceSHA256: nil)
        let export = try SafetensorsFile(bytes: bytes, path: "e")
        for t in export.tensors where t.name.hasSuffix(".coeff") {
            XCTAssertEqual(t.shape, [1, n], t.name)
            XCTAssertTrue(try export.values(t).values.allSatisfy { $0 == 0 }, t.name)
        }
        XCTAssertEqual(export.tensors.filter { $0.name.hasSuffix(".coeff") }.count, 2 * 2 * 2 * 2, "2 heads x 2 networks x 2 steps x 2 aliases")
        // Every fact is in the metadata and reads back.
        var statements = FileStatements()
        try ExportMetadata.state(export.metadata, into: &statements)
        let facts = try statements.apply(to: Facts())
        XCTAssertEqual(facts.netWeights?.value, try model.sampler.netWeights)
        XCTAssertEqual(facts.beta?.value, 3.5)
        XCTAssertEqual(facts.lattice?.value, [4, 2])
        XCTAssertEqual(facts.nLF?.value, 2)
        XCTAssertEqual(facts.hiddenUnits?.value, [5, 4])
        XCTAssertEqual(facts.timeInput?.value, false)
        XCTAssertEqual(facts.activation?.value.rawValue, "tanh")

        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let file = scratch.file("e.safetensors")
        try AtomicFile.write(bytes, to: file)
        let back = try Converter.convert(path: file, options: ConversionOptions()).model
        XCTAssertEqual(try back.sampler.netWeights, try model.sampler.netWeights)
        XCTAssertEqual(try back.sampler.target, try model.sampler.target)
        XCTAssertEqual(try back.sampler.dynamics.nLF, 2)
        XCTAssertEqual(try back.sampler.network.scaleHead, .tanhExpCoeff)
        var rng = SplitMix64(seed: 12)
        for net in SamplerRules.networkNames(try model.sampler) {
            let width = net.hasPrefix("x") ? 2 * n : n, rows = 3
            let inX = (0..<(rows * width)).map { _ in 2 * rng.uniform() - 1 }, inV = (0..<(rows * n)).map { _ in rng.normal() }
            let a = try evaluate(model, net, inX: inX, inV: inV, inT: nil, rows: rows), b = try evaluate(back, net, inX: inX, inV: inV, inT: nil, rows: rows)
            XCTAssertEqual(a.s, b.s, net); XCTAssertEqual(a.t, b.t, net); XCTAssertEqual(a.q, b.q, net)
        }
        let x0 = (0..<n).map { _ in 2 * .pi * rng.uniform() - .pi }, v0 = (0..<n).map { _ in rng.normal() }
        let f = try trajectory(model, x0: x0, v0: v0, forward: true), g = try trajectory(back, x0: x0, v0: v0, forward: true)
        // Step sizes come back as p with p / (1 + p) = e to 1 ulp; two steps amplify that
        // a few times at most.
        for i in 0..<n { XCTAssertEqual(f.x[i], g.x[i], accuracy: 1e-13); XCTAssertEqual(f.v[i], g.v[i], accuracy: 1e-13) }
        XCTAssertEqual(f.logDet, g.logDet, accuracy: 1e-13)
    }
}
