import Foundation
import XCTest
import ModelFormat

/// The Keras fuzz tier: seeded mutations of every Keras fixture (`.h5` written by tf-keras and
/// Keras 3, `.weights.h5`, `.keras` zips), each given to `l2hmc-convert inspect` as a user would,
/// under a 1 GB address-space limit (`ulimit -v`). Every case must end in a listing or a coded
/// one-line error (exit 0, 1 or 64): never a signal (a libhdf5 crash is the child's, reported as
/// `convert.source_crashed`), never longer than the source timeout, never an allocation beyond
/// the limit (that would be a trap, so a signal). Bounded by `L2HMC_FUZZ_SECONDS` (default 15 s);
/// the long run is `L2HMC_FUZZ_SECONDS=1800 swift test --filter KerasFuzzCLITests`.
final class KerasFuzzCLITests: XCTestCase {
    func testMutatedKerasFilesNeverKillTheToolOrExhaustMemory() throws {
        let seconds = Double(ProcessInfo.processInfo.environment["L2HMC_FUZZ_SECONDS"] ?? "") ?? 15
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let keras = CLI.repositoryRoot.appendingPathComponent("fixtures/keras")
        let sources = try FileManager.default.contentsOfDirectory(atPath: keras.path)
            .filter { $0.hasSuffix(".h5") || $0.hasSuffix(".keras") }.sorted()
        XCTAssertGreaterThanOrEqual(sources.count, 6)
        let originals = try sources.map { [UInt8](try Data(contentsOf: keras.appendingPathComponent($0))) }
        let tool = CLI.productsDirectory.appendingPathComponent("l2hmc-convert").path

        var rng = SplitMix64(seed: 2026_11_26)
        var cases = 0, signals = 0, slowest = 0.0
        var outcomes: [String: Int] = [:]
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let which = Int(rng.next() % UInt64(sources.count))
            var bytes = originals[which]
            for _ in 0..<(1 + Int(rng.next() % 4)) { mutate(&bytes, &rng) }
            let ext = sources[which].hasSuffix(".keras") ? ".keras" : ".h5"
            let path = dir.appendingPathComponent("case\(cases)\(ext)").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "ulimit -v 1000000; exec \"$0\" inspect \"$1\" --source-timeout 10", tool, path]
            let err = Pipe()
            p.standardOutput = FileHandle.nullDevice
            p.standardError = err
            let started = Date()
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            let took = Date().timeIntervalSince(started)
            slowest = max(slowest, took)
            if p.terminationReason == .uncaughtSignal {
                signals += 1
                XCTFail("case \(cases) (\(sources[which]), kept at \(path)): killed by signal \(p.terminationStatus)")
                continue
            }
            XCTAssertTrue([0, 1, 64].contains(p.terminationStatus), "case \(cases): exit \(p.terminationStatus): \(text)")
            if p.terminationStatus == 0 {
                outcomes["listed", default: 0] += 1
            } else {
                let lines = text.split(separator: "\n").filter { !$0.hasPrefix("warning: ") }
                XCTAssertEqual(lines.count, 1, "case \(cases): one error line: \(text)")
                XCTAssertTrue(lines.first?.hasPrefix("error: [") == true, "case \(cases): \(text)")
                let code = String(lines.first?.dropFirst("error: [".count).prefix { $0 != "]" } ?? "?")
                outcomes[code, default: 0] += 1
            }
            XCTAssertLessThan(took, 20, "case \(cases) took \(took) s (the source timeout is 10 s)")
            try? FileManager.default.removeItem(atPath: path)
            cases += 1
        }
        XCTAssertGreaterThan(cases, 20, "too few cases to mean anything")
        print("keras fuzz: \(cases) cases in \(Int(seconds)) s, \(signals) signals, slowest \(String(format: "%.2f", slowest)) s; outcomes \(outcomes.sorted { $0.key < $1.key })")
    }

    /// Bit flips, byte runs overwritten (anywhere, or in the first 4 KiB where HDF5 keeps its
    /// superblock and root object headers), truncation, insertion, and a region copied over another.
    private func mutate(_ b: inout [UInt8], _ rng: inout SplitMix64) {
        guard !b.isEmpty else { return }
        let n = UInt64(b.count)
        switch rng.next() % 6 {
        case 0: let i = Int(rng.next() % n); b[i] ^= UInt8(1 << (rng.next() % 8))
        case 1:
            let i = Int(rng.next() % min(n, 4096))
            for k in i..<min(b.count, i + 1 + Int(rng.next() % 8)) { b[k] = UInt8(truncatingIfNeeded: rng.next()) }
        case 2:
            let i = Int(rng.next() % n)
            for k in i..<min(b.count, i + 1 + Int(rng.next() % 64)) { b[k] = [0, 0xFF, 0x7F, 0x80][Int(rng.next() % 4)] }
        case 3: b = Array(b.prefix(Int(rng.next() % n)))
        case 4: b.insert(contentsOf: (0..<Int(1 + rng.next() % 32)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: Int(rng.next() % n))
        default:
            let from = Int(rng.next() % n), to = Int(rng.next() % n), len = Int(1 + rng.next() % 256)
            let chunk = Array(b[from..<min(b.count, from + len)])
            for (k, v) in chunk.enumerated() where to + k < b.count { b[to + k] = v }
        }
    }
}
