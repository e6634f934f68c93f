import Foundation
import XCTest
@testable import HDF5Kit

/// Files that are not (or no longer) HDF5 give typed errors, never a crash, and HDF5 prints
/// nothing to stderr.
final class MalformedFileTests: XCTestCase {
    var scratch: ScratchDirectory!

    override func setUpWithError() throws { scratch = try ScratchDirectory() }
    override func tearDown() { scratch.cleanUp() }

    /// Each corruption with the error code it must produce.
    enum Corruption: CaseIterable {
        case empty, randomBytes, text, zip, signatureThenGarbage, signatureAt512ThenGarbage

        var expectedCode: String {
            switch self {
            case .empty, .randomBytes, .text, .zip: return "hdf5.not_hdf5"
            case .signatureThenGarbage, .signatureAt512ThenGarbage: return "hdf5.corrupt"
            }
        }

        func bytes() -> [UInt8] {
            var generator = SplitMix64(seed: 20_240_611)
            let noise = (0 ..< 4096).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            switch self {
            case .empty: return []
            case .randomBytes: return noise
            case .text: return Array("layer_names: dense, dense_1\nthis is not HDF5\n".utf8)
            case .zip:
                // A minimal empty zip archive (end of central directory record only), as a
                // Keras 3 `.keras` file starts with "PK".
                return [0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0, count: 18)
            case .signatureThenGarbage: return HDF5Runtime.signature + noise
            case .signatureAt512ThenGarbage: return Array(noise[0 ..< 512]) + HDF5Runtime.signature + noise
            }
        }
    }

    func testCorruptionsGiveTypedErrorsAndNoStderr() throws {
        let stderrText = try capturingStandardError {
            for corruption in Corruption.allCases {
                let path = scratch.file("\(corruption).h5")
                try Data(corruption.bytes()).write(to: URL(fileURLWithPath: path))
                let error = assertHDF5Error(corruption.expectedCode, try HDF5File.open(path))
                XCTAssertTrue(error?.description.contains(path) ?? false, "\(corruption): \(String(describing: error))")
            }
        }
        XCTAssertEqual(stderrText, "", "HDF5 printed to stderr")
    }

    func testTruncatedFilesGiveTypedErrors() throws {
        let path = scratch.file("valid.h5")
        let file = try HDF5File.create(path)
        try file.writeAttribute("/", "layer_names", .strings(["dense", "dense_1"]))
        try file.writeDataset("/dense/dense/kernel:0", shape: [16, 16], doubles: (0 ..< 256).map(Double.init), as: .float32)
        try file.writeDataset("/dense/dense/bias:0", shape: [16], doubles: Array(repeating: 0.5, count: 16))
        try file.close()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))

        let cuts = [4, 8, 64, 100, 511, 800, 1024, bytes.count / 2, bytes.count - 100, bytes.count - 1]
        let stderrText = try capturingStandardError {
            for cut in cuts {
                let truncated = scratch.file("cut-\(cut).h5")
                try bytes.prefix(cut).write(to: URL(fileURLWithPath: truncated))
                assertHDF5Error(cut < 8 ? "hdf5.not_hdf5" : "hdf5.corrupt", try HDF5File.open(truncated))
            }
        }
        XCTAssertEqual(stderrText, "", "HDF5 printed to stderr")
        XCTAssertEqual(try HDF5File.open(path).readDataset("/dense/dense/bias:0").count, 16, "the uncut file is fine")
    }

    func testUnopenablePaths() throws {
        let missing = scratch.file("missing.h5")
        XCTAssertEqual(assertHDF5Error("hdf5.open_failed", try HDF5File.open(missing)),
                       .openFailed(path: missing, reason: "No such file or directory"))
        assertHDF5Error("hdf5.open_failed", try HDF5File.open(scratch.path))
        assertHDF5Error("hdf5.write_failed", try HDF5File.create(scratch.file("no/such/dir/x.h5")))
    }

    /// Without the silencing, a failing H5Fopen prints a multi-line error stack on stderr.
    func testErrorStackIsSilencedOnEveryThread() throws {
        let path = scratch.file("garbage.h5")
        try Data(Corruption.signatureThenGarbage.bytes()).write(to: URL(fileURLWithPath: path))
        let stderrText = try capturingStandardError {
            let done = expectation(description: "thread")
            Thread.detachNewThread {
                _ = try? HDF5File.open(path)
                done.fulfill()
            }
            wait(for: [done], timeout: 30)
            _ = try? HDF5File.open(path)
        }
        XCTAssertEqual(stderrText, "", "HDF5 printed to stderr")
        let error = assertHDF5Error("hdf5.corrupt", try HDF5File.open(path))
        XCTAssertFalse(error.map { HDF5Error.corrupt(path: path, reason: "H5Fopen failed") == $0 } ?? true,
                       "the reason comes from HDF5's error stack: \(String(describing: error))")
    }
}

/// Deterministic noise for corrupt-file fixtures.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
