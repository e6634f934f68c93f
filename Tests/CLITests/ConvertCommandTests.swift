import Foundation
import XCTest
import ModelFormat

final class ConvertCommandTests: XCTestCase {
    func testHelpListsSubcommandsAndExitCodes() throws {
        let r = try CLI.run("l2hmc-convert", ["--help"])
        XCTAssertEqual(r.status, 0)
        for needle in ["inspect", "init-random", "Exit codes", "docs/FORMAT.md"] {
            XCTAssertTrue(r.stdout.contains(needle), "--help lacks \(needle):\n\(r.stdout)")
        }
    }

    func testInspectShippedFixture() throws {
        let r = try CLI.run("l2hmc-convert", ["inspect", "fixtures/default.l2z"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("format      l2z 1.0"), r.stdout)
        XCTAssertTrue(r.stdout.contains("2D U(1) Wilson action, 8 x 8 lattice"), r.stdout)
        XCTAssertTrue(r.stdout.contains("all SHA-256 checksums verified; 0 warning(s)"), r.stdout)
        // One table row per array, each with its verified checksum prefix.
        let model = try L2ZReader.read(path: CLI.repositoryRoot.appendingPathComponent("fixtures/default.l2z").path).model
        for (name, array) in model.arrays {
            let digest = SHA256Digest.hex(array.bytes).prefix(12)
            XCTAssertTrue(r.stdout.split(separator: "\n").contains { $0.hasPrefix(name + " ") && $0.contains("ok \(digest)") }, "row for \(name)")
        }
    }

    func testInspectJSONIsStrictJSONDescribingEveryArray() throws {
        let r = try CLI.run("l2hmc-convert", ["inspect", "--json", "fixtures/gmm2-random.l2z"])
        XCTAssertEqual(r.status, 0, r.stderr)
        guard case let .object(report) = try StrictJSONParser.parse(Array(r.stdout.utf8)) else { return XCTFail("not an object") }
        guard case let .array(arrays)? = report["arrays"] else { return XCTFail("no arrays") }
        let model = try L2ZReader.read(path: CLI.repositoryRoot.appendingPathComponent("fixtures/gmm2-random.l2z").path).model
        XCTAssertEqual(arrays.count, model.arrays.count)
        XCTAssertEqual(report["format_version"], .string("1.0"))
        XCTAssertEqual(try ManifestCodec.decode(report["manifest"]!), model.manifest())
    }

    func testInspectRejectsCorruptFileWithItsCode() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var bytes = try Array(Data(contentsOf: CLI.repositoryRoot.appendingPathComponent("fixtures/default.l2z")))
        bytes[bytes.count / 2] ^= 0xFF  // inside some array's data; CRC no longer matches
        let path = dir.appendingPathComponent("corrupt.l2z").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let r = try CLI.run("l2hmc-convert", ["inspect", path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("error: [container.crc_mismatch] member "), r.stderr)
        XCTAssertEqual(r.stdout, "", "nothing is printed for a corrupt model")

        let missing = try CLI.run("l2hmc-convert", ["inspect", dir.appendingPathComponent("nope.l2z").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.hasPrefix("error: [io.not_found]"), missing.stderr)
    }

    func testInitRandomIsDeterministicAtomicAndRefusesOverwrite() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.l2z").path, b = dir.appendingPathComponent("b.l2z").path
        let args = ["init-random", "--lattice", "2x4", "--nlf", "3", "--units", "4", "--layout", "per_step", "--seed", "9"]
        XCTAssertEqual(try CLI.run("l2hmc-convert", args + ["--out", a]).status, 0)
        XCTAssertEqual(try CLI.run("l2hmc-convert", args + ["--out", b]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)))

        let before = try Data(contentsOf: URL(fileURLWithPath: a))
        let again = try CLI.run("l2hmc-convert", ["init-random", "--seed", "10", "--out", a])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("[io.output_exists]"), again.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), before, "the existing file is untouched")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["a.l2z", "b.l2z"], "no temporary file is left")

        let bad = try CLI.run("l2hmc-convert", ["init-random", "--nlf", "0", "--out", dir.appendingPathComponent("c.l2z").path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--nlf must be >= 1"), bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("c.l2z").path))
    }

    func testUnzipAcceptsOurFiles() throws {
        let unzip = Process()
        unzip.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        unzip.arguments = ["unzip", "-tq", CLI.repositoryRoot.appendingPathComponent("fixtures/default.l2z").path]
        let pipe = Pipe()
        unzip.standardOutput = pipe
        try unzip.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        unzip.waitUntilExit()
        XCTAssertEqual(unzip.terminationStatus, 0, out)
        XCTAssertTrue(out.contains("No errors detected"), out)
    }
}
