import Foundation
import XCTest
@testable import HDF5Kit

/// Datasets that grow by rows: appends across reopenings, cuts, row reads, refusals, reproducible
/// bytes, and h5py (an independent reader) seeing the same values and an unlimited first axis.
final class ExtendibleDatasetTests: XCTestCase {
    var scratch: ScratchDirectory!
    override func setUpWithError() throws { scratch = try ScratchDirectory() }
    override func tearDown() { scratch.cleanUp() }

    /// Rows 0..<n of a [n, 2, 3] float64 dataset: element (r, i, j) = r * 100 + i * 10 + j + 0.25.
    private func rows(_ range: Range<Int>) -> [Double] {
        range.flatMap { r in (0..<2).flatMap { i in (0..<3).map { j in Double(r * 100 + i * 10 + j) + 0.25 } } }
    }

    /// Creates the file and appends rows 0..<2, 2..<5 (reopened), 5..<7 (reopened).
    private func build(_ path: String) throws {
        let f = try HDF5File.create(path)
        // createGroup: a group made implicitly as a missing parent gets HDF5's default creation
        // list, which stores times (see HDF5File.writeDataset; not reproducible).
        try f.createGroup("g")
        try f.createExtendibleDataset("g/x", dtype: .float64, rowShape: [2, 3], chunkRows: 2)
        try f.createExtendibleDataset("t", dtype: .int64, rowShape: [], chunkRows: 4)
        XCTAssertEqual(try f.rowCount("g/x"), 0)
        XCTAssertEqual(try f.appendRows("g/x", doubles: rows(0..<2)), 2)
        try f.appendRows("t", int64s: [10, 20])
        try f.close()
        for batch in [2..<5, 5..<7] {
            let u = try HDF5File.openForUpdate(path)
            XCTAssertEqual(try u.appendRows("g/x", doubles: rows(batch)), batch.upperBound)
            try u.appendRows("t", int64s: batch.map { Int64(($0 + 1) * 10) })
            try u.close()
        }
    }

    func testAppendsAcrossReopeningsReadBackAndCut() throws {
        let path = scratch.file("grow.h5")
        try build(path)
        let f = try HDF5File.open(path)
        let whole = try f.readDataset("g/x")
        XCTAssertEqual(whole.shape, [7, 2, 3])
        XCTAssertEqual(whole.doubles, rows(0..<7))
        XCTAssertEqual(try f.readDataset("t").int64s, [10, 20, 30, 40, 50, 60, 70])
        XCTAssertEqual(try f.readRows("g/x", 3..<6).doubles, rows(3..<6))
        XCTAssertEqual(try f.readRows("g/x", 3..<6).shape, [3, 2, 3])
        XCTAssertEqual(try f.readRows("g/x", 4..<4).shape, [0, 2, 3])
        assertHDF5Error("hdf5.shape_mismatch", try f.readRows("g/x", 5..<8))
        assertHDF5Error("hdf5.too_large", try f.readRows("g/x", 0..<7, maxElements: 10))
        assertHDF5Error("hdf5.write_failed", try f.appendRows("t", int64s: [1]))  // read-only
        try f.close()

        // Cut to 3 rows, then append 2 new ones: the old rows 3..<7 are gone.
        let u = try HDF5File.openForUpdate(path)
        try u.setRowCount("g/x", 3)
        try u.setRowCount("t", 3)
        assertHDF5Error("hdf5.write_failed", try u.setRowCount("t", 4))  // only shrinking
        let fresh = rows(20..<22)
        XCTAssertEqual(try u.appendRows("g/x", doubles: fresh), 5)
        try u.close()
        let g = try HDF5File.open(path)
        XCTAssertEqual(try g.readDataset("g/x").doubles, rows(0..<3) + fresh)
        XCTAssertEqual(try g.rowCount("t"), 3)
    }

    func testRefusals() throws {
        let path = scratch.file("r.h5")
        let f = try HDF5File.create(path)
        try f.createExtendibleDataset("x", dtype: .float64, rowShape: [4], chunkRows: 8)
        try f.createExtendibleDataset("i", dtype: .int64, rowShape: [], chunkRows: 8)
        try f.writeDataset("fixed", shape: [], doubles: [1])
        assertHDF5Error("hdf5.write_failed", try f.createExtendibleDataset("x", dtype: .float64, rowShape: [4], chunkRows: 8))
        assertHDF5Error("hdf5.write_failed", try f.createExtendibleDataset("y", dtype: .float64, rowShape: [0], chunkRows: 8))
        assertHDF5Error("hdf5.write_failed", try f.createExtendibleDataset("y", dtype: .float64, rowShape: [4], chunkRows: 0))
        assertHDF5Error("hdf5.shape_mismatch", try f.appendRows("x", doubles: [1, 2, 3]))  // not a whole row
        assertHDF5Error("hdf5.write_failed", try f.appendRows("i", doubles: [1]))          // wrong element type
        assertHDF5Error("hdf5.write_failed", try f.appendRows("fixed", doubles: [1]))      // a scalar
        assertHDF5Error("hdf5.not_found", try f.appendRows("nope", doubles: [1]))
        XCTAssertEqual(try f.rowCount("x"), 0, "a refused append leaves the dataset as it was")
        try f.close()
        try Data("text".utf8).write(to: URL(fileURLWithPath: scratch.file("t.h5")))
        assertHDF5Error("hdf5.not_hdf5", try HDF5File.openForUpdate(scratch.file("t.h5")))
        assertHDF5Error("hdf5.open_failed", try HDF5File.openForUpdate(scratch.file("missing.h5")))
    }

    /// The same appends give the same bytes (no modification times).
    func testSameAppendsGiveTheSameBytes() throws {
        try build(scratch.file("a.h5"))
        Thread.sleep(forTimeInterval: 1.1)
        try build(scratch.file("b.h5"))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: scratch.file("a.h5"))), try Data(contentsOf: URL(fileURLWithPath: scratch.file("b.h5"))))
    }

    func testH5pyReadsTheGrownDataset() throws {
        try requireH5py()
        let path = scratch.file("grow.h5")
        try build(path)
        let out = try runH5pyScript("""
            import sys, h5py, numpy as np
            f = h5py.File(sys.argv[1], "r")
            x = f["g/x"]
            r = np.arange(7)[:, None, None] * 100 + np.arange(2)[None, :, None] * 10 + np.arange(3)[None, None, :] + 0.25
            assert x.dtype == np.float64 and x.shape == (7, 2, 3) and x.maxshape == (None, 2, 3) and x.chunks == (2, 2, 3), (x.shape, x.maxshape, x.chunks)
            assert np.array_equal(x[...], r)
            assert list(f["t"][...]) == [10, 20, 30, 40, 50, 60, 70] and f["t"].dtype == np.int64
            print("ok")
            """, arguments: [path])
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }
}
