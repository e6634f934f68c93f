import Foundation
import XCTest

/// Issue 9, end to end: a swish model (its model.h5 states swish in model_config) with a relu
/// fact is refused (usage, 64, nothing written); without it, it converts as swish.
final class ConvertStatedFactsCLITests: XCTestCase {
    func testSwishModelWithReluIsRefusedAndConvertsAsSwish() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("s.l2z").path
        let base = ["fixtures/keras/tf2021_swish_model.h5", out, "--preset", "tf2-functional-2021", "--lattice", "2x2", "--beta", "1", "--eps", "0.1", "--x-update", "ncp"]
        let refused = try CLI.run("l2hmc-convert", base + ["--activation", "relu"])
        XCTAssertEqual(refused.status, 64, refused.stderr)
        XCTAssertEqual(refused.stderr, "error: [convert.conflicting_fact] fact 'activation': the file's model_config states swish (vnet0/activation), but --activation gives relu\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        let ok = try CLI.run("l2hmc-convert", base)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let inspect = try CLI.run("l2hmc-convert", ["inspect", out])
        XCTAssertTrue(inspect.stdout.contains("hidden [8, 8], swish"), inspect.stdout)
        // A weights-only file states nothing: the 2021 preset then needs --activation.
        let missing = try CLI.run("l2hmc-convert", ["fixtures/keras/tf2021_tfkeras_weights.h5", dir.appendingPathComponent("w.l2z").path] + base.dropFirst(2))
        XCTAssertEqual(missing.status, 64, missing.stderr)
        XCTAssertTrue(missing.stderr.hasPrefix("error: [convert.missing_fact] missing fact 'activation'"), missing.stderr)
    }
}
