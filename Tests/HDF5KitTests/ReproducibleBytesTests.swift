import Foundation
import XCTest
@testable import HDF5Kit

/// The same contents written twice, more than a second apart, give the same bytes: HDF5Kit
/// turns off the object modification times HDF5 stores by default (so identical trainings
/// write identical checkpoints).
final class ReproducibleBytesTests: XCTestCase {
    var scratch: ScratchDirectory!
    override func setUpWithError() throws { scratch = try ScratchDirectory() }
    override func tearDown() { scratch.cleanUp() }

    private func write(_ name: String) throws -> Data {
        let path = scratch.file(name)
        let file = try HDF5File.create(path)
        try file.createGroup("/g")
        try file.writeDataset("/g/x", shape: [2, 3], doubles: [1, 2, 3, 4, 5, 6])
        try file.writeDataset("/n", shape: [3], int64s: [7, 8, 9])
        try file.writeAttribute("/", "note", .string("same"))
        try file.close()
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    func testTheSameContentsGiveTheSameBytesLater() throws {
        let first = try write("a.h5")
        Thread.sleep(forTimeInterval: 1.1)  // HDF5's object times have a resolution of 1 s
        let second = try write("b.h5")
        XCTAssertEqual(first, second)
    }
}
