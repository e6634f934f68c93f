import Foundation
import XCTest

/// Issue 9 regressions: `l2hmc-convert` on a directory crashed (exit 132, a trap inside a
/// non-throwing read) and on a FIFO blocked forever. Sources are now checked to be regular files
/// before they are opened: each case is one coded line with exit status 1, within seconds.
final class ConvertSourceCheckCLITests: XCTestCase {
    /// Runs l2hmc-convert, killing it after `limit` seconds (a hang fails the test instead of CI).
    static func runBounded(_ arguments: [String], limit: TimeInterval = 20) throws -> (status: Int32, stdout: String, stderr: String, seconds: Double) {
        let process = Process()
        process.executableURL = CLI.productsDirectory.appendingPathComponent("l2hmc-convert")
        process.arguments = arguments
        process.currentDirectoryURL = CLI.repositoryRoot
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let start = Date()
        try process.run()
        let killer = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: killer)
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        killer.cancel()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self), Date().timeIntervalSince(start))
    }

    /// A directory that is no known upstream artifact: refused with a message naming what is
    /// supported. (A SavedModel or checkpoint directory has its own code: ConvertUpstreamArtifactCLITests.)
    func testDirectorySourceIsACodedErrorNamingTheSupportedFiles() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let savedModel = dir.appendingPathComponent("exported")
        try FileManager.default.createDirectory(at: savedModel.appendingPathComponent("assets"), withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: savedModel.appendingPathComponent("README.txt"))
        let out = dir.appendingPathComponent("out.l2z").path

        for args in [[savedModel.path, out], ["inspect", savedModel.path], ["convert", savedModel.path, out, "--dry-run"]] {
            let r = try Self.runBounded(args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: [convert.not_regular_file] \(savedModel.path) is a directory"), r.stderr)
            XCTAssertTrue(r.stderr.contains("SavedModel directories") && r.stderr.contains(".keras") && r.stderr.contains("ckpt.h5"), r.stderr)
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one line: \(r.stderr)")
            XCTAssertEqual(r.stdout, "")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing is written")
    }

    /// A FIFO nobody writes to: refused at once (it used to block forever), for convert and inspect.
    func testFIFOSourceIsRefusedWithoutBlocking() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("ckpt.h5").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for args in [[fifo, dir.appendingPathComponent("out.l2z").path], ["inspect", fifo]] {
            let r = try Self.runBounded(args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: [convert.not_regular_file] \(fifo) is a FIFO (named pipe), not a regular file"), r.stderr)
            XCTAssertLessThan(r.seconds, 10, "refused without waiting for a writer")
        }
        // A character device likewise, and a missing path keeps its io.not_found code.
        let device = try Self.runBounded(["inspect", "/dev/null"])
        XCTAssertEqual(device.status, 1)
        XCTAssertTrue(device.stderr.hasPrefix("error: [convert.not_regular_file] /dev/null is a character device"), device.stderr)
        let missing = try Self.runBounded([dir.appendingPathComponent("nope.h5").path, dir.appendingPathComponent("o.l2z").path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.hasPrefix("error: [io.not_found]"), missing.stderr)
    }

    /// A symbolic link to a regular file is still a regular file.
    func testSymlinkToAModelIsInspected() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let link = dir.appendingPathComponent("link.l2z").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: CLI.repositoryRoot.appendingPathComponent("fixtures/default.l2z").path)
        let r = try Self.runBounded(["inspect", link])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("all SHA-256 checksums verified"), r.stdout)
    }
}
