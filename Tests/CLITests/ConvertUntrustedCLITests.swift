import Foundation
import XCTest

/// Issue 9, end to end: a Keras weights file whose kernel lives in external raw storage used to
/// embed any file of the machine in the converted model; declared-huge datasets cost gigabytes
/// before their shape was checked. Each is now one coded line, exit 1, nothing written, nothing
/// read from outside the file, within a second or so. Files are crafted with h5py from the
/// committed tf-keras fixture (python3 with h5py is required: scripts/setup.sh).
final class ConvertUntrustedCLITests: XCTestCase {
    static let script = #"""
    import shutil, sys, h5py, numpy as np
    src, d = sys.argv[1], sys.argv[2]
    open(d + "/secret.bin", "wb").write(b"TOP-SECRET-" * 100)
    def variant(name, edit):
        shutil.copyfile(src, d + "/" + name)
        with h5py.File(d + "/" + name, "r+", libver=("earliest", "v110")) as f:
            edit(f)
    def external(f):
        del f["vnet0/vnet0_x_layer/bias:0"]
        f.create_dataset("vnet0/vnet0_x_layer/bias:0", shape=(8,), dtype="<f4", external=[(d + "/secret.bin", 0, 32)])
    def huge_bias(f):
        del f["vnet0/vnet0_x_layer/bias:0"]
        f.create_dataset("vnet0/vnet0_x_layer/bias:0", shape=(2**31,), dtype="<f4", chunks=(2**20,))
    def huge_width(f):   # hidden [65536, 65536]: within the format's limits, 2^32 elements per h0 kernel
        for net in ["vnet0", "xnet_first0", "xnet_second0"]:
            for layer, shape in [("_x_layer", None), ("_h0_layer", (2**16, 2**16))]:
                name = net + "/" + net + layer + "/kernel:0"
                shape = shape or (f[name].shape[0], 2**16)
                del f[name]
                f.create_dataset(name, shape=shape, dtype="<f4", chunks=(1, 2**16))
    variant("external.h5", external)
    variant("huge_bias.h5", huge_bias)
    variant("huge_width.h5", huge_width)
    """#

    static let facts = ["--preset", "tf2-functional-2021", "--lattice", "2x2", "--beta", "1", "--eps", "0.1", "--x-update", "ncp", "--activation", "relu"]

    func testExternalStorageAndDeclaredHugeDatasetsAreCodedErrors() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", "-c", Self.script, CLI.repositoryRoot.appendingPathComponent("fixtures/keras/tf2021_tfkeras_weights.h5").path, dir.path]
        try py.run()
        py.waitUntilExit()
        XCTAssertEqual(py.terminationStatus, 0, "python3 with h5py is required (scripts/setup.sh)")
        let out = dir.appendingPathComponent("out.l2z").path

        for (file, code) in [("external.h5", "hdf5.external_storage"), ("huge_bias.h5", "convert.shape_mismatch"), ("huge_width.h5", "convert.too_large")] {
            let source = dir.appendingPathComponent(file).path
            for args in [[source, out] + Self.facts, ["inspect", source]] where !(args[0] == "inspect" && code != "hdf5.external_storage") {
                let start = Date()
                let r = try CLI.run("l2hmc-convert", args)
                let seconds = Date().timeIntervalSince(start)
                XCTAssertEqual(r.status, 1, "\(file) \(args[0]): \(r.stderr)")
                XCTAssertTrue(r.stderr.hasPrefix("error: [\(code)] "), "\(file): \(r.stderr)")
                XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, r.stderr)
                XCTAssertFalse(r.stdout.contains("SECRET") || r.stderr.contains("SECRET"), "nothing outside the file is read")
                XCTAssertLessThan(seconds, 10, "\(file): refused from the declared shapes, without reading")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing is written")
        }
        // The children's peak memory: the declared 8 GiB and 2^31-element datasets were never allocated.
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        XCTAssertLessThan(usage.ru_maxrss, 1 << 20, "largest child peak \(usage.ru_maxrss) KiB; must stay below 1 GiB")
    }
}
