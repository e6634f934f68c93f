import Converter
import Foundation
import HDF5Kit
import Inference
import ModelFormat
import Trainer
import XCTest

/// A model converted from l2hmc-train's ckpt.h5 equals the trainer's own `.l2z` export, array
/// by array (the probes differ by design: the trainer computes its own with its forward pass,
/// the converter with the runtime).
final class CheckpointConversionTests: XCTestCase {
    private func train(_ settings: [(String, String)], in scratch: Scratch) throws -> (ckpt: String, exported: L2ZModel) {
        var config = TrainingConfig()
        for (k, v) in settings { try config.set(k, text: v) }
        let trainer = try L2HMCTrainer(config: config)
        while trainer.step < config.steps { _ = trainer.trainStep() }
        let ckpt = scratch.file("model.ckpt.h5")
        try Checkpoint.write(trainer, to: ckpt)
        let exported = try ModelExporter.export(trainer.model, provenance: Provenance(producer: "test", producerVersion: "0"))
        return (ckpt, exported)
    }

    private func assertSameArrays(_ converted: L2ZModel, _ exported: L2ZModel, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(try converted.sampler, try exported.sampler, file: file, line: line)
        let a = converted.arrays.filter { !$0.key.hasPrefix("probe.") }, b = exported.arrays.filter { !$0.key.hasPrefix("probe.") }
        XCTAssertEqual(Set(a.keys), Set(b.keys), file: file, line: line)
        for name in b.keys.sorted() {
            XCTAssertEqual(a[name], b[name], "\(name) differs (dtype, shape or bytes)", file: file, line: line)
        }
    }

    func testU1CheckpointEqualsTheTrainersExport() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let (ckpt, exported) = try train([("target", "u1"), ("lattice", "2x2"), ("steps", "2"), ("chains", "4"), ("n_lf", "2"),
                                          ("hidden_units", "4"), ("layout", "per_step"), ("x_networks_per_step", "2")], in: scratch)
        let result = try Converter.convert(path: ckpt)
        assertSameArrays(result.model, exported)
        XCTAssertEqual(result.report.sourceKind, .l2hmcCheckpoint)
        XCTAssertNotNil(result.model.probe, "the converter stores a probe")
        XCTAssertNotNil(try ProbeVerifier.verify(model: result.model, target: makeTarget(result.model.sampler.target)))
        // The trainer's probe is reproduced by the runtime on the converted weights too.
        var withTrainerProbe = result.model
        withTrainerProbe.probe = exported.probe
        for (k, v) in exported.arrays where k.hasPrefix("probe.") { withTrainerProbe.arrays[k] = v }
        for k in result.model.arrays.keys where k.hasPrefix("probe.") && exported.arrays[k] == nil { withTrainerProbe.arrays[k] = nil }
        XCTAssertNotNil(try ProbeVerifier.verify(model: withTrainerProbe, target: makeTarget(result.model.sampler.target)))
        // The report accounts for every dataset: parameters mapped, optimizer and chains ignored.
        XCTAssertFalse(result.report.rows.contains { $0.target == "UNMAPPED" })
        XCTAssertTrue(result.report.rows.contains { $0.source == "/params/log_eps_x" && $0.target == "eps_x" })
        XCTAssertTrue(result.report.rows.contains { $0.source == "/chains" && $0.target == "ignored" })
        XCTAssertTrue(result.report.rows.contains { $0.source.hasPrefix("/adam/m/") && $0.target == "ignored" })
        XCTAssertEqual(result.model.provenance.producer, "l2hmc-convert")
        XCTAssertEqual(result.model.provenance.training?["step"], .int(2))
    }

    func testMixtureCheckpointEqualsTheTrainersExportAndWritesAtomically() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let (ckpt, exported) = try train([("target", "gmm"), ("steps", "2"), ("chains", "4"), ("n_lf", "2"), ("hidden_units", "4")], in: scratch)
        let result = try Converter.convert(path: ckpt)
        assertSameArrays(result.model, exported)
        let out = scratch.file("converted.l2z")
        try Converter.write(result, to: out, force: false)
        XCTAssertEqual(try L2ZReader.read(path: out).model, result.model)
        // Never overwritten without force; the old file stays byte for byte.
        let before = try Data(contentsOf: URL(fileURLWithPath: out))
        assertConvertError("io.output_exists") { try Converter.write(result, to: out, force: false) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), before)
        XCTAssertEqual(scratch.contents(), ["converted.l2z", "model.ckpt.h5"], "no temporary file is left")
    }

    func testCheckpointRefusesFactOptions() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let (ckpt, _) = try train([("target", "gmm"), ("steps", "1"), ("chains", "2"), ("n_lf", "1"), ("hidden_units", "3")], in: scratch)
        let e = assertConvertError("convert.option_not_accepted") { _ = try Converter.convert(path: ckpt, options: try options([(.lattice, "2x2")])) }
        XCTAssertTrue((e as? ConvertError)?.isUsageError ?? false)
        assertConvertError("convert.option_not_accepted") { _ = try Converter.convert(path: ckpt, options: try options(preset: "tf2-functional-2021")) }
    }

    func testCheckpointWithAnExtraDatasetIsUnmappedUnlessAllowed() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let (ckpt, exported) = try train([("target", "gmm"), ("steps", "1"), ("chains", "2"), ("n_lf", "1"), ("hidden_units", "3")], in: scratch)
        let edited = scratch.file("edited.ckpt.h5")
        try copyHDF5(ckpt, to: edited) { f in try f.writeDataset("/params/mystery", shape: [3], doubles: [1, 2, 3]) }
        let e = assertConvertError("convert.unmapped_datasets") { _ = try Converter.convert(path: edited) }
        XCTAssertTrue("\(e!)".contains("/params/mystery"), "\(e!)")
        let allowed = try Converter.convert(path: edited, options: try options { $0.allowUnused = true })
        XCTAssertTrue(allowed.report.warnings.contains { $0.contains("/params/mystery") })
        assertSameArraysIgnoringProbe(allowed.model, exported)
    }

    func testCheckpointWithWrongVersionNaNOrWrongShapeIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let (ckpt, _) = try train([("target", "gmm"), ("steps", "1"), ("chains", "2"), ("n_lf", "1"), ("hidden_units", "3")], in: scratch)
        let version = scratch.file("version.ckpt.h5")
        try copyHDF5(ckpt, to: version) { f in try f.writeAttribute("/", "format_version", .string("9.0")) }
        assertConvertError("convert.invalid_checkpoint") { _ = try Converter.convert(path: version) }

        let nan = scratch.file("nan.ckpt.h5")
        try copyHDF5(ckpt, to: nan, replacing: ["/params/vnet.0.v_layer.bias": { v in var w = v; w[1] = .nan; return w }])
        let e = assertConvertError("convert.non_finite") { _ = try Converter.convert(path: nan) }
        XCTAssertTrue("\(e!)".contains("/params/vnet.0.v_layer.bias"), "\(e!)")

        let shape = scratch.file("shape.ckpt.h5")
        try copyHDF5(ckpt, to: shape, reshaping: ["/params/vnet.0.v_layer.bias": [1, 3]])
        assertConvertError("convert.shape_mismatch") { _ = try Converter.convert(path: shape) }
    }

    private func assertSameArraysIgnoringProbe(_ a: L2ZModel, _ b: L2ZModel) {
        XCTAssertEqual(a.arrays.filter { !$0.key.hasPrefix("probe.") }, b.arrays.filter { !$0.key.hasPrefix("probe.") })
    }
}

