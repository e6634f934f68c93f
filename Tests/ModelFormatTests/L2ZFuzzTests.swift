import Foundation
import XCTest
@testable import ModelFormat

/// A bounded, seeded mutation fuzzer over `L2ZReader.read(bytes:)`, in-process.
///
/// Corpus: the shipped `fixtures/*.l2z` and a few test models written by ``L2ZWriter``.
/// Each case mutates one corpus file with ``L2ZMutator`` (seeded by the run seed and the case
/// index, so the description printed on failure replays it) and reads the result. Contract checked:
/// - every input either reads or throws an `L2ZError` (any other error fails the test; a crash
///   kills the test process, which is the failure signal);
/// - no case takes longer than `maxCaseSeconds`, and no case raises the peak resident memory by
///   more than `maxCaseGrowthBytes` (the kernel's high-water mark, reset before each case through
///   /proc/self/clear_refs where the kernel allows it, else the resident size after the case).
///
/// Time: `L2HMC_FUZZ_SECONDS` (default 12) seconds of cases; `L2HMC_FUZZ_SEED` picks another
/// run seed. The long run documented in the README:
/// `L2HMC_FUZZ_SECONDS=600 swift test --disable-swift-testing --filter L2ZFuzzTests`.
final class L2ZFuzzTests: XCTestCase {
    /// Per case. The largest corpus file (0.9 MB) reads in about 10-30 ms in a debug build; a case
    /// that is 50x slower than that is a hang in the making (e.g. quadratic work on a crafted name).
    static let maxCaseSeconds = 2.0
    /// Per case. Reading the largest corpus file holds a few MB (bytes, members, decoded arrays);
    /// 256 MiB is far above that and far below what a size field trusted before checking
    /// allocates (the reader's limits allow 2^36 elements, 512 GiB).
    static let maxCaseGrowthBytes = 256 << 20

    func testMutatedFilesReadOrThrowL2ZError() throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = environment["L2HMC_FUZZ_SECONDS"].flatMap(Double.init) ?? 12
        let runSeed = environment["L2HMC_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x6C32_7A66_757A_7A01
        let corpus = try Self.corpus()
        for (name, bytes) in corpus {
            XCTAssertNoThrow(try L2ZReader.read(bytes: bytes), "corpus file \(name) must read unmutated")
        }
        let memory = ResidentMemory()

        var cases = 0, accepted = 0, slowest = 0.0, largestGrowth = 0
        var codes: [String: Int] = [:]
        var failures: [String] = []
        let start = Date()
        while Date().timeIntervalSince(start) < seconds, failures.count < 10 {
            let caseSeed = runSeed &+ UInt64(cases) &* 0x9E37_79B9_7F4A_7C15
            var mutator = L2ZMutator(seed: caseSeed)
            let base = corpus[mutator.int(corpus.count)]
            let donor = corpus[mutator.int(corpus.count)]
            var (bytes, description) = mutator.mutate(base.bytes, donor: donor.bytes)
            if mutator.chance(0.2) {  // stack a second mutation now and then
                let second = mutator.mutate(bytes, donor: donor.bytes)
                bytes = second.bytes
                description += "; then " + second.description
            }
            let label = "case \(cases) (L2HMC_FUZZ_SEED=\(runSeed)) on \(base.name): \(description)"

            let before = memory.resetPeak()
            let caseStart = Date()
            do {
                _ = try L2ZReader.read(bytes: bytes)
                accepted += 1
            } catch let error as L2ZError {
                codes[error.code, default: 0] += 1
            } catch {
                failures.append("\(label): threw \(type(of: error)) \(error), not an L2ZError")
            }
            let elapsed = Date().timeIntervalSince(caseStart)
            let growth = memory.peak() - before
            slowest = max(slowest, elapsed)
            largestGrowth = max(largestGrowth, growth)
            if elapsed > Self.maxCaseSeconds { failures.append("\(label): took \(elapsed) s") }
            if growth > Self.maxCaseGrowthBytes { failures.append("\(label): peak resident memory grew by \(growth >> 20) MiB") }
            cases += 1
        }
        let total = Date().timeIntervalSince(start)
        let codeList = codes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("""
            L2ZFuzzTests: \(cases) cases in \(String(format: "%.1f", total)) s (\(String(format: "%.0f", Double(cases) / total)) cases/s), \
            seed \(runSeed), corpus \(corpus.count) files; \(accepted) read, \(cases - accepted - failures.count) refused with an L2ZError, \
            \(failures.count) failures; slowest case \(String(format: "%.3f", slowest)) s, largest peak growth \(largestGrowth >> 10) KiB \
            (\(memory.method)); codes: \(codeList)
            """)
        for failure in failures { XCTFail(failure) }
        XCTAssertGreaterThan(cases, 20, "too few cases ran to mean anything")
        XCTAssertGreaterThan(codes.count, 10, "the mutations should reach many different checks of the reader")
    }

