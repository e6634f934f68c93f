import Foundation
import XCTest

/// `l2hmc-convert init-random` with sizes no reader could load used to abort in allocation; it
/// now refuses them before allocating, with a coded one-line error.
final class InitRandomLimitTests: XCTestCase {
    func testImpossibleSizesAreRefusedBeforeAllocating() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("m.l2z").path
        let cases: [([String], Int32, String)] = [
            (["--lattice", "4096x4096", "--units", "1024"], 64, "[convert.option_not_accepted]"),
            (["--lattice", "128x128", "--units", "4096,4096", "--nlf", "8", "--layout", "per_step"], 64, "more than a .l2z reader accepts"),
            (["--nlf", "100000"], 1, "dynamics.n_lf must be at most 4096"),
            (["--units", "100000000"], 1, "hidden_units"),
            (["--lattice", "5000x2"], 1, "lt and lx"),
        ]
        for (args, status, needle) in cases {
            let r = try CLI.run("l2hmc-convert", ["init-random"] + args + ["--out", out])
            XCTAssertEqual(r.status, status, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): one line: \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: [") && r.stderr.contains(needle), "\(args): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }
}
