import ArgumentParser
import Foundation
import Inference
import ModelFormat

struct SVDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "svd",
        abstract: "Print the singular-value spectrum of every dense layer of a model (seed AI7, Fig. 22).")

    @Argument(help: "The .l2z model (default fixtures/default.l2z).")
    var model: String?
    @Flag(help: "Print the spectra as JSON.")
    var json = false

    func run() throws {
        guard let path = model ?? DefaultModel.locate() else { throw UsageError("no model given and \(DefaultModel.relativePath) was not found") }
        let m = try L2ZReader.read(path: path).model
        let dyn = try L2HMCDynamics(model: m, target: makeTarget(m.sampler.target), capacity: 1)
        let spectra = try dyn.spectra()
        if json {
            let value: JSONValue = .array(spectra.map { s in
                .object(["network": .string(s.network), "layer": .string(s.layer), "shape": .array([.int(Int64(s.rows)), .int(Int64(s.cols))]),
                         "singular_values": .array(s.values.map { .double($0) })])
            })
            Console.out(try CanonicalJSONWriter.encode(value))
            return
        }
        print("model \(path): singular values of every dense kernel; rank for 90/99/99.9 % of sum s_i^2")
        // Names are never cut: the column is as wide as the longest (conv_stack names run past 28).
        let width = max(28, spectra.map { "\($0.network).\($0.layer)".count + 1 }.max() ?? 0)
        for s in spectra {
            let total = s.values.reduce(0) { $0 + $1 * $1 }
            func rank(_ f: Double) -> Int {
                var acc = 0.0
                for (i, v) in s.values.enumerated() { acc += v * v; if acc >= f * total * (1 - 1e-15) { return i + 1 } }
                return s.values.count
            }
            let head = s.values.prefix(8).map { String(format: "%.3g", $0) }.joined(separator: " ")
            let name = "\(s.network).\(s.layer)".padding(toLength: width, withPad: " ", startingAt: 0)
            print(name + String(format: " [%4d x %4d]  ranks %3d/%3d/%3d of %3d   s: ", s.rows, s.cols, rank(0.9), rank(0.99), rank(0.999), s.values.count)
                  + head + (s.values.count > 8 ? " ..." : ""))
        }
    }
}