    /// The memory check can fail: a touched 64 MiB allocation inside the window is seen.
    func testResidentMemoryDetectsAnAllocation() throws {
        let memory = ResidentMemory()
        guard memory.canResetPeak || ResidentMemory.status("VmRSS:") > 0 else { throw XCTSkip("no /proc/self/status") }
        let before = memory.resetPeak()
        var block = [UInt8](repeating: 1, count: 64 << 20)
        block[block.count - 1] = 2
        let growth = memory.peak() - before
        XCTAssertEqual(block.last, 2)
        // Pages written are resident: at least 48 of the 64 MiB (slack for the allocator's reuse).
        XCTAssertGreaterThan(growth, 48 << 20, "\(memory.method)")
    }

    /// The shipped fixtures and a few small models (u1 with a probe and batch norm, a mixture).
    static func corpus() throws -> [(name: String, bytes: [UInt8])] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let fixtures = root.appendingPathComponent("fixtures")
        let names = try FileManager.default.contentsOfDirectory(atPath: fixtures.path).filter { $0.hasSuffix(".l2z") }.sorted()
        var corpus: [(name: String, bytes: [UInt8])] = try names.map { name in
            (name, Array(try Data(contentsOf: fixtures.appendingPathComponent(name))))
        }
        guard !corpus.isEmpty else { throw ZipSurgery.SurgeryError(description: "no fixtures/*.l2z found under \(fixtures.path)") }
        corpus.append(("test u1 2x3", try L2ZWriter.encode(try RandomModel.make(sampler: TestModels.u1(), seed: 1))))
        corpus.append(("test u1 probe+batchnorm", try L2ZWriter.encode(try TestModels.withProbe(TestModels.u1(batchNorm: true)))))
        corpus.append(("test mixture", try L2ZWriter.encode(try RandomModel.make(sampler: TestModels.mixture(), seed: 2))))
        return corpus
    }
}

/// Resident memory of this process from /proc (Linux); zeros elsewhere.
struct ResidentMemory {
    /// Whether the peak can be reset (writing "5" to /proc/self/clear_refs resets VmHWM).
    let canResetPeak: Bool
    var method: String { canResetPeak ? "VmHWM reset per case" : "resident size after each case" }

    init() {
        canResetPeak = Self.write5ToClearRefs() && Self.status("VmHWM:") > 0
    }

    /// Resets the peak if possible; returns the current resident size.
    func resetPeak() -> Int {
        if canResetPeak { _ = Self.write5ToClearRefs() }
        return Self.status("VmRSS:")
    }

    /// The peak since the reset (or the current resident size).
    func peak() -> Int { Self.status(canResetPeak ? "VmHWM:" : "VmRSS:") }

    private static func write5ToClearRefs() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }

    /// A `kB` field of /proc/self/status, in bytes (0 when unavailable).
    static func status(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kB = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
        return kB * 1024
    }
}
