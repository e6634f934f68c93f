import Foundation
import XCTest

/// `l2hmc-convert inspect` on safetensors files: the tensors and metadata of a file written by the
/// real library (fixtures/safetensors), as text and JSON; the type found by content; a malformed
/// file refused with one coded line and nothing on stdout.
final class InspectSafetensorsCLITests: XCTestCase {
    static let small = "fixtures/safetensors/small.safetensors"

    func testListsEveryTensorAndTheMetadata() throws {
        let r = try CLI.run("l2hmc-convert", ["inspect", Self.small])
        XCTAssertEqual(r.status, 0, r.stderr)
        // The names, dtypes and shapes the generator gave the library (make_safetensors_fixtures.py).
        let rows = [("xnet.0.first.input_layer.xlayer.weight", "F64", "[4, 3]"), ("xnet.0.first.input_layer.xlayer.bias", "F32", "[4]"),
                    ("vnet.0.scale.coeff", "F64", "[]"), ("vnet.0.hidden_layers.0.weight", "F16", "[2, 3, 2]"),
                    ("empty", "F32", "[0, 3]"), ("xeps.0", "F16", "[4]")]
        let lines = r.stdout.split(separator: "\n").map(String.init)
        for (name, dtype, shape) in rows {
            let fields = lines.first { $0.hasPrefix(name + " ") }?.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            XCTAssertEqual(fields?.prefix(3).map { $0 }, [name, dtype, shape], r.stdout)
        }
        XCTAssertTrue(r.stdout.contains("metadata    producer = \"make_safetensors_fixtures.py\""), r.stdout)
        XCTAssertTrue(r.stdout.contains("6 tensors, 152 data bytes"), r.stdout)
        XCTAssertEqual(r.stderr, "")
    }

    func testJSONReport() throws {
        let r = try CLI.run("l2hmc-convert", ["inspect", "--json", "fixtures/safetensors/bf16.safetensors"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(o["format"] as? String, "safetensors")
        XCTAssertEqual(o["metadata"] as? [String: String], ["note": "hand-written BF16"])
        let tensors = try XCTUnwrap(o["tensors"] as? [[String: Any]])
        XCTAssertEqual(tensors.map { $0["name"] as? String }, ["bf", "f"])
        XCTAssertEqual(tensors.map { $0["dtype"] as? String }, ["BF16", "F32"])
        XCTAssertEqual(tensors.map { $0["shape"] as? [Int] }, [[2, 3], [2]])
        XCTAssertEqual(tensors.map { $0["data_offsets"] as? [Int] }, [[0, 12], [12, 20]])
    }

    /// Another extension: recognized by its content. A trailing byte: one coded line, exit 1.
    func testContentDetectionAndCodedRefusal() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bytes = try Data(contentsOf: CLI.repositoryRoot.appendingPathComponent(Self.small))
        let renamed = dir.appendingPathComponent("model.bin")
        try bytes.write(to: renamed)
        let ok = try CLI.run("l2hmc-convert", ["inspect", renamed.path])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("format      safetensors"), ok.stdout)

        let bad = dir.appendingPathComponent("bad.bin")
        try (bytes + Data([0])).write(to: bad)
        for args in [["inspect", bad.path], ["inspect", "--json", bad.path]] {
            let r = try CLI.run("l2hmc-convert", args)
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("error: [convert.safetensors_trailing_bytes] \(bad.path) is not a valid safetensors file: 1 byte(s)"), r.stderr)
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1)
            XCTAssertEqual(r.stdout, "")
        }
        let short = dir.appendingPathComponent("seven.safetensors")
        try Data([1, 2, 3, 4, 5, 6, 7]).write(to: short)
        let r = try CLI.run("l2hmc-convert", ["inspect", short.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("error: [convert.safetensors_truncated]"), r.stderr)
    }
}
