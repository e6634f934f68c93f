import Converter
import Foundation
import HDF5Kit
import ModelFormat
import XCTest

/// Corrupt, unsupported and inconsistent inputs: each gives its error code, and nothing is
/// written (the conversion fails before the writer is reached; the output directory stays empty).
final class BadInputTests: XCTestCase {
    static let tf2021Facts: [(FactKey, String)] = [(.lattice, "2x2"), (.beta, "1.0"), (.eps, "0.1"), (.xUpdate, "ncp"), (.activation, "relu")]

    /// Converts and writes as the CLI does; asserts `code` and that `scratch` holds only `keep`.
    @discardableResult
    private func assertRefused(_ code: String, _ path: String, _ opts: ConversionOptions, in scratch: Scratch, keep: [String],
                               file: StaticString = #filePath, line: UInt = #line) -> Error? {
        let out = scratch.file("out.l2z")
        let e = assertConvertError(code, file: file, line: line) {
            let r = try Converter.convert(path: path, options: opts)
            try Converter.write(r, to: out, force: false)
        }
        XCTAssertEqual(scratch.contents(), keep.sorted(), "nothing written", file: file, line: line)
        return e
    }

    /// A random model in the 2021 layout (2x2 lattice, one step, split networks, no batch norm).
    private func randomKerasFile(_ path: String, edit: (inout [(String, [(String, [Int], [Double])])]) -> Void = { _ in }) throws {
        let spec = SamplerSpec(target: .u1(U1Lattice(lt: 2, lx: 2, beta: 1)), dynamics: Dynamics(nLF: 1, xUpdate: .ncp, translationSign: .minus),
                               network: NetworkSpec(layout: .perStep, xNetworksPerStep: 2, xNetInput: .cosSinInterleaved, vNetInput: .raw,
                                                    maskPlacement: .afterTrig, timeInput: true, hiddenUnits: [4], scaleHead: .tanh, transformationHead: .tanh))
        var layers = kerasLayers2021(try RandomModel.make(sampler: spec, seed: 3))
        edit(&layers)
        try writeKerasH5(path, layers: layers)
    }

    private func edit(_ layers: inout [(String, [(String, [Int], [Double])])], _ weight: String, _ change: (inout (String, [Int], [Double])) -> Void) {
        for i in layers.indices { for j in layers[i].1.indices where layers[i].1[j].0 == weight { change(&layers[i].1[j]) } }
    }