/// Copies every group, attribute and dataset of an HDF5 file (optionally editing some datasets)
/// to a new file.
func copyHDF5(_ from: String, to: String, replacing: [String: ([Double]) -> [Double]] = [:], reshaping: [String: [Int]] = [:],
                    extra: (HDF5File) throws -> Void = { _ in }, int32: Set<String> = []) throws {
    let src = try HDF5File.open(from)
    defer { try? src.close() }
    try HDF5Atomic.write(to: to, replaceExisting: true) { f in
        for a in try src.attributeNames("/") { try f.writeAttribute("/", a, try src.readAttribute("/", a)) }
        for o in try src.listObjects() {
            if o.kind == .group {
                try f.createGroup(o.path)
                for a in try src.attributeNames(o.path) { try f.writeAttribute(o.path, a, try src.readAttribute(o.path, a)) }
                continue
            }
            let array = try src.readDataset(o.path)
            if let edit = replacing[o.path] {
                try f.writeDataset(o.path, shape: array.shape, doubles: edit(array.doubles))
            } else if int32.contains(o.path) {
                try f.writeDataset(o.path, shape: array.shape, int32s: array.doubles.map { Int32(($0 * 100).rounded()) })
            } else if let shape = reshaping[o.path] {
                try f.writeDataset(o.path, shape: shape, doubles: array.doubles)
            } else {
                try f.writeDataset(o.path, array)
            }
        }
        try extra(f)
    }
}

func copyHDF5(_ from: String, to: String, _ extra: (HDF5File) throws -> Void) throws {
    try copyHDF5(from, to: to, replacing: [:], reshaping: [:], extra: extra)
}
