import Foundation
import XCTest
@testable import ModelFormat

/// numpy (an independent reader) must open every file this library writes, with pickles
/// disabled, and return the same values. scripts/setup.sh installs numpy when it is missing.
final class NumpyInteropTests: XCTestCase {
    /// Loads `path` with numpy and zipfile and prints, as JSON: zip test result, member order and
    /// compression, every array (descr, shape, C-contiguity, SHA-256 of the bytes, values) and the
    /// manifest parsed by Python's json module.
    static let script = #"""
    import hashlib, json, sys, zipfile
    import numpy as np
    path = sys.argv[1]
    zf = zipfile.ZipFile(path)
    report = {"testzip": zf.testzip(), "members": [[i.filename, i.compress_type] for i in zf.infolist()]}
    with np.load(path, allow_pickle=False) as z:
        arrays = {}
        for key in z.files:
            value = z[key]
            if isinstance(value, np.ndarray):
                arrays[key] = {"descr": value.dtype.str, "shape": list(value.shape),
                               "c_contiguous": bool(value.flags.c_contiguous),
                               "sha256": hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest(),
                               "values": [float(v) if value.dtype.kind == "f" else int(v) for v in value.ravel()]}
            else:
                report[key] = value.decode("utf-8")
        report["arrays"] = arrays
    report["manifest"] = json.loads(report.pop("manifest.json"))
    print(json.dumps(report, allow_nan=False))
    """#

    func testNumpyOpensWhatWeWrite() throws {
        var model = try TestModels.withProbe(TestModels.u1(layout: .perStep, xNets: 2, batchNorm: true))
        var ext = try RoundTripTests.extensionArrays()
        // JSON cannot carry +-0 distinctly through float(); keep values JSON-representable.
        ext["ext.f64_scalar"] = try NDArray(shape: [], doubles: [0.1])
        ext["ext.f64_cube"] = try NDArray(shape: [2, 3, 4], doubles: (0..<24).map { Double($0) / 7 })
        for (k, v) in ext { model.arrays[k] = v }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("interop-\(UUID().uuidString).l2z").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try L2ZWriter.write(model, to: path)

        let output = try runPython(Self.script, arguments: [path])
        guard case let .object(report) = try StrictJSONParser.parse(Array(output.utf8)) else { return XCTFail("report is not an object") }
        XCTAssertEqual(report["testzip"], .null, "zipfile.testzip found a bad member")
        XCTAssertEqual(report["l2z.magic"], .string("l2hmc-l2z-model\n"))
        guard case let .array(members)? = report["members"] else { return XCTFail("no members") }
        XCTAssertEqual(members.first, .array([.string("l2z.magic"), .int(0)]))
        XCTAssertTrue(members.allSatisfy { if case let .array(m) = $0 { return m[1] == .int(0) } else { return false } }, "every member stored")

        // The manifest numpy users see is the one we wrote.
        let manifest = try ManifestCodec.decode(report["manifest"]!)
        XCTAssertEqual(manifest, model.manifest())

        guard case let .object(arrays)? = report["arrays"] else { return XCTFail("no arrays") }
        XCTAssertEqual(Set(arrays.keys), Set(model.arrays.keys), "numpy sees exactly our arrays")
        for (name, array) in model.arrays {
            guard case let .object(seen)? = arrays[name] else { XCTFail("numpy did not load \(name)"); continue }
            XCTAssertEqual(seen["descr"], .string(array.dtype.npyDescr), name)
            XCTAssertEqual(seen["shape"], .array(array.shape.map { .int(Int64($0)) }), name)
            XCTAssertEqual(seen["c_contiguous"], .bool(true), name)
            XCTAssertEqual(seen["sha256"], .string(SHA256Digest.hex(array.bytes)), "\(name): numpy's bytes differ from ours")
            guard case let .array(values)? = seen["values"] else { XCTFail(name); continue }
            let expected = array.doubles()
            XCTAssertEqual(values.count, expected.count, name)
            for (v, e) in zip(values, expected) {
                switch (v, array.dtype) {
                case (.int, .int64): break  // compared exactly below; doubles() rounds int64
                case let (.int(i), _): XCTAssertEqual(Double(i), e, name)
                case let (.double(d), _): XCTAssertEqual(d, e, name)
                default: XCTFail("\(name): unexpected value \(v)")
                }
            }
        }
        // int64 extremes compared exactly (doubles() rounds them).
        let expectedInt64: JSONValue = .array([.int(Int64.min), .int(0), .int(Int64.max)])
        guard case let .object(i64)? = arrays["ext.i64"] else { return XCTFail("ext.i64 missing") }
        XCTAssertEqual(i64["values"], expectedInt64)
    }
}

/// Runs `python3 -c script args...` and returns stdout; fails with stderr on a non-zero exit.
func runPython(_ script: String, arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw NSError(domain: "python3", code: Int(process.terminationStatus),
                      userInfo: [NSLocalizedDescriptionKey: "python3 failed (numpy installed? run scripts/setup.sh): " + String(decoding: stderr, as: UTF8.self)])
    }
    return String(decoding: stdout, as: UTF8.self)
}
