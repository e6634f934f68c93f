import Converter
import Foundation
import ModelFormat
import XCTest

/// A bounded, seeded mutation fuzzer over ``PickleReader``, in-process.
///
/// Corpus: every `fixtures/pickle/*.pkl` (valid and hostile). Each case mutates one corpus file
/// (seeded by the run seed and the case index, so the printed description replays it) and reads
/// it with an allowlist that admits the fixtures' globals. Contract: every input either reads or
/// throws a ``ConvertError`` whose code is one of the five `convert.pickle_*` codes (anything
/// else fails the test; a crash kills the process, which is the failure signal), and no case
/// takes longer than `maxCaseSeconds`.
///
/// Time: `L2HMC_FUZZ_SECONDS` (default 3) seconds of cases; `L2HMC_FUZZ_SEED` picks another run
/// seed. The long run documented in the README:
/// `L2HMC_FUZZ_SECONDS=600 swift test --disable-swift-testing --filter PickleFuzzTests`.
final class PickleFuzzTests: XCTestCase {
    /// The largest corpus file (10 KB) reads in well under a millisecond in a debug build; the
    /// bounds (values, depth) keep any input linear in its size, so 1 s is a hang.
    static let maxCaseSeconds = 1.0
    static let codes: Set<String> = ["convert.pickle_opcode", "convert.pickle_global", "convert.pickle_truncated",
                                     "convert.pickle_limit", "convert.pickle_malformed"]

    func testMutatedPicklesReadOrThrowAPickleCode() throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = environment["L2HMC_FUZZ_SECONDS"].flatMap(Double.init) ?? 3
        let runSeed = environment["L2HMC_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x706B_6C66_757A_7A01
        let directory = Fixtures.root.appendingPathComponent("fixtures/pickle").path
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".pkl") }.sorted()
        let corpus = try names.map { ($0, try PickleFixtures.bytes($0)) }
        XCTAssertGreaterThanOrEqual(corpus.count, 12)
        var limits = PickleLimits()
        limits.maxValues = 200_000  // keeps every case fast; the defaults are tested elsewhere
        let reader = PickleReader(allowlist: PickleAllowlist.stateDict.union(["_codecs.encode", "__builtin__.bytes"]), limits: limits)

        var cases = 0, accepted = 0, slowest = 0.0
        var seen: [String: Int] = [:]
        var failures: [String] = []
        let start = Date()
        while Date().timeIntervalSince(start) < seconds, failures.count < 10 {
            var rng = SplitMix64(seed: runSeed &+ UInt64(cases) &* 0x9E37_79B9_7F4A_7C15)
            let base = corpus[rng.int(corpus.count)]
            let donor = corpus[rng.int(corpus.count)].1
            var (bytes, description) = Self.mutate(base.1, donor: donor, &rng)
            if rng.int(5) == 0 {
                let second = Self.mutate(bytes, donor: donor, &rng)
                bytes = second.0
                description += "; then " + second.1
            }
            let label = "case \(cases) (L2HMC_FUZZ_SEED=\(runSeed)) on \(base.0): \(description)"
            let caseStart = Date()
            do {
                _ = try reader.read(bytes)
                accepted += 1
            } catch let error as ConvertError where Self.codes.contains(error.code) {
                seen[error.code, default: 0] += 1
            } catch {
                failures.append("\(label): threw \(error)")
            }
            let elapsed = Date().timeIntervalSince(caseStart)
            slowest = max(slowest, elapsed)
            if elapsed > Self.maxCaseSeconds { failures.append("\(label): took \(elapsed) s") }
            cases += 1
        }
        let total = Date().timeIntervalSince(start)
        print("PickleFuzzTests: \(cases) cases in \(String(format: "%.1f", total)) s, seed \(runSeed), corpus \(corpus.count) files; \(accepted) read, \(failures.count) failures; slowest case \(String(format: "%.4f", slowest)) s; codes: \(seen.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        for failure in failures { XCTFail(failure) }
        XCTAssertGreaterThan(cases, 100)
        XCTAssertGreaterThan(seen.count, 3, "the mutations should reach most refusal paths")
    }

    /// Interesting bytes: every opcode letter of the subset and around it, length extremes.
    static let interesting: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0x28, 0x2E, 0x30, 0x31, 0x5D, 0x61, 0x65, 0x68, 0x6A, 0x71,
                                       0x72, 0x73, 0x75, 0x74, 0x29, 0x7D, 0x52, 0x62, 0x81, 0x51, 0x63, 0x93, 0x94, 0x95, 0x8A,
                                       0x8B, 0x8C, 0x8D, 0x8E, 0x58, 0x42, 0x43, 0x69, 0x6F, 0x0A]

    private static func mutate(_ input: [UInt8], donor: [UInt8], _ rng: inout SplitMix64) -> ([UInt8], String) {
        var bytes = input
        guard !bytes.isEmpty else { return ([0x80, 0x02], "replaced the empty input") }
        let at = rng.int(bytes.count)
        switch rng.int(8) {
        case 0:
            let bit = rng.int(8)
            bytes[at] ^= UInt8(1 << bit)
            return (bytes, "flipped bit \(bit) of byte \(at)")
        case 1:
            let value = interesting[rng.int(interesting.count)]
            bytes[at] = value
            return (bytes, "set byte \(at) to 0x\(String(value, radix: 16))")
        case 2:
            let count = 1 + rng.int(min(16, bytes.count - at))
            bytes.removeSubrange(at ..< at + count)
            return (bytes, "deleted \(count) bytes at \(at)")
        case 3:
            let count = 1 + rng.int(min(64, bytes.count - at))
            let copies = 1 + rng.int(50)
            let chunk = Array(bytes[at ..< at + count])
            for _ in 0 ..< copies { bytes.insert(contentsOf: chunk, at: at) }
            return (bytes, "repeated \(count) bytes at \(at) \(copies) more times")
        case 4:
            return (Array(bytes[..<at]), "truncated to \(at) bytes")
        case 5:
            let width = [1, 2, 4, 8][rng.int(4)]
            let value: UInt64 = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, UInt64.max, UInt64(bytes.count)][rng.int(10)]
            for i in 0 ..< width where at + i < bytes.count { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
            return (bytes, "wrote \(value) as \(width) little-endian bytes at \(at)")
        case 6:
            guard !donor.isEmpty else { return (bytes, "no donor") }
            let from = rng.int(donor.count)
            let count = 1 + rng.int(min(128, donor.count - from))
            bytes.insert(contentsOf: donor[from ..< from + count], at: at)
            return (bytes, "inserted donor bytes \(from)..<\(from + count) at \(at)")
        default:
            let count = 1 + rng.int(8)
            var inserted: [UInt8] = []
            for _ in 0 ..< count { inserted.append(interesting[rng.int(interesting.count)]) }
            bytes.insert(contentsOf: inserted, at: at)
            return (bytes, "inserted \(inserted.map { String($0, radix: 16) }) at \(at)")
        }
    }
}
