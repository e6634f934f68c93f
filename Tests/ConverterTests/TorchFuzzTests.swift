@testable import Converter
import Foundation
@testable import ModelFormat
import XCTest

/// A small seeded mutation fuzzer over ``TorchCheckpoint``: the two fixture archives with 1-4
/// bytes overwritten, or cut short, each read from a temporary file. Every case must read or
/// throw a ``ConvertError`` (no crash, no other error type). libzip's CRC check catches most
/// changes inside records, so this exercises the container; the pickle layer has its own fuzzer
/// (``PickleFuzzTests``).
final class TorchFuzzTests: XCTestCase {
    func testMutatedArchivesReadOrThrowACode() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let corpus = try ["state-dict.pt", "checkpoint.tar"].map { Array(try Data(contentsOf: URL(fileURLWithPath: TorchCheckpointTests.path($0)))) }
        var rng = SplitMix64(seed: 0x7013C4)
        var codes: [String: Int] = [:], accepted = 0
        let cases = 300
        for i in 0..<cases {
            var bytes = corpus[i % corpus.count]
            if rng.next() % 8 == 0 {
                bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
            } else {
                for _ in 0...(rng.next() % 4) { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            try read(bytes, in: scratch, case: i, codes: &codes, accepted: &accepted)
        }
        print("TorchFuzzTests: \(cases) cases, \(accepted) read; codes: \(codes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        XCTAssertTrue(codes.keys.allSatisfy { $0.hasPrefix("convert.") }, "\(codes)")
    }

    /// `data.pkl` mutated (1-4 bytes overwritten) and the archive rebuilt with valid CRCs (the
    /// project's own libzip writer), so the pickle reader and the tensor walker see the damage.
    func testMutatedDataPickleReadOrThrowsACode() throws {
        let scratch = try Scratch()
        defer { scratch.cleanUp() }
        let zip = try ZipArchive(path: TorchCheckpointTests.path("state-dict.pt"))
        let members = try zip.names.map { ($0, try zip.read($0)) }
        var rng = SplitMix64(seed: 0x9D7A_71C4)
        var codes: [String: Int] = [:], accepted = 0
        let cases = 300
        for i in 0..<cases {
            let rebuilt = try members.map { name, data -> LibZip.Member in
                guard name.hasSuffix("/data.pkl") else { return LibZip.Member(name: name, data: data, alignment: 64) }
                var bytes = data
                for _ in 0...(rng.next() % 4) { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
                return LibZip.Member(name: name, data: bytes, alignment: 64)
            }
            try read(try LibZip.buildArchive(rebuilt), in: scratch, case: i, codes: &codes, accepted: &accepted)
        }
        print("TorchFuzzTests (data.pkl): \(cases) cases, \(accepted) read; codes: \(codes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        XCTAssertTrue(codes.keys.allSatisfy { $0.hasPrefix("convert.") }, "\(codes)")
        // The mutations must reach the walker, not only the pickle reader.
        XCTAssertGreaterThan(codes.keys.filter { $0.hasPrefix("convert.torch_") }.count, 0, "\(codes)")
    }

    /// Reads one mutated archive from a file: it reads (counted in `accepted`) or throws a
    /// ConvertError (its code counted); any other error fails the case.
    private func read(_ bytes: [UInt8], in scratch: Scratch, case i: Int, codes: inout [String: Int], accepted: inout Int) throws {
        let file = scratch.file("case.pt")
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        do {
            _ = try TorchCheckpoint(path: file)
            accepted += 1
        } catch let error as ConvertError {
            codes[error.code, default: 0] += 1
        } catch {
            XCTFail("case \(i): not a ConvertError: \(error)")
        }
    }
}
