import Foundation
import XCTest
@testable import HDF5Kit

/// A fresh directory under the system temporary directory, removed by `cleanUp()`.
struct ScratchDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("hdf5kit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path).sorted() }

    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs `python3 -c script arguments...` and returns its stdout. h5py is required: when it is
/// missing the error says so and points at scripts/setup.sh (tests calling this then fail).
func runH5pyScript(_ script: String, arguments: [String]) throws -> String {
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
    let errorText = String(decoding: stderr, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        let hint = errorText.contains("No module named 'h5py'")
            ? "h5py is not installed: run scripts/setup.sh (or python3 -m pip install h5py). "
            : ""
        throw NSError(domain: "python3", code: Int(process.terminationStatus),
                      userInfo: [NSLocalizedDescriptionKey: "python3 failed. \(hint)\(errorText)"])
    }
    return String(decoding: stdout, as: UTF8.self)
}

/// Fails the test (rather than skipping it) when h5py cannot be imported.
func requireH5py(file: StaticString = #filePath, line: UInt = #line) throws {
    do {
        _ = try runH5pyScript("import h5py", arguments: [])
    } catch {
        XCTFail("h5py is required for the HDF5 interop tests and is missing; run scripts/setup.sh. \(error.localizedDescription)",
                file: file, line: line)
        throw error
    }
}

/// Runs `body` with file descriptor 2 redirected to a temporary file and returns what was written.
func capturingStandardError(_ body: () throws -> Void) throws -> String {
    let capture = FileManager.default.temporaryDirectory.appendingPathComponent("stderr-\(UUID().uuidString)").path
    let fd = open(capture, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { throw NSError(domain: "capture", code: Int(errno)) }
    defer { unlink(capture) }
    fflush(stderr)
    let saved = dup(2)
    dup2(fd, 2)
    close(fd)
    defer {
        fflush(stderr)
        dup2(saved, 2)
        close(saved)
    }
    try body()
    fflush(stderr)
    return (try? String(contentsOfFile: capture, encoding: .utf8)) ?? ""
}

/// Asserts that `body` throws an `HDF5Error` with the given code and returns it.
@discardableResult
func assertHDF5Error<T>(_ code: String, _ body: @autoclosure () throws -> T,
                        file: StaticString = #filePath, line: UInt = #line) -> HDF5Error? {
    do {
        _ = try body()
        XCTFail("expected \(code), nothing was thrown", file: file, line: line)
        return nil
    } catch let error as HDF5Error {
        XCTAssertEqual(error.code, code, "\(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected HDF5Error \(code), got \(error)", file: file, line: line)
        return nil
    }
}
