import Foundation
import XCTest
@testable import HDF5Kit

/// Issue 9: an HDF5 file could make a reader read any file on the machine (external raw storage,
/// external links, virtual datasets) or decode data through code nobody vouched for (filters).
/// ``HDF5File/open(_:)`` refuses each before any data is read. Files are made with h5py; the
/// outside file holds a secret that must never appear in a value or a message.
final class UntrustedFileTests: XCTestCase {
    var scratch: ScratchDirectory { Self.shared! }
    static let secret = "TOP-SECRET-0123456789abcdef"
    /// The crafted files, made once for all tests of the class (python3 takes about a second).
    static var shared: ScratchDirectory?

    override class func tearDown() { shared?.cleanUp(); shared = nil }

    override func setUpWithError() throws {
        if Self.shared != nil { return }
        try requireH5py()
        let scratch = try ScratchDirectory()
        Self.shared = scratch
        try Data(Self.secret.utf8).write(to: URL(fileURLWithPath: scratch.file("secret.bin")))
        _ = try runH5pyScript(#"""
        import sys, h5py, numpy as np
        d = sys.argv[1]
        with h5py.File(d + "/outside.h5", "w") as f:
            f.create_dataset("data", data=np.frombuffer(b"TOP-SECRET-0123456789abcdef!", dtype="u1").astype("f4"))
        with h5py.File(d + "/external_storage.h5", "w") as f:
            f.create_dataset("w", shape=(6,), dtype="<f4", external=[(d + "/secret.bin", 0, 24)])
        with h5py.File(d + "/relative_storage.h5", "w") as f:
            f.create_dataset("w", shape=(6,), dtype="<f4", external=[("secret.bin", 0, 24)])
        with h5py.File(d + "/virtual.h5", "w") as f:
            layout = h5py.VirtualLayout(shape=(28,), dtype="f4")
            layout[:] = h5py.VirtualSource(d + "/outside.h5", "data", shape=(28,))
            f.create_virtual_dataset("v", layout)
        with h5py.File(d + "/external_link.h5", "w") as f:
            f.create_group("g")["w"] = h5py.ExternalLink(d + "/outside.h5", "/data")
        with h5py.File(d + "/soft_outside.h5", "w") as f:
            f["ext"] = h5py.ExternalLink(d + "/outside.h5", "/")
            f["w"] = h5py.SoftLink("/ext/data")
        with h5py.File(d + "/soft_inside.h5", "w") as f:
            f.create_dataset("data", data=np.arange(3, dtype="f8"))
            f["alias"] = h5py.SoftLink("/data")
        with h5py.File(d + "/lzf.h5", "w") as f:
            f.create_dataset("w", data=np.ones(100, dtype="f4"), compression="lzf")
        with h5py.File(d + "/scaleoffset.h5", "w") as f:
            f.create_dataset("w", data=np.arange(100, dtype="i4"), scaleoffset=0)
        with h5py.File(d + "/allowed_filters.h5", "w") as f:
            f.create_dataset("w", data=np.arange(100, dtype="f4"), compression="gzip", shuffle=True, fletcher32=True)
        with h5py.File(d + "/huge.h5", "w") as f:
            f.create_dataset("w", shape=(2**31,), dtype="f8", chunks=(2**20,))
        """#, arguments: [scratch.path])
    }

    /// Opening is refused with `code`; the message names the object and never the secret.
    private func assertRefusedOnOpen(_ file: String, _ code: String, naming object: String, line: UInt = #line) {
        guard let e = assertHDF5Error(code, try HDF5File.open(scratch.file(file)), line: line) else { return }
        XCTAssertTrue(e.description.contains(object), e.description, line: line)
        XCTAssertFalse(e.description.contains("SECRET"), e.description, line: line)
    }

    func testExternalRawStorageIsRefusedBeforeAnyRead() {
        assertRefusedOnOpen("external_storage.h5", "hdf5.external_storage", naming: "/w")
        assertRefusedOnOpen("relative_storage.h5", "hdf5.external_storage", naming: "/w")
    }

    func testVirtualDatasetsAreRefused() {
        assertRefusedOnOpen("virtual.h5", "hdf5.virtual_dataset", naming: "/v")
    }

    func testExternalLinksAndSoftLinksThroughThemAreRefused() {
        assertRefusedOnOpen("external_link.h5", "hdf5.unsafe_link", naming: "/g/w is an external link")
        assertRefusedOnOpen("soft_outside.h5", "hdf5.unsafe_link", naming: "/ext is an external link")
    }

    func testSoftLinksInsideTheFileStillWork() throws {
        let f = try HDF5File.open(scratch.file("soft_inside.h5"))
        XCTAssertEqual(try f.readDataset("/alias").doubles, [0, 1, 2])
    }

    func testOnlyDeflateShuffleAndFletcher32AreRead() throws {
        assertRefusedOnOpen("lzf.h5", "hdf5.unsupported_filter", naming: "/w is stored through filter 32000")
        assertRefusedOnOpen("scaleoffset.h5", "hdf5.unsupported_filter", naming: "/w is stored through filter 6")
        let f = try HDF5File.open(scratch.file("allowed_filters.h5"))
        XCTAssertEqual(try f.readDataset("/w").doubles, (0..<100).map(Double.init))
    }

    /// A small file declaring 2^31 float64 (16 GiB): refused from its declared shape, at once.
    func testDeclaredHugeDatasetFailsFastWithoutAllocating() throws {
        let size = try FileManager.default.attributesOfItem(atPath: scratch.file("huge.h5"))[.size] as? Int ?? 0
        XCTAssertLessThan(size, 64 << 10, "the file itself is small")
        let f = try HDF5File.open(scratch.file("huge.h5"))
        XCTAssertEqual(try f.info("/w").shape, [1 << 31])
        let start = Date()
        let e = assertHDF5Error("hdf5.too_large", try f.readDataset("/w", maxElements: 1 << 26))
        XCTAssertEqual(e, .tooLarge(object: "/w", bytes: 1 << 34, limit: 1 << 29))
        XCTAssertLessThan(Date().timeIntervalSince(start), 1, "refused from the declared shape")
    }
}
