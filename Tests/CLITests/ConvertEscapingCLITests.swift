import Foundation
import XCTest

/// Issue 9: names from a source file reach messages and listings escaped, never raw. The files
/// are crafted with h5py (scripts/setup.sh installs it): a tf-keras `save_weights` layout whose
/// `layer_names` lists a layer named with a newline and terminal escapes, and a dataset so named.
final class ConvertEscapingCLITests: XCTestCase {
    static let script = #"""
    import sys, h5py, numpy as np
    evil = "vnet0\n\x1b[2K\x1b[1Aerror: [ok] all good"
    with h5py.File(sys.argv[1], "w") as f:
        f.attrs["layer_names"] = np.array([evil.encode()], dtype="S")
        f.attrs["keras_version"] = "2.21\x1b]0;pwned\x07"
    with h5py.File(sys.argv[2], "w") as f:
        f.attrs["layer_names"] = np.array([b"vnet0"], dtype="S")
        g = f.create_group("vnet0")
        g.attrs["weight_names"] = np.array([b"vnet0_x_layer/kernel:0"], dtype="S")
        g.create_dataset("vnet0_x_layer/kernel:0", data=np.ones((8, 4), dtype="f4"))
        f.create_dataset(evil, data=np.zeros(3, dtype="f4"))
    """#

    func testHostileNamesPrintAsEscapesOnOneLine() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let listed = dir.appendingPathComponent("listed.h5").path, stored = dir.appendingPathComponent("stored.h5").path
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", "-c", Self.script, listed, stored]
        try py.run()
        py.waitUntilExit()
        XCTAssertEqual(py.terminationStatus, 0, "python3 with h5py is required (scripts/setup.sh)")

        let escaped = #"vnet0\n\u{1b}[2K\u{1b}[1Aerror: [ok] all good"#
        let r = try CLI.run("l2hmc-convert", [listed, dir.appendingPathComponent("o.l2z").path, "--preset", "tf2-functional-2021"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("error: [convert.unsupported_source] "), r.stderr)
        XCTAssertTrue(r.stderr.contains(escaped), r.stderr)
        XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "one line: \(r.stderr)")
        XCTAssertFalse(r.stderr.unicodeScalars.contains("\u{1b}"), "no raw escape reaches the terminal")

        // inspect lists the stored dataset with its name escaped, inside its own table row.
        let i = try CLI.run("l2hmc-convert", ["inspect", stored])
        XCTAssertEqual(i.status, 0, i.stderr)
        XCTAssertFalse(i.stdout.unicodeScalars.contains("\u{1b}") || i.stdout.contains("\nerror: [ok]"), i.stdout)
        XCTAssertTrue(i.stdout.split(separator: "\n").contains { $0.hasPrefix("/" + escaped) && $0.contains("UNMAPPED") }, i.stdout)
    }
}
