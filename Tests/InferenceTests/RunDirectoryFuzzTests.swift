import Foundation
import XCTest
@testable import Inference
import ModelFormat

/// Seeded mutation fuzzing of run directories given to `--resume`: every mutated directory
/// either reopens (and then continues like the original would: its record and states are read
/// back and pass the engine's checks) or is refused with a coded one-line error; a crash kills
/// the test process, which is the failure signal. Bounded to `L2HMC_FUZZ_SECONDS` (default 4 s)
/// in CI; `L2HMC_FUZZ_SECONDS=600 swift test --filter RunDirectoryFuzzTests` is the long run.
final class RunDirectoryFuzzTests: XCTestCase {
    func testMutatedRunDirectoriesAreReadOrRefusedNeverCrash() throws {
        let seconds = Double(ProcessInfo.processInfo.environment["L2HMC_FUZZ_SECONDS"] ?? "") ?? 4
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("l2hmc-rundir-fuzz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }

        // The original: plain HMC on 2x2, 3 chains, 9 trajectories, checkpoints at 4 and 9.
        let target = Target.u1(U1Lattice(lt: 2, lx: 2, beta: 1))
        let settings = RunSettings(chains: 3, trajectories: 9, seed: 3, schedule: .hmcOnly, hmcStepSize: 0.2, hmcSteps: 3)
        let params = RunParameters(settings: settings, target: target, modelPath: nil, modelSHA256: nil)
        let original = root.appendingPathComponent("original").path
        do {
            let engine = try RunEngine(settings: settings, target: makeTarget(target), model: nil)
            let (output, _) = try RunOutput.create(at: original, replace: false, params: params.json(), layout: .u1, chains: 3, stateSize: 8,
                                                   seed: 3, record: engine.record, states: engine.states)
            for _ in 0..<4 { try engine.step() }
            try output.checkpoint(record: engine.record, states: engine.states)
            while !engine.isFinished { try engine.step() }
            try output.checkpoint(record: engine.record, states: engine.states)
            output.close()
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: original).sorted()
        var files: [String: [UInt8]] = [:]
        for n in names { files[n] = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(original)/\(n)"))) }

        var rng = SplitMix64(seed: 909)
        let limits = RunDirectoryReader.Limits(maxFileBytes: 1 << 24, maxElements: 1 << 22)
        let deadline = Date().addingTimeInterval(seconds)
        var cases = 0, accepted = 0, refused = 0, slowest = 0.0
        let dir = root.appendingPathComponent("case").path
        while Date() < deadline {
            try? FileManager.default.removeItem(atPath: dir)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
            var mutated = files
            for _ in 0..<(1 + Int(rng.next() % 3)) { mutate(&mutated, &rng) }
            for (n, b) in mutated { try Data(b).write(to: URL(fileURLWithPath: "\(dir)/\(n)")) }
            let started = Date()
            do {
                let (output, contents) = try RunOutput.reopen(dir, limits: limits)
                output.close()
                // Whatever was accepted is a consistent directory the engine can continue.
                let p = try RunParameters(json: contents.params)
                let engine = try RunEngine(settings: p.settings, target: makeTarget(p.target), model: nil)
                try engine.resume(states: contents.states, trajectoryIndex: contents.trajectoryIndex, record: contents.record)
                accepted += 1
            } catch let e as InferenceError {
                XCTAssertFalse(e.description.contains("\n"), "multi-line error: \(e.description)")
                refused += 1
            } catch let e as L2ZError {
                XCTAssertFalse(e.description.contains("\n"), "multi-line error: \(e.description)")
                refused += 1
            } catch {
                XCTFail("uncoded error \(type(of: error)): \(error)")
            }
            slowest = max(slowest, Date().timeIntervalSince(started))
            cases += 1
        }
        XCTAssertGreaterThan(cases, 50, "the fuzzer ran too few cases to mean anything")
        XCTAssertLessThan(slowest, 1.0, "one case took \(slowest) s: something scales with a declared size")
        print("run-directory fuzz: \(cases) cases in \(seconds) s (\(accepted) accepted, \(refused) refused, 0 crashes), slowest \(String(format: "%.3f", slowest)) s")
    }

    /// One mutation: a bit flip, a byte run overwritten, a truncation, an extension, a deleted
    /// or emptied file, a number in a JSON file replaced by an extreme one.
    private func mutate(_ files: inout [String: [UInt8]], _ rng: inout SplitMix64) {
        let names = files.keys.sorted()
        guard !names.isEmpty else { return }
        let name = names[Int(rng.next() % UInt64(names.count))]
        guard var b = files[name] else { return }
        switch rng.next() % 7 {
        case 0 where !b.isEmpty:
            let i = Int(rng.next() % UInt64(b.count)); b[i] ^= UInt8(1 << (rng.next() % 8))
        case 1 where !b.isEmpty:
            let i = Int(rng.next() % UInt64(b.count))
            for k in i..<min(b.count, i + 1 + Int(rng.next() % 16)) { b[k] = UInt8(truncatingIfNeeded: rng.next()) }
        case 2: b = Array(b.prefix(Int(rng.next() % UInt64(b.count + 1))))
        case 3: b += (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 4: files[name] = nil; return
        case 5: b = []
        default:
            // Replace one number in a JSON file by an extreme value.
            guard name.hasSuffix(".json"), var text = String(bytes: b, encoding: .utf8), !text.isEmpty else { break }
            let extremes = ["-1", "0", "4294967296", "9223372036854775807", "1e308", "-0.0", "\"x\"", "null", "[]", "1.5"]
            if let r = text.range(of: #"-?[0-9]+(\.[0-9]+)?"#, options: .regularExpression, range: text.index(text.startIndex, offsetBy: Int(rng.next() % UInt64(text.count)))..<text.endIndex) {
                text.replaceSubrange(r, with: extremes[Int(rng.next() % UInt64(extremes.count))])
                b = Array(text.utf8)
            }
        }
        files[name] = b
    }
}
