import Foundation
import XCTest

/// `l2hmc-convert inspect` on PyTorch zip checkpoints (fixtures/torch): every tensor and skipped
/// entry as text and JSON, the format found by content, a hostile file refused with one coded
/// line, exit status 1 and nothing on stdout.
final class InspectTorchCLITests: XCTestCase {
    func testListsEveryTensorAndSkippedEntry() throws {
        let r = try CLI.run("l2hmc-convert", ["inspect", "fixtures/torch/checkpoint.tar"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        // The paths, dtypes and shapes the generator wrote (make_torch_fixtures.py).
        for (path, dtype, shape) in [("model_state_dict.fc.weight", "F32", "[3, 4]"), ("model_state_dict.fc.bias", "F32", "[3]")] {
            let fields = lines.first { $0.hasPrefix(path + " ") }?.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            XCTAssertEqual(fields?.prefix(3).map { $0 }, [path, dtype, shape], r.stdout)
        }
        XCTAssertTrue(lines.contains("skipped     optimizer_state_dict.param_groups: list"), r.stdout)
        XCTAssertTrue(lines.contains("scalar      step = 7 (int)"), r.stdout)
        XCTAssertTrue(lines.contains("scalar      note = \"fixture\" (str)"), r.stdout)
        XCTAssertTrue(lines.contains("scalar      xeps.1 = 0.2 (float)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("2 tensors, 4 scalars, 2 skipped entries"), r.stdout)
        XCTAssertEqual(r.stderr, "")
    }

    /// A real torch.save of numpy scalars (make_real_torch_fixtures.py): the decoded scalars with
    /// their values as numpy printed them (repr), the rest skipped, in text and JSON.
    func testListsScalarsWithValues() throws {
        let file = "fixtures/torch/real-numpy-scalars.pt"
        let r = try CLI.run("l2hmc-convert", ["inspect", file])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        for line in ["scalar      f64 = 0.1 (numpy.float64)", "scalar      f32 = 0.001500000013038516 (numpy.float32)",
                     "scalar      i64 = -1099511627783 (numpy.int64)", "scalar      yes = True (numpy.bool)",
                     "scalar      py_str = \"adam\" (str)", "skipped     arange: numpy array (not interpreted)"] {
            XCTAssertTrue(lines.contains(line), "\(line) in \(r.stdout)")
        }
        XCTAssertTrue(r.stdout.contains("0 tensors, 10 scalars, 6 skipped entries"), r.stdout)
        let j = try CLI.run("l2hmc-convert", ["inspect", "--json", file])
        XCTAssertEqual(j.status, 0, j.stderr)
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        let scalars = try XCTUnwrap(o["scalars"] as? [[String: Any]])
        XCTAssertEqual(scalars.count, 10)
        XCTAssertEqual(scalars.first { $0["path"] as? String == "i32" }?["value"] as? Int, -123_456)
        XCTAssertEqual(scalars.first { $0["path"] as? String == "no" }?["value"] as? Bool, false)
        XCTAssertEqual(scalars.first { $0["path"] as? String == "f64" }?["kind"] as? String, "numpy.float64")
    }

    func testJSONReportAndContentDetection() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let renamed = dir.appendingPathComponent("weights.bin")
        try Data(contentsOf: CLI.repositoryRoot.appendingPathComponent("fixtures/torch/state-dict.pt")).write(to: renamed)
        let r = try CLI.run("l2hmc-convert", ["inspect", "--json", renamed.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(o["format"] as? String, "pytorch-zip")
        let tensors = try XCTUnwrap(o["tensors"] as? [[String: Any]])
        XCTAssertEqual(tensors.map { $0["path"] as? String }, ["fc.weight", "fc.bias", "view.t", "shared.a", "shared.b", "double.w", "param.p", "num_batches"])
        XCTAssertEqual(tensors.map { $0["dtype"] as? String }, ["F32", "F32", "F32", "F32", "F32", "F64", "F32", "I64"])
        XCTAssertEqual(tensors[2]["stride"] as? [Int], [1, 3])
        XCTAssertEqual(tensors[2]["storage_offset"] as? Int, 1)
        XCTAssertEqual(tensors[7]["converted"] as? Bool, false)
    }

    func testHostileFilesCodedOneLine() throws {
        for (file, code) in [("hostile-global.pt", "convert.pickle_global"), ("hostile-stride-past.pt", "convert.torch_bounds"),
                             ("hostile-legacy.pt", "convert.torch_legacy_format"), ("hostile-truncated.pt", "convert.archive_failure")] {
            for args in [["inspect", "fixtures/torch/\(file)"], ["inspect", "--json", "fixtures/torch/\(file)"]] {
                let r = try CLI.run("l2hmc-convert", args)
                XCTAssertEqual(r.status, 1, "\(file): \(r.stderr)")
                XCTAssertTrue(r.stderr.hasPrefix("error: [\(code)] "), r.stderr)
                XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, r.stderr)
                XCTAssertEqual(r.stdout, "")
            }
        }
    }
}
