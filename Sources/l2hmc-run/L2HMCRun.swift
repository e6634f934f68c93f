import ArgumentParser
import Foundation
import ModelFormat

/// `l2hmc-run`: until the runtime of issue #3 lands, it loads and verifies a model and prints
/// its description.
@main
struct L2HMCRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "l2hmc-run",
        abstract: "Run a trained L2HMC sampler (the runtime is in progress: this version verifies and describes the model).",
        discussion: "With no --model, uses the small model shipped in fixtures/ (\(DefaultModel.relativePath)).")

    @Option(help: "Path of the .l2z model (default: the model shipped in fixtures/).")
    var model: String?

    func run() throws {
        let path = model ?? DefaultModel.locate()
        guard let path else {
            FileHandle.standardError.write(Data("error: no --model given and \(DefaultModel.relativePath) was not found; run from the repository root or pass --model PATH\n".utf8))
            Foundation.exit(1)
        }
        do {
            let result = try L2ZReader.read(path: path)
            print("model       \(path)")
            print("format      l2z \(result.manifest.formatVersion), producer \(result.model.provenance.producer) \(result.model.provenance.producerVersion)")
            for line in ModelDescription.lines(result.model.sampler) { print(line) }
            let parameters = result.model.arrays.filter { !$0.key.hasPrefix("probe.") }.values.reduce(0) { $0 + $1.elementCount }
            print("parameters  \(parameters) values in \(result.model.arrays.count) arrays, all checksums verified")
            print("status      the sampling runtime is not built yet; this run only verified and described the model")
        } catch {
            let text = (error as? L2ZError)?.description ?? "\(error)"
            FileHandle.standardError.write(Data("error: \(text)\n".utf8))
            Foundation.exit(1)
        }
    }
}

/// Where the default model lives: `fixtures/default.l2z` under the current directory, or under
/// the repository this binary was built from.
enum DefaultModel {
    static let relativePath = "fixtures/default.l2z"

    static func locate() -> String? {
        let fm = FileManager.default
        let cwd = fm.currentDirectoryPath + "/" + relativePath
        if fm.fileExists(atPath: cwd) { return cwd }
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let built = repo.appendingPathComponent(relativePath).path
        return fm.fileExists(atPath: built) ? built : nil
    }
}
