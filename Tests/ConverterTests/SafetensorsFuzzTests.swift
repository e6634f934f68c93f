import Converter
import Foundation
import ModelFormat
import XCTest

/// A bounded, seeded mutation fuzzer over ``SafetensorsFile/init(bytes:path:)`` and
/// ``SafetensorsFile/values(_:)``, in-process.
///
/// Corpus: the committed fixtures written by the real library (fixtures/safetensors) and a
/// hand-made file with every dtype. Each case mutates one corpus file (seeded by the run seed and
/// the case index, printed on failure so it replays) with a byte-level or header-aware mutation
/// (digits of the JSON changed, the length field nudged, slices cut, repeated or spliced from
/// another file; the header rewritten consistently to reach the layout rules), then reads it and decodes every tensor. Contract: every input reads or throws a
/// ``ConvertError`` whose code is `convert.safetensors_*`, `convert.wrong_dtype` or
/// `convert.non_finite` (anything else fails; a crash kills the test process, which is the
/// failure signal), and no case takes longer than `maxCaseSeconds`.
///
/// Time: `L2HMC_FUZZ_SECONDS` (default 3) seconds of cases; `L2HMC_FUZZ_SEED` picks another run
/// seed. The long run documented in the README:
/// `L2HMC_FUZZ_SECONDS=600 swift test --disable-swift-testing --filter SafetensorsFuzzTests`.
final class SafetensorsFuzzTests: XCTestCase {
    /// Per case: the corpus files are under 1 KB and read in microseconds; a second is a hang.
    static let maxCaseSeconds = 1.0

    func testMutatedFilesReadOrThrowCodedErrors() throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = environment["L2HMC_FUZZ_SECONDS"].flatMap(Double.init) ?? 3
        let runSeed = environment["L2HMC_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x7361_6665_7465_6E01
        let corpus = try Self.corpus()
        for (name, bytes) in corpus {
            let f = try SafetensorsFile(bytes: bytes, path: name)
            for t in f.tensors where t.dtype.isConvertible { _ = try f.values(t) }
        }
        var cases = 0, accepted = 0, slowest = 0.0
        var codes: [String: Int] = [:]
        var failures: [String] = []
        let start = Date()
        while Date().timeIntervalSince(start) < seconds, failures.count < 10 {
            var rng = SplitMix64(seed: runSeed &+ UInt64(cases) &* 0x9E37_79B9_7F4A_7C15)
            let base = corpus[rng.int(corpus.count)], donor = corpus[rng.int(corpus.count)]
            var (bytes, description) = Self.mutate(base.bytes, donor: donor.bytes, &rng)
            if rng.int(5) == 0 {
                let second = Self.mutate(bytes, donor: donor.bytes, &rng)
                bytes = second.0
                description += "; then " + second.1
            }
            let label = "case \(cases) (L2HMC_FUZZ_SEED=\(runSeed)) on \(base.name): \(description)"
            let caseStart = Date()
            do {
                let f = try SafetensorsFile(bytes: bytes, path: "fuzz")
                for t in f.tensors {
                    do { _ = try f.values(t) } catch let e as ConvertError where e.code == "convert.wrong_dtype" || e.code == "convert.non_finite" {
                        codes[e.code, default: 0] += 1
                    }
                }
                accepted += 1
            } catch let e as ConvertError where e.code.hasPrefix("convert.safetensors_") {
                codes[e.code, default: 0] += 1
                if e.message.contains("\n") { failures.append("\(label): message of more than one line") }
            } catch {
                failures.append("\(label): threw \(error), not a coded safetensors error")
            }
            let elapsed = Date().timeIntervalSince(caseStart)
            slowest = max(slowest, elapsed)
            if elapsed > Self.maxCaseSeconds { failures.append("\(label): took \(elapsed) s") }
            cases += 1
        }
        let total = Date().timeIntervalSince(start)
        print("SafetensorsFuzzTests: \(cases) cases in \(String(format: "%.1f", total)) s, seed \(runSeed); \(accepted) read, "
            + "\(failures.count) failures; slowest \(String(format: "%.4f", slowest)) s; codes: "
            + codes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        for failure in failures { XCTFail(failure) }
        XCTAssertGreaterThan(cases, 100, "too few cases ran to mean anything")
        XCTAssertGreaterThan(codes.count, 11, "the mutations should reach most rules of the reader (15 codes in a 3 s run)")
    }

    static func corpus() throws -> [(name: String, bytes: [UInt8])] {
        var out = try ["small.safetensors", "bf16.safetensors"].map { name in
            (name, Array(try Data(contentsOf: URL(fileURLWithPath: SafetensorsReaderTests.fixture(name)))))
        }
        var header = "{\"__metadata__\":{\"k\":\"v\"}", data: [UInt8] = []
        for (i, d) in SafetensorsDType.allCases.enumerated() {
            header += ",\"t\(i)\":{\"dtype\":\"\(d.rawValue)\",\"shape\":[2],\"data_offsets\":[\(data.count),\(data.count + 2 * d.itemSize)]}"
            data += (0..<(2 * d.itemSize)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ i) & 0x3F }
        }
        out.append(("every dtype", safetensorsBytes(header + "}", data: data)))
        return out
    }

