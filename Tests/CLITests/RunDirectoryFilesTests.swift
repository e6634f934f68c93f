import Foundation
import XCTest

/// What a run directory holds, byte for byte where it matters to a reader: Q_int without -0.0.
final class RunDirectoryFilesTests: XCTestCase {
    /// The float64 values of a `.npy` file (header length from its bytes 8-9, version 1 format).
    static func float64s(_ path: String) throws -> [Double] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(bytes[0..<6]), Array("\u{93}NUMPY".unicodeScalars.map { UInt8($0.value) }))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.contains("'descr': '<f8'"), header)
        let body = Array(bytes[(10 + headerLength)...])
        return stride(from: 0, to: body.count - 7, by: 8).map { i in
            Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(body[i + $1]) << (8 * UInt64($1)) })
        }
    }

    /// The settings of fixtures/run-v1, whose l2hmc-run 0.1 q_int.npy holds three -0.0 among its
    /// ten zero charges: the same run now writes every zero charge as +0.0, also in the rows a
    /// version-1 directory's continuation rewrites.
    func testZeroChargesAreWrittenAsPositiveZero() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fresh = dir.appendingPathComponent("fresh").path, old = dir.appendingPathComponent("old").path
        let r = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--lattice", "4x4", "--chains", "2", "--trajectories", "10", "--seed", "5",
                                          "--eps", "0.2", "--nlf", "5", "-q", "--out", fresh])
        XCTAssertEqual(r.status, 0, r.stderr)
        try FileManager.default.copyItem(atPath: CLI.repositoryRoot.appendingPathComponent("fixtures/run-v1").path, toPath: old)
        let before = try Self.float64s("\(old)/q_int.npy")
        XCTAssertTrue(before.contains { $0 == 0 && $0.sign == .minus }, "the fixture holds -0.0 (the case this test is about)")
        let resumed = try CLI.run("l2hmc-run", ["--resume", old, "--trajectories", "12", "-q"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        for path in [fresh, old] {
            let q = try Self.float64s("\(path)/q_int.npy")
            XCTAssertGreaterThanOrEqual(q.count, 20)
            XCTAssertTrue(q.contains(0), "\(path): the run has Q = 0 (the case this test is about)")
            XCTAssertFalse(q.contains { $0 == 0 && $0.sign == .minus }, "\(path): q_int.npy holds -0.0: \(q)")
            XCTAssertTrue(q.allSatisfy { $0 == $0.rounded() }, "integers")
        }
    }

    /// params.json stores the model's absolute path, so --resume works from any directory; a
    /// directory written before (the path as typed, relative) still resumes from the directory
    /// the run was started in, and from elsewhere fails with run.model_missing naming the path,
    /// leaving the directory as it was.
    func testResumeFromAnotherWorkingDirectory() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = dir.appendingPathComponent("run").path
        let model = CLI.repositoryRoot.appendingPathComponent("fixtures/default.l2z").standardizedFileURL.path
        let first = try CLI.run("l2hmc-run", ["--model", "fixtures/default.l2z", "--chains", "4", "--trajectories", "3", "-q", "--out", run])
        XCTAssertEqual(first.status, 0, first.stderr)
        func params() throws -> [String: Any] {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(run)/params.json"))) as? [String: Any])
        }
        XCTAssertEqual(try params()["model"] as? String, model, "the absolute path, not the one typed")
        let elsewhere = try CLI.run("l2hmc-run", ["--resume", run, "--trajectories", "5", "-q"], cwd: dir)
        XCTAssertEqual(elsewhere.status, 0, elsewhere.stderr)

        // A directory as l2hmc-run wrote it before: the relative path as typed.
        let text = try String(contentsOfFile: "\(run)/params.json", encoding: .utf8)
        XCTAssertTrue(text.contains("\"\(model)\""))
        try text.replacingOccurrences(of: "\"\(model)\"", with: "\"fixtures/default.l2z\"").write(toFile: "\(run)/params.json", atomically: true, encoding: .utf8)
        let before = try FileManager.default.contentsOfDirectory(atPath: run).sorted()
        let state = try Data(contentsOf: URL(fileURLWithPath: "\(run)/state.json"))
        let refused = try CLI.run("l2hmc-run", ["--resume", run, "--trajectories", "7", "-q"], cwd: dir)
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.hasPrefix("error: [run.model_missing] model \"fixtures/default.l2z\""), refused.stderr)
        XCTAssertTrue(refused.stderr.contains(dir.path) && refused.stderr.contains("directory the run was started in"), refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, "one line")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run).sorted(), before)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(run)/state.json")), state, "nothing changed")
        XCTAssertEqual(try params()["model"] as? String, "fixtures/default.l2z")

        let original = try CLI.run("l2hmc-run", ["--resume", run, "--trajectories", "7", "-q"])  // from the repository root
        XCTAssertEqual(original.status, 0, original.stderr)
        XCTAssertEqual(try params()["model"] as? String, model, "stored absolute once found")
        let state7 = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(run)/state.json"))) as? [String: Any])
        XCTAssertEqual(state7["trajectory_index"] as? Int, 7)
    }
}
