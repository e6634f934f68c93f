import Converter
import Foundation
import HDF5Kit
import Inference
import ModelFormat
import XCTest

/// Paths of the committed fixtures.
enum Fixtures {
    static var root: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
    static func keras(_ name: String) -> String { root.appendingPathComponent("fixtures/keras/\(name)").path }
    static func torchL2HMC(_ name: String) -> String { root.appendingPathComponent("fixtures/torch-l2hmc/\(name)").path }
}

/// A fresh directory, removed by `cleanUp()`.
struct Scratch {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("converter-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    func contents() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// Reads an `.npz` (numpy's savez: a zip of `.npy` members) with the converter's libzip reader
/// and ModelFormat's `.npy` decoder.
func readNPZ(_ path: String) throws -> [String: NDArray] {
    let zip = try ZipArchive(path: path)
    var out: [String: NDArray] = [:]
    for member in zip.names where member.hasSuffix(".npy") {
        out[String(member.dropLast(4))] = try NpyCodec.decode(try zip.read(member), name: member, limits: ReadLimits())
    }
    return out
}

/// Options with the facts given as (flag key, text) pairs, as the CLI would set them.
func options(preset: String? = nil, _ facts: [(FactKey, String)] = [], configure: (inout ConversionOptions) -> Void = { _ in }) throws -> ConversionOptions {
    var o = ConversionOptions()
    o.preset = preset
    for (k, v) in facts { try o.flagFacts.set(k, text: v, origin: k.flag) }
    configure(&o)
    return o
}

/// Asserts that `body` throws a ConvertError with `code` and returns it.
@discardableResult
func assertConvertError(_ code: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) -> Error? {
    do {
        try body()
        XCTFail("expected \(code), nothing was thrown", file: file, line: line)
        return nil
    } catch {
        let found = (error as? ConvertError)?.code ?? (error as? HDF5Error)?.code ?? (error as? L2ZError)?.code ?? "\(error)"
        XCTAssertEqual(found, code, "\(error)", file: file, line: line)
        return error
    }
}

/// Writes a tf-keras `save_weights`-layout file (root `layer_names`, per-layer `weight_names`
/// with `:0`, data at `<layer>/<weight name>`) from (layer, [(weight name, shape, values)]).
/// float32 unless `float64`.
func writeKerasH5(_ path: String, layers: [(String, [(String, [Int], [Double])])], float64: Bool = false) throws {
    try HDF5Atomic.write(to: path, replaceExisting: true) { f in
        try f.writeAttribute("/", "layer_names", .strings(layers.map(\.0)))
        try f.writeAttribute("/", "backend", .string("tensorflow"))
        try f.writeAttribute("/", "keras_version", .string("2.21.0"))
        for (layer, weights) in layers {
            try f.createGroup("/" + layer)
            try f.writeAttribute("/" + layer, "weight_names", weights.isEmpty ? .doubles([]) : .strings(weights.map { $0.0 + ":0" }))
            for (name, shape, values) in weights {
                let p = "/\(layer)/\(name):0"
                if float64 { try f.writeDataset(p, shape: shape, doubles: values) } else { try f.writeDataset(p, shape: shape, floats: values.map { Float($0) }) }
            }
        }
    }
}

/// The 2021-naming layers of a model's network arrays (one Keras sub-model per network):
/// `vnet.0.hidden1.kernel` -> layer `vnet0`, weight `vnet0_h0_layer/kernel`.
func kerasLayers2021(_ model: L2ZModel) -> [(String, [(String, [Int], [Double])])] {
    var byNet: [String: [(String, [Int], [Double])]] = [:]
    for name in model.arrays.keys.sorted() where !["eps_x", "eps_v", "masks"].contains(name) && !name.hasPrefix("probe.") {
        let p = name.split(separator: ".").map(String.init)
        let net = p[0] + p[1]
        let layer: String
        switch p[2] {
        case "scale": layer = "scale_layer"
        case "translation": layer = "transl_layer"
        case "transformation": layer = "transf_layer"
        case "batch_norm": layer = "batch_norm1"
        case let h where h.hasPrefix("hidden"): layer = "h\(Int(h.dropFirst(6))! - 1)_layer"
        default: layer = p[2]
        }
        let a = model.arrays[name]!
        byNet[net, default: []].append(("\(net)_\(layer)/\(p[3])", a.shape, a.doubles()))
    }
    return byNet.keys.sorted().map { ($0, byNet[$0]!) }
}

/// Evaluates network `net` of `model` row by row on explicit inputs: S, T, Q ([rows * n] each).
func evaluate(_ model: L2ZModel, _ net: String, inX: [Double], inV: [Double], inT: [Double]?, rows: Int) throws -> (s: [Double], t: [Double], q: [Double]) {
    let dyn = try L2HMCDynamics(model: model, target: makeTarget(model.sampler.target), capacity: rows)
    let n = try model.sampler.stateSize, width = inX.count / rows
    var s: [Double] = [], t: [Double] = [], q: [Double] = []
    for r in 0..<rows {
        let o = try dyn.evaluateNetwork(net, xIn: Array(inX[(r * width)..<((r + 1) * width)]), vIn: Array(inV[(r * n)..<((r + 1) * n)]),
                                        tau: inT.map { [$0[2 * r], $0[2 * r + 1]] }, rows: 1)
        s += o.s; t += o.t; q += o.q
    }
    return (s, t, q)
}

/// Runs the model's trained trajectory (no accept/reject) from x0, v0 ([n] each).
func trajectory(_ model: L2ZModel, x0: [Double], v0: [Double], forward: Bool) throws -> (x: [Double], v: [Double], logDet: Double) {
    let dyn = try L2HMCDynamics(model: model, target: makeTarget(model.sampler.target), capacity: 1)
    let x = Buffer(x0), v = Buffer(v0), ld = Buffer(1)
    if forward { dyn.forward(x: x.pointer, v: v.pointer, rows: 1, logDet: ld.pointer) } else { dyn.backward(x: x.pointer, v: v.pointer, rows: 1, logDet: ld.pointer) }
    return (x.array, v.array, ld[0])
}

/// Largest |a - e| / (abs + rel |e|) over the elements (<= 1 passes).
func worstRatio(_ actual: [Double], _ expected: [Double], abs: Double, rel: Double) -> (ratio: Double, index: Int, diff: Double) {
    var worst = (0.0, -1, 0.0)
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let d = Swift.abs(a - e), r = d / (abs + rel * Swift.abs(e))
        if r > worst.0 { worst = (r, i, d) }
    }
    return worst
}

extension SplitMix64 {
    /// Uniform enough in 0..<bound for the fuzzers (bound > 0; modulo bias is irrelevant here).
    mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}
