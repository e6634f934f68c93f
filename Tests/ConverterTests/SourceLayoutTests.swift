import Converter
import Foundation
import HDF5Kit
import ModelFormat
import XCTest

/// Details of the Keras HDF5 layouts that the committed fixtures are too small to show.
final class SourceLayoutTests: XCTestCase {
    private let facts: [(FactKey, String)] = [(.lattice, "2x2"), (.beta, "1"), (.eps, "0.1"), (.xUpdate, "ncp"), (.activation, "relu")]

    private func model(layout: NetworkLayout) throws -> L2ZModel {
        let spec = SamplerSpec(target: .u1(U1Lattice(lt: 2, lx: 2, beta: 1)), dynamics: Dynamics(nLF: 2, xUpdate: .ncp, translationSign: .minus),
                               network: NetworkSpec(layout: layout, xNetworksPerStep: 2, xNetInput: .cosSinInterleaved, vNetInput: .raw,
                                                    maskPlacement: .afterTrig, timeInput: true, hiddenUnits: [4, 3], scaleHead: .tanh, transformationHead: .tanh))
        return try RandomModel.make(sampler: spec, seed: 21)
    }

    /// Keras splits name lists longer than HDF5's 64 KiB header limit into `layer_names0`,
    /// `layer_names1`, ... (and the same for `weight_names`).
    func testChunkedNameAttributes() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let m = try model(layout: .perStep)
        let layers = kerasLayers2021(m)
        let path = scratch.file("chunked.h5")
        try HDF5Atomic.write(to: path, replaceExisting: true) { f in
            let names = layers.map(\.0)
            try f.writeAttribute("/", "layer_names0", .strings(Array(names.prefix(2))))
            try f.writeAttribute("/", "layer_names1", .strings(Array(names.dropFirst(2))))
            for (layer, weights) in layers {
                try f.createGroup("/" + layer)
                let w = weights.map { $0.0 + ":0" }
                try f.writeAttribute("/" + layer, "weight_names0", .strings(Array(w.prefix(3))))
                try f.writeAttribute("/" + layer, "weight_names1", .strings(Array(w.dropFirst(3))))
                for (name, shape, values) in weights { try f.writeDataset("/\(layer)/\(name):0", shape: shape, doubles: values) }
            }
        }
        let r = try Converter.convert(path: path, options: try options(preset: "tf2-functional-2021", facts))
        for (name, a) in m.arrays where !["eps_x", "eps_v", "masks"].contains(name) { XCTAssertEqual(r.model.arrays[name], a, name) }
    }

    /// Shared networks carry no step index: n_lf must be given, and every step uses network 0.
    func testSharedNetworksWithoutStepIndexNeedNLF() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let m = try model(layout: .shared)
        let layers = kerasLayers2021(m).map { (l, ws) in
            (String(l.dropLast()), ws.map { (n, s, v) in (n.replacingOccurrences(of: l + "_", with: String(l.dropLast()) + "_"), s, v) })
        }
        XCTAssertEqual(layers.map(\.0).sorted(), ["vnet", "xnet_first", "xnet_second"])
        let path = scratch.file("shared.h5")
        try writeKerasH5(path, layers: layers, float64: true)
        var f = facts
        f.append((.layout, "shared"))
        let e = assertConvertError("convert.missing_fact") { _ = try Converter.convert(path: path, options: try options(preset: "tf2-functional-2021", f)) }
        XCTAssertTrue("\(e!)".contains("'n_lf'"), "\(e!)")
        f.append((.nLF, "2"))
        let r = try Converter.convert(path: path, options: try options(preset: "tf2-functional-2021", f))
        XCTAssertEqual(try r.model.sampler.network.layout, .shared)
        XCTAssertEqual(try r.model.sampler.dynamics.nLF, 2)
        for (name, a) in m.arrays where !["eps_x", "eps_v", "masks"].contains(name) { XCTAssertEqual(r.model.arrays[name], a, name) }
        // The preset says per_step; the file says shared: refused unless the fact is overridden.
        assertConvertError("convert.conflicting_fact") { _ = try Converter.convert(path: path, options: try options(preset: "tf2-functional-2021", self.facts + [(.nLF, "2")])) }
    }

    /// `model.save` files: optimizer state is ignored (and reported), a dataset no weight list
    /// mentions is unmapped.
    func testOptimizerStateIsIgnoredAndUnreferencedDatasetsAreUnmapped() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let m = try model(layout: .perStep)
        let path = scratch.file("m.h5")
        try HDF5Atomic.write(to: path, replaceExisting: true) { f in
            let layers = kerasLayers2021(m)
            try f.createGroup("/model_weights")
            try f.writeAttribute("/model_weights", "layer_names", .strings(layers.map(\.0)))
            for (layer, weights) in layers {
                try f.createGroup("/model_weights/" + layer)
                try f.writeAttribute("/model_weights/" + layer, "weight_names", .strings(weights.map { $0.0 }))   // Keras 3: no ":0"
                for (name, shape, values) in weights { try f.writeDataset("/model_weights/\(layer)/\(name)", shape: shape, floats: values.map { Float($0) }) }
            }
            try f.writeDataset("/optimizer_weights/Adam/iterations:0", shape: [], int64s: [10])
            try f.writeDataset("/optimizer_weights/Adam/vnet0_x_layer/kernel/m:0", shape: [8, 4], doubles: [Double](repeating: 0.1, count: 32))
        }
        let r = try Converter.convert(path: path, options: try options(preset: "tf2-functional-2021", facts))
        XCTAssertEqual(r.report.sourceKind, .kerasModelH5)
        XCTAssertEqual(r.report.rows.filter { $0.target == "ignored" }.count, 2)
        XCTAssertEqual(r.model.arrays["vnet.1.hidden1.kernel"]?.dtype, .float32)

        let stray = scratch.file("stray.h5")
        try copyHDF5(path, to: stray) { f in try f.writeDataset("/model_weights/vnet0/leftover:0", shape: [2], doubles: [1, 2]) }
        let e = assertConvertError("convert.unmapped_datasets") { _ = try Converter.convert(path: stray, options: try options(preset: "tf2-functional-2021", self.facts)) }
        XCTAssertTrue("\(e!)".contains("/model_weights/vnet0/leftover:0"), "\(e!)")
    }

    func testInspectListsMappingWithoutFacts() throws {
        let lines = try SourceInspection.lines(path: Fixtures.keras("tf2021_tfkeras_weights.h5"))
        let text = lines.joined(separator: "\n")
        XCTAssertTrue(text.contains("naming      tf2021"), text)
        XCTAssertTrue(text.contains("networks    per_step, 2 x-network(s) per step, 1 step(s), hidden [8, 8]"), text)
        XCTAssertTrue(text.contains("/vnet0/vnet0_batch_norm1/moving_variance:0"), text)
        XCTAssertTrue(text.contains("54 datasets, 0 unmapped"), text)
    }
}
