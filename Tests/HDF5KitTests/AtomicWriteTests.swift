import Foundation
import XCTest
@testable import HDF5Kit

/// HDF5Atomic.write: readers see the old file or the complete new one, never a temp file.
final class AtomicWriteTests: XCTestCase {
    var scratch: ScratchDirectory!

    override func setUpWithError() throws { scratch = try ScratchDirectory() }
    override func tearDown() { scratch.cleanUp() }

    struct BodyFailure: Error, Equatable {}

    private func writeOriginal(_ path: String) throws -> Data {
        try HDF5Atomic.write(to: path, replaceExisting: false) { file in
            try file.writeDataset("/w", shape: [3], doubles: [1, 2, 3])
            try file.writeAttribute("/", "version", .string("old"))
        }
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    func testWritesNewFileAndReplaces() throws {
        let path = scratch.file("weights.h5")
        _ = try writeOriginal(path)
        XCTAssertEqual(try scratch.contents(), ["weights.h5"], "no temporary file left")
        XCTAssertEqual(try HDF5File.open(path).readAttribute("/", "version"), .string("old"))

        try HDF5Atomic.write(to: path, replaceExisting: true) { file in
            try file.writeDataset("/w", shape: [2], doubles: [9, 8])
            try file.writeAttribute("/", "version", .string("new"))
        }
        XCTAssertEqual(try scratch.contents(), ["weights.h5"])
        let file = try HDF5File.open(path)
        XCTAssertEqual(try file.readAttribute("/", "version"), .string("new"))
        XCTAssertEqual(try file.readDataset("/w").doubles, [9, 8])
    }

    func testFailureInBodyLeavesOldFileUntouched() throws {
        let path = scratch.file("weights.h5")
        let original = try writeOriginal(path)
        var sawTemporary = false
        XCTAssertThrowsError(try HDF5Atomic.write(to: path, replaceExisting: true) { file in
            try file.writeDataset("/w", shape: [2], doubles: [9, 8])
            let entries = try self.scratch.contents()
            sawTemporary = entries.contains { $0.hasPrefix(".weights.h5.tmp-\(getpid())-") }
            throw BodyFailure()
        }) { error in
            XCTAssertEqual(error as? BodyFailure, BodyFailure(), "the body's error is rethrown unchanged")
        }
        XCTAssertTrue(sawTemporary, "the body wrote into <dir>/.<name>.tmp-<pid>-<rand>")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), original, "old file byte-identical")
        XCTAssertEqual(try scratch.contents(), ["weights.h5"], "temporary file removed")

        // An HDF5Error inside the body behaves the same.
        assertHDF5Error("hdf5.shape_mismatch", try HDF5Atomic.write(to: path, replaceExisting: true) { file in
            try file.writeDataset("/w", shape: [2], doubles: [1])
        })
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), original)
        XCTAssertEqual(try scratch.contents(), ["weights.h5"])
    }

    func testRefusesToReplaceUnlessAsked() throws {
        let path = scratch.file("weights.h5")
        let original = try writeOriginal(path)
        var bodyRan = false
        assertHDF5Error("hdf5.write_failed", try HDF5Atomic.write(to: path, replaceExisting: false) { _ in bodyRan = true })
        XCTAssertFalse(bodyRan, "an existing file is detected before any work")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), original)

        // A file appearing while the body runs is not overwritten either (link fails with EEXIST).
        let racing = scratch.file("racing.h5")
        assertHDF5Error("hdf5.write_failed", try HDF5Atomic.write(to: racing, replaceExisting: false) { file in
            try file.writeDataset("/x", shape: [], doubles: [1])
            try Data("someone else".utf8).write(to: URL(fileURLWithPath: racing))
        })
        XCTAssertEqual(try String(contentsOfFile: racing, encoding: .utf8), "someone else")
        XCTAssertEqual(try scratch.contents(), ["racing.h5", "weights.h5"])
    }

    func testClosingInsideBodyIsHarmless() throws {
        let path = scratch.file("closed-early.h5")
        try HDF5Atomic.write(to: path, replaceExisting: false) { file in
            try file.writeDataset("/x", shape: [], doubles: [4])
            try file.close()
        }
        XCTAssertEqual(try HDF5File.open(path).readDataset("/x").doubles, [4])
        XCTAssertEqual(try scratch.contents(), ["closed-early.h5"])
    }
}
