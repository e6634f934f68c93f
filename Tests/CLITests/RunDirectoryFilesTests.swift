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

    /// README.txt's blocks: file name -> [key: value].
    static func readme(_ dir: String) throws -> [String: [String: String]] {
        let text = try String(contentsOfFile: "\(dir)/README.txt", encoding: .utf8)
        var blocks: [String: [String: String]] = [:]
        let all = text.components(separatedBy: "\n\n")
        XCTAssertEqual(all.prefix { !$0.hasPrefix("file: ") }.count, 2, "a title and a preamble, then only file blocks")
        for block in all.drop(while: { !$0.hasPrefix("file: ") }) {
            var fields: [String: String] = [:]
            var keys: [String] = []
            for line in block.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 1).map(String.init)
                XCTAssertEqual(parts.count, 2, "a key: value line: \(line)")
                keys.append(parts[0])
                fields[parts[0]] = parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
            }
            XCTAssertEqual(keys, ["file", "shape", "dtype", "units", "meaning"], block)
            XCTAssertTrue(fields.values.allSatisfy { !$0.isEmpty }, block)
            let file = try XCTUnwrap(fields["file"])
            XCTAssertNil(blocks[file], "\(file) described twice")
            blocks[file] = fields
        }
        return blocks
    }

    /// The shape in a .npy header, e.g. "(10, 4)" -> [10, 4], and its descr.
    static func npyHeader(_ path: String) throws -> (shape: [Int], descr: String) {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)).prefix(4096))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        let shapeText = try XCTUnwrap(header.components(separatedBy: "'shape': (").last?.components(separatedBy: ")").first)
        let descr = try XCTUnwrap(header.components(separatedBy: "'descr': '").last?.components(separatedBy: "'").first)
        return (shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }, descr)
    }

    /// Every file of a fresh run directory (and its `l2hmc-run report`) is described in its
    /// README.txt and every file the README describes is there; each .npy's shape and dtype are the README's (its symbols T, C,
    /// n, D replaced by the run's numbers), for a U(1) L2HMC run and a mixture HMC run.
    func testReadmeDescribesEveryFileOfTheDirectory() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let runs: [(name: String, args: [String], n: Int, symbols: [String: Int])] = [
            ("u1", ["--chains", "3", "--trajectories", "4", "--schedule", "l2hmc:1,hmc:1", "--hmc-eps", "0.1", "--save-configs", "2"], 128, [:]),
            ("gmm", ["--sampler", "hmc", "--target", "gmm", "--mixture-means=-2,0,1;2,0,1", "--chains", "5", "--trajectories", "6"], 3, ["D": 3]),
        ]
        let dtypes = ["float64": "<f8", "uint8": "|u1", "int32": "<i4", "bool (numpy |b1, one byte)": "|b1"]
        for run in runs {
            let out = dir.appendingPathComponent(run.name).path
            let r = try CLI.run("l2hmc-run", run.args + ["-q", "--out", out])
            XCTAssertEqual(r.status, 0, r.stderr)
            // The one file another command adds to a run directory.
            let report = try CLI.run("l2hmc-run", ["report", out])
            XCTAssertEqual(report.status, 0, report.stderr)
            let blocks = try Self.readme(out)
            let present = Set(try FileManager.default.contentsOfDirectory(atPath: out).map { name -> String in
                name.hasPrefix("states-") ? "states-NNNNNNNNNN.npy" : name
            })
            XCTAssertEqual(Set(blocks.keys), present, "\(run.name): described vs present")
            XCTAssertTrue(present.isSuperset(of: ["README.txt", "params.json", "state.json", "summary.json", "final_states.npy", "sampler.npy", "observables.csv"]))
            let chains = Int(run.args[run.args.firstIndex(of: "--chains")! + 1])!, trajectories = Int(run.args[run.args.firstIndex(of: "--trajectories")! + 1])!
            let symbols = run.symbols.merging(["T": trajectories, "C": chains, "n": run.n]) { a, _ in a }
            XCTAssertEqual(blocks["ensemble.h5"] != nil, run.name == "u1", "the ensemble of U(1) runs with --save-configs")
            for (file, fields) in blocks where file.hasSuffix(".npy") {
                let path = file.hasPrefix("states-") ? "\(out)/states-\(String(format: "%010d", trajectories)).npy" : "\(out)/\(file)"
                let header = try Self.npyHeader(path)
                let shapeText = try XCTUnwrap(fields["shape"])
                let expected = shapeText.dropFirst().dropLast().split(separator: ",").map { part -> Int in
                    let token = part.trimmingCharacters(in: .whitespaces)
                    return symbols[token] ?? Int(token) ?? -1
                }
                XCTAssertEqual(header.shape, expected, "\(run.name) \(file): README shape \(shapeText)")
                XCTAssertEqual(dtypes[fields["dtype"] ?? ""], header.descr, "\(run.name) \(file): README dtype \(fields["dtype"] ?? "")")
            }
        }
        let u1 = try Self.readme(dir.appendingPathComponent("u1").path)
        XCTAssertTrue(u1["sampler.npy"]?["meaning"]?.contains("0 = L2HMC") == true && u1["sampler.npy"]?["meaning"]?.contains("1 = HMC") == true)
        XCTAssertTrue(u1["plaquette.npy"]?["meaning"]?.contains("mean over the V = Lt Lx plaquettes of cos(phi_P)") == true)
        XCTAssertTrue(u1["q_int.npy"]?["meaning"]?.contains("round(sum_P wrap(phi_P) / 2 pi)") == true)
        XCTAssertTrue(u1["q_sin.npy"]?["meaning"]?.contains("sum_P sin(phi_P) / 2 pi") == true)
    }

    /// A directory without README.txt (written before it existed) gets it from --resume, in
    /// place and for a version-1 directory; an existing README.txt is never replaced.
    func testResumeWritesAMissingReadmeAndKeepsAnExistingOne() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let v1 = dir.appendingPathComponent("v1").path, v2 = dir.appendingPathComponent("v2").path, whole = dir.appendingPathComponent("whole").path
        try FileManager.default.copyItem(atPath: CLI.repositoryRoot.appendingPathComponent("fixtures/run-v1").path, toPath: v1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(v1)/README.txt"))
        let settings = ["--sampler", "hmc", "--lattice", "4x4", "--chains", "2", "--seed", "5", "--eps", "0.2", "--nlf", "5", "-q"]
        XCTAssertEqual(try CLI.run("l2hmc-run", ["--resume", v1, "--trajectories", "12", "-q"]).status, 0)
        XCTAssertEqual(try CLI.run("l2hmc-run", settings + ["--trajectories", "12", "--out", whole]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(v1)/README.txt")), try Data(contentsOf: URL(fileURLWithPath: "\(whole)/README.txt")))

        XCTAssertEqual(try CLI.run("l2hmc-run", settings + ["--trajectories", "4", "--out", v2]).status, 0)
        try FileManager.default.removeItem(atPath: "\(v2)/README.txt")
        let r = try CLI.run("l2hmc-run", ["--resume", v2, "--trajectories", "8", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(v2)/README.txt")), try Data(contentsOf: URL(fileURLWithPath: "\(whole)/README.txt")))
        try Data("my notes on this run\n".utf8).write(to: URL(fileURLWithPath: "\(v2)/README.txt"))
        XCTAssertEqual(try CLI.run("l2hmc-run", ["--resume", v2, "--trajectories", "10", "-q"]).status, 0)
        XCTAssertEqual(try String(contentsOfFile: "\(v2)/README.txt", encoding: .utf8), "my notes on this run\n", "never replaced")
        XCTAssertEqual(try Self.float64s("\(v2)/q_int.npy").count, 20, "the resume ran")
    }
}