    func testTruncatedFile() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixtures.keras("tf2021_tfkeras_weights.h5")))
        let path = scratch.file("truncated.h5")
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        assertRefused("hdf5.corrupt", path, try options(preset: "tf2-functional-2021", Self.tf2021Facts), in: scratch, keep: ["truncated.h5"])
    }

    func testNotHDF5AndNotKeras() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let text = scratch.file("notes.h5")
        try Data("these are not weights\n".utf8).write(to: URL(fileURLWithPath: text))
        assertRefused("hdf5.not_hdf5", text, ConversionOptions(), in: scratch, keep: ["notes.h5"])
        let empty = scratch.file("empty.h5")
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        assertRefused("hdf5.not_hdf5", empty, ConversionOptions(), in: scratch, keep: ["empty.h5", "notes.h5"])
        assertRefused("io.not_found", scratch.file("absent.h5"), ConversionOptions(), in: scratch, keep: ["empty.h5", "notes.h5"])
        // An .l2z model is a zip too, and is told apart.
        let l2z = scratch.file("model.l2z")
        try FileManager.default.copyItem(atPath: Fixtures.root.appendingPathComponent("fixtures/default.l2z").path, toPath: l2z)
        let e = assertRefused("convert.unsupported_source", l2z, ConversionOptions(), in: scratch, keep: ["empty.h5", "model.l2z", "notes.h5"])
        XCTAssertTrue("\(e!)".contains(".l2z model already"), "\(e!)")
    }

    func testKerasArchiveWithPathTraversalOrWithoutWeightsIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let weights = Fixtures.keras("tf2021_keras3.weights.h5")
        try makeZip(scratch.file("evil.keras"), [("metadata.json", "-"), ("../escape.h5", "@" + weights), ("model.weights.h5", "@" + weights)])
        let e = assertRefused("convert.unsafe_archive", scratch.file("evil.keras"), ConversionOptions(), in: scratch, keep: ["evil.keras"])
        XCTAssertTrue("\(e!)".contains("path traversal"), "\(e!)")
        try makeZip(scratch.file("abs.keras"), [("/etc/model.weights.h5", "@" + weights)])
        assertRefused("convert.unsafe_archive", scratch.file("abs.keras"), ConversionOptions(), in: scratch, keep: ["abs.keras", "evil.keras"])
        try makeZip(scratch.file("plain.zip"), [("readme.txt", "hello")])
        assertRefused("convert.unsupported_source", scratch.file("plain.zip"), ConversionOptions(), in: scratch, keep: ["abs.keras", "evil.keras", "plain.zip"])
        // A .keras whose model.weights.h5 is not HDF5: the error names the member, not a temporary file.
        try makeZip(scratch.file("broken.keras"), [("model.weights.h5", "not hdf5")])
        let b = assertRefused("hdf5.not_hdf5", scratch.file("broken.keras"), ConversionOptions(), in: scratch, keep: ["abs.keras", "broken.keras", "evil.keras", "plain.zip"])
        XCTAssertTrue("\(b!)".contains("broken.keras:model.weights.h5"), "\(b!)")
    }

    func testNaNWeightIsRefusedNamingTheDataset() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let path = scratch.file("nan.h5")
        try randomKerasFile(path) { self.edit(&$0, "xnet_first0_v_layer/bias") { $0.2[2] = .nan } }
        let e = assertRefused("convert.non_finite", path, try options(preset: "tf2-functional-2021", Self.tf2021Facts), in: scratch, keep: ["nan.h5"])
        XCTAssertTrue("\(e!)".contains("/xnet_first0/xnet_first0_v_layer/bias:0"), "\(e!)")
    }

    func testWrongDTypeIsRefused() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let path = scratch.file("ints.h5")
        try randomKerasFile(path)
        let fixed = scratch.file("ints2.h5")
        // A copy with one kernel rewritten as int32.
        try copyHDF5(path, to: fixed, replacing: [:], reshaping: [:], extra: { _ in }, int32: ["/vnet0/vnet0_t_layer/kernel:0"])
        let e = assertRefused("convert.wrong_dtype", fixed, try options(preset: "tf2-functional-2021", Self.tf2021Facts), in: scratch, keep: ["ints.h5", "ints2.h5"])
        XCTAssertTrue("\(e!)".contains("int32"), "\(e!)")
    }

    func testShapesThatDisagreeWithTheFacts() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let fixture = Fixtures.keras("tf2021_tfkeras_weights.h5")
        // A 2x4 lattice has 16 links; the file's heads have 8 outputs.
        let e = assertRefused("convert.shape_mismatch", fixture,
                              try options(preset: "tf2-functional-2021", [(.lattice, "2x4"), (.beta, "1"), (.eps, "0.1"), (.xUpdate, "ncp"), (.activation, "relu")]), in: scratch, keep: [])
        XCTAssertTrue("\(e!)".contains("lattice"), "the message says which fact gave the shape: \(e!)")
        // Raw x input would need 8 rows, the file's x-networks have 16 (interleaved cos/sin).
        let raw = assertRefused("convert.shape_mismatch", fixture,
                                try options(preset: "tf2-functional-2021", Self.tf2021Facts + [(.xNetInput, "raw")]) , in: scratch, keep: [])
        XCTAssertTrue("\(raw!)".contains("x_net_input raw"), "\(raw!)")
        // Hidden widths checked against the kernels.
        assertRefused("convert.conflicting_fact", fixture, try options(preset: "tf2-functional-2021", Self.tf2021Facts + [(.hiddenUnits, "8,16")]), in: scratch, keep: [])
        // A network with other hidden widths than the rest.
        let path = scratch.file("uneven.h5")
        try randomKerasFile(path) { self.edit(&$0, "vnet0_x_layer/kernel") { $0.1 = [8, 3]; $0.2 = Array($0.2.prefix(24)) } }
        assertRefused("convert.shape_mismatch", path, try options(preset: "tf2-functional-2021", Self.tf2021Facts), in: scratch, keep: ["uneven.h5"])
    }

    func testUnmappedDatasetsAreAnErrorUnlessAllowed() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let path = scratch.file("extra.h5")
        try randomKerasFile(path) { $0.append(("readout", [("readout_dense/kernel", [8, 2], [Double](repeating: 0.5, count: 16))])) }
        let opts = try options(preset: "tf2-functional-2021", Self.tf2021Facts)
        let e = assertRefused("convert.unmapped_datasets", path, opts, in: scratch, keep: ["extra.h5"])
        XCTAssertTrue("\(e!)".contains("/readout/readout_dense/kernel:0"), "\(e!)")
        XCTAssertTrue("\(e!)".contains("--allow-unused"), "\(e!)")
        var allowed = opts
        allowed.allowUnused = true
        let r = try Converter.convert(path: path, options: allowed)
        XCTAssertTrue(r.report.warnings.contains { $0.contains("/readout/readout_dense/kernel:0") })
        XCTAssertTrue(r.report.rows.contains { $0.target == "UNMAPPED" && $0.source == "/readout/readout_dense/kernel:0" })
    }

    func testMissingArrayIsNamed() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let path = scratch.file("missing.h5")
        try randomKerasFile(path) { layers in
            for i in layers.indices { layers[i].1.removeAll { $0.0 == "xnet_second0_transl_layer/bias" } }
        }
        let e = assertRefused("convert.missing_array", path, try options(preset: "tf2-functional-2021", Self.tf2021Facts), in: scratch, keep: ["missing.h5"])
        XCTAssertTrue("\(e!)".contains("xnet_second.0.translation.bias"), "\(e!)")
        XCTAssertTrue("\(e!)".contains("xnet_second0_transl_layer/bias"), "\(e!)")
    }

    func testMissingAndConflictingFactsAreUsageErrors() throws {
        let fixture = Fixtures.keras("tf2021_tfkeras_weights.h5")
        for (facts, missing) in [([(FactKey.beta, "1"), (.eps, "0.1"), (.xUpdate, "ncp"), (.activation, "relu")], "lattice"),
                                 ([(.lattice, "2x2"), (.eps, "0.1"), (.xUpdate, "ncp"), (.activation, "relu")], "beta"),
                                 ([(.lattice, "2x2"), (.beta, "1"), (.xUpdate, "ncp"), (.activation, "relu")], "eps"),
                                 ([(.lattice, "2x2"), (.beta, "1"), (.eps, "0.1"), (.activation, "relu")], "x_update"),
                                 ([(.lattice, "2x2"), (.beta, "1"), (.eps, "0.1"), (.xUpdate, "ncp")], "activation")] {
            let e = assertConvertError("convert.missing_fact") { _ = try Converter.convert(path: fixture, options: try options(preset: "tf2-functional-2021", facts)) }
            XCTAssertTrue("\(e!)".contains("'\(missing)"), "names the fact \(missing): \(e!)")
            XCTAssertTrue((e as? ConvertError)?.isUsageError ?? false)
        }
        // Without a preset every convention is missing; the first one is named with how to give it.
        let bare = assertConvertError("convert.missing_fact") { _ = try Converter.convert(path: fixture, options: try options(Self.tf2021Facts)) }
        XCTAssertTrue("\(bare!)".contains("--link-layout"), "\(bare!)")
        // The file's t_layer contradicts time_input false.
        assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: fixture, options: try options(preset: "tf2-functional-2021", Self.tf2021Facts + [(.timeInput, "false")]))
        }
        // The 2021 preset says per-step split networks; the Sep 2020 file has shared ones.
        assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: Fixtures.keras("sep2020_tfkeras_weights.h5"), options: try options(preset: "tf2-functional-2021", Self.tf2021Facts))
        }
        // Per-step names fix n_lf; a different one is refused.
        assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: fixture, options: try options(preset: "tf2-functional-2021", Self.tf2021Facts + [(.nLF, "3")]))
        }
        // Step sizes: one, or one per step.
        assertConvertError("convert.invalid_fact") {
            _ = try Converter.convert(path: fixture, options: try options(preset: "tf2-functional-2021", Self.tf2021Facts + [(.epsX, "0.1,0.2")]))
        }
        // A linear x update on U(1) with the x-scale on cannot be represented.
        assertConvertError("convert.conflicting_fact") {
            _ = try Converter.convert(path: fixture, options: try options(preset: "tf2-functional-2021", Self.tf2021Facts + [(.xUpdate, "linear"), (.netWeights, "1,1,1,1,1,1")]))
        }
        assertConvertError("convert.unknown_preset") { _ = try Converter.convert(path: fixture, options: try options(preset: "tf3-2030")) }
        assertConvertError("convert.invalid_fact") { _ = try options([(.lattice, "8by8")]) }
        assertConvertError("convert.invalid_fact") { _ = try options([(.masks, "stripes")]) }
    }

    func testAllZeroTrainedBiasWarnsAndStrictRefuses() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let path = scratch.file("zero.h5")
        try randomKerasFile(path) { self.edit(&$0, "vnet0_v_layer/bias") { $0.2 = [Double](repeating: 0, count: $0.2.count) } }
        var opts = try options(preset: "tf2-functional-2021", Self.tf2021Facts)
        let r = try Converter.convert(path: path, options: opts)
        XCTAssertEqual(r.report.warnings.count, 1)
        XCTAssertTrue(r.report.warnings[0].contains("vnet.0.v_layer.bias is exactly all zero"), r.report.warnings[0])
        opts.strict = true
        let e = assertRefused("convert.zero_parameter", path, opts, in: scratch, keep: ["zero.h5"])
        XCTAssertTrue("\(e!)".contains("vnet.0.v_layer.bias"), "\(e!)")
    }

    func testKeras3WithoutLayerNamesNeedsMatchByOrderAndThenEqualsTheNamedConversion() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let named = Fixtures.keras("tf2021_keras3.weights.h5")
        let unnamed = scratch.file("unnamed.weights.h5")
        try copyWithoutNameAttributes(named, to: unnamed)
        let opts = try options(preset: "tf2-functional-2021", Self.tf2021Facts)
        let e = assertRefused("convert.unrecognized_naming", unnamed, opts, in: scratch, keep: ["unnamed.weights.h5"])
        XCTAssertTrue("\(e!)".contains("--match-by-order"), "\(e!)")
        var byOrder = try options(preset: "tf2-functional-2021", Self.tf2021Facts + [(.nLF, "1")])
        byOrder.matchByOrder = true
        let a = try Converter.convert(path: unnamed, options: byOrder)
        let b = try Converter.convert(path: named, options: opts)
        XCTAssertEqual(a.report.naming, "keras3-order")
        XCTAssertEqual(a.model.arrays, b.model.arrays)
        // Order matching needs the structure facts: n_lf is not in a nameless file.
        var noSteps = byOrder
        noSteps.flagFacts.nLF = nil
        let m = assertConvertError("convert.missing_fact") { _ = try Converter.convert(path: unnamed, options: noSteps) }
        XCTAssertTrue("\(m!)".contains("'n_lf'"), "\(m!)")
        // Files that name their layers are not matched by order.
        assertConvertError("convert.option_not_accepted") { _ = try Converter.convert(path: Fixtures.keras("tf2021_tfkeras_weights.h5"), options: byOrder) }
    }

    /// A copy of a Keras 3 weights file without the `name` attributes (what older Keras 3 versions
    /// and hand-made files leave: only auto names, order and shapes).
    private func copyWithoutNameAttributes(_ from: String, to: String) throws {
        let src = try HDF5File.open(from)
        defer { try? src.close() }
        try HDF5Atomic.write(to: to, replaceExisting: true) { f in
            for o in try src.listObjects() {
                if o.kind == .group { try f.createGroup(o.path) } else { try f.writeDataset(o.path, try src.readDataset(o.path)) }
            }
        }
    }
}

/// Builds a zip with Python's standard zipfile module (members "name" -> text, or "@path" for a
/// file's bytes); used only to craft malicious archives.
func makeZip(_ path: String, _ members: [(String, String)]) throws {
    let script = """
    import sys, zipfile
    with zipfile.ZipFile(sys.argv[1], "w") as z:
        for i in range(2, len(sys.argv), 2):
            name, content = sys.argv[i], sys.argv[i + 1]
            data = open(content[1:], "rb").read() if content.startswith("@") else content.encode()
            z.writestr(zipfile.ZipInfo(name), data)
    """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", script, path] + members.flatMap { [$0.0, $0.1] }
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { throw NSError(domain: "python3 zipfile", code: Int(p.terminationStatus)) }
}
