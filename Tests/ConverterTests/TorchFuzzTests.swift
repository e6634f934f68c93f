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
        var rng = TorchFuzzRandom(state: 0x7013C4)
        var codes: [String: Int] = [:], accepted = 0
        let cases = 300
        for i in 0..<cases {
            var bytes = corpus[i % corpus.count]
            if rng.next() % 8 == 0 {
                bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
            } else {
                for _ in 0...(rng.next() % 4) { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            }
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
        var rng = TorchFuzzRandom(state: 0x9D7A_71C4)
        var codes: [String: Int] = [:], accepted = 0
        let cases = 300
        for i in 0..<cases {
            let rebuilt = try members.map { name, data -> LibZip.Member in
                guard name.hasSuffix("/data.pkl") else { return LibZip.Member(name: name, data: data, alignment: 64) }
                var bytes = data
                for _ in 0...(rng.next() % 4) { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
                return LibZip.Member(name: name, data: bytes, alignment: 64)
            }
            let file = scratch.file("case.pt")
            try Data(try LibZip.buildArchive(rebuilt)).write(to: URL(fileURLWithPath: file))
            do {
                _ = try TorchCheckpoint(path: file)
                accepted += 1
            } catch let error as ConvertError {
                codes[error.code, default: 0] += 1
            } catch {
                XCTFail("case \(i): not a ConvertError: \(error)")
            }
        }
        print("TorchFuzzTests (data.pkl): \(cases) cases, \(accepted) read; codes: \(codes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        XCTAssertTrue(codes.keys.allSatisfy { $0.hasPrefix("convert.") }, "\(codes)")
        // The mutations must reach the walker, not only the pickle reader.
        XCTAssertGreaterThan(codes.keys.filter { $0.hasPrefix("convert.torch_") }.count, 0, "\(codes)")
    }
}

/// SplitMix64 (replayable from the fixed seed).
private struct TorchFuzzRandom {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