    /// One mutation of `bytes` and its description.
    static func mutate(_ bytes: [UInt8], donor: [UInt8], _ rng: inout SplitMix64) -> ([UInt8], String) {
        var b = bytes
        let n = max(b.count, 1)
        switch rng.int(11) {
        case 0:
            let i = rng.int(n)
            if i < b.count { b[i] ^= UInt8(1 << rng.int(8)) }
            return (b, "flip a bit of byte \(i)")
        case 1:
            let i = rng.int(n), v = UInt8(rng.int(256))
            if i < b.count { b[i] = v }
            return (b, "byte \(i) = \(v)")
        case 2:
            let k = rng.int(n + 1)
            return (Array(b.prefix(k)), "truncate to \(k)")
        case 3:  // nudge or replace the length field
            let choices: [UInt64] = [0, 1, 2, UInt64(rng.int(1 << 12)), 100_000_000, 100_000_001, UInt64.max, 1 << 40]
            var v = choices[rng.int(choices.count)]
            if rng.int(2) == 0, b.count >= 8 {
                var cur: UInt64 = 0
                for i in 0..<8 { cur |= UInt64(b[i]) << (8 * UInt64(i)) }
                v = cur &+ UInt64(rng.int(17)) &- 8
            }
            for i in 0..<min(8, b.count) { b[i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
            return (b, "length field = \(v)")
        case 4:  // change a digit or structural character in the header
            let positions = b.indices.dropFirst(8).filter { "0123456789[]{},:\"".utf8.contains(b[$0]) }
            guard !positions.isEmpty else { return (b, "no header character") }
            let i = positions[rng.int(positions.count)]
            let replacement = Array("0123456789-.e[]{},:\" \u{7F}".utf8)
            let v = replacement[rng.int(replacement.count)]
            b[i] = v
            return (b, "header byte \(i) = \(v)")
        case 5:
            let i = rng.int(n), k = rng.int(16) + 1
            let end = min(b.count, i + k)
            if i < end { b.removeSubrange(i..<end) }
            return (b, "delete [\(i), \(end))")
        case 6:
            let i = rng.int(n), k = rng.int(16) + 1
            let end = min(b.count, i + k)
            if i < end { b.insert(contentsOf: b[i..<end], at: i) }
            return (b, "repeat [\(i), \(end))")
        case 7:
            let cut = rng.int(n), from = rng.int(max(donor.count, 1))
            return (Array(b.prefix(cut)) + Array(donor.dropFirst(from)), "splice at \(cut) from donor offset \(from)")
        case 9, 10:  // rewrite the header text consistently (length field recomputed)
            return rewriteHeader(b, &rng)
        default:
            let extra = [UInt8](repeating: UInt8(rng.int(256)), count: rng.int(9) + 1)
            return (b + extra, "append \(extra.count) bytes")
        }
    }
}

extension SafetensorsFuzzTests {
    /// Edits the header as text and rewrites the length field to match, so the JSON stays
    /// readable and the layout rules (offsets, tiling, metadata) are what gets exercised: shifts
    /// one tensor's `data_offsets` (overlap, gap, offsets past the end), copies one tensor's
    /// offsets onto another, or turns a metadata value into a number.
    static func rewriteHeader(_ b: [UInt8], _ rng: inout SplitMix64) -> ([UInt8], String) {
        guard b.count >= 8 else { return (b, "no header") }
        var n = 0
        for i in 0..<8 { n |= Int(b[i]) << (8 * i) }
        guard n >= 0, n <= b.count - 8, let text = String(bytes: b[8..<(8 + n)], encoding: .utf8) else { return (b, "unreadable header") }
        let key = "\"data_offsets\":["
        var ranges: [Range<String.Index>] = []
        var from = text.startIndex
        while let r = text.range(of: key, range: from..<text.endIndex), let close = text[r.upperBound...].firstIndex(of: "]") {
            ranges.append(r.upperBound..<close)
            from = close
        }
        var out = text, what = ""
        let choice = rng.int(3)
        if choice == 2 || ranges.isEmpty {
            guard let r = text.range(of: "\"__metadata__\":{\""), let colon = text[r.upperBound...].range(of: "\":\"") else { return (b, "no metadata") }
            let valueStart = colon.upperBound
            guard let valueEnd = text[valueStart...].firstIndex(of: "\"") else { return (b, "no metadata value") }
            out.replaceSubrange(text.index(before: valueStart)...valueEnd, with: "7")
            what = "first metadata value -> 7"
        } else {
            let r = ranges[rng.int(ranges.count)]
            let pair = text[r].split(separator: ",").compactMap { Int($0) }
            guard pair.count == 2 else { return (b, "odd offsets") }
            var new = pair
            if choice == 0 {
                let delta = rng.int(17) - 8
                new = rng.int(2) == 0 ? [pair[0] + delta, pair[1] + delta] : [pair[0], pair[1] + delta]
            } else {
                let other = ranges[rng.int(ranges.count)]
                new = text[other].split(separator: ",").compactMap { Int($0) }
            }
            out.replaceSubrange(r, with: new.map(String.init).joined(separator: ","))
            what = "data_offsets \(pair) -> \(new)"
        }
        let h = Array(out.utf8)
        let length = (0..<8).map { UInt8(truncatingIfNeeded: h.count >> (8 * $0)) }
        return (length + h + Array(b[(8 + n)...]), "header rewrite: " + what)
    }
}
