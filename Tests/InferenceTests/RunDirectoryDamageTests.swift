import Foundation
import XCTest
@testable import Inference
import ModelFormat

/// A run directory is untrusted input for `--resume`: each damaged or edited directory of the
/// table is refused by ``RunOutput/reopen(_:limits:)`` with a coded error, and nothing in it is
/// changed. The undamaged directory reopens and gives back the record it was written with.
final class RunDirectoryDamageTests: XCTestCase {
    private var root: URL!
    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("l2hmc-damage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    private let limits = RunDirectoryReader.Limits(maxFileBytes: 1 << 26, maxElements: 1 << 24)

    /// A 12-trajectory plain-HMC run on 2x2 with 3 chains, checkpointed at 5 and 12.
    private func makeRun(_ name: String) throws -> (path: String, record: RunRecord, states: [Double]) {
        let target = Target.u1(U1Lattice(lt: 2, lx: 2, beta: 1))
        var settings = RunSettings(chains: 3, trajectories: 12, seed: 5, schedule: .hmcOnly, hmcStepSize: 0.2, hmcSteps: 3)
        settings.thermalization = 0.25
        let params = RunParameters(settings: settings, target: target, modelPath: nil, modelSHA256: nil)
        let engine = try RunEngine(settings: settings, target: makeTarget(target), model: nil)
        let path = root.appendingPathComponent(name).path
        let (output, _) = try RunOutput.create(at: path, replace: false, params: params.json(), layout: .u1, chains: 3, stateSize: 8, seed: 5,
                                               record: engine.record, states: engine.states)
        for _ in 0..<5 { try engine.step() }
        try output.checkpoint(record: engine.record, states: engine.states)
        while !engine.isFinished { try engine.step() }
        try output.checkpoint(record: engine.record, states: engine.states)
        output.close()
        return (path, engine.record, engine.states)
    }

    func testAnIntactDirectoryReopensWithItsRecord() throws {
        let (path, record, states) = try makeRun("intact")
        let (output, contents) = try RunOutput.reopen(path, limits: limits)
        XCTAssertEqual(contents.record, record)
        XCTAssertEqual(contents.states, states)
        XCTAssertEqual(contents.trajectoryIndex, 12)
        output.close()
    }

    func testRowsWrittenAfterTheLastCommitAreCutOff() throws {
        let (path, record, _) = try makeRun("extra")
        // A kill after appending rows but before committing: 2 more rows of garbage in a file.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(path)/plaquette.npy"))
        handle.seekToEndOfFile(); handle.write(Data(repeating: 0x7F, count: 2 * 3 * 8)); handle.closeFile()
        let (output, contents) = try RunOutput.reopen(path, limits: limits)
        XCTAssertEqual(contents.record, record)
        output.close()
        let size = try FileManager.default.attributesOfItem(atPath: "\(path)/plaquette.npy")[.size] as? Int
        XCTAssertEqual(size, 128 + 12 * 3 * 8)
    }

    func testEveryDamagedDirectoryIsRefusedAndLeftUnchanged() throws {
        typealias Damage = (name: String, expect: String, apply: (String) throws -> Void)
        func edit(_ file: String, _ change: @escaping (inout String) -> Void) -> (String) throws -> Void {
            { dir in
                var text = try String(contentsOfFile: "\(dir)/\(file)", encoding: .utf8)
                change(&text)
                try text.write(toFile: "\(dir)/\(file)", atomically: false, encoding: .utf8)
            }
        }
        func patch(_ file: String, at offset: Int, _ bytes: [UInt8]) -> (String) throws -> Void {
            { dir in
                var data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(file)")))
                for (i, b) in bytes.enumerated() { data[offset + i] = b }
                try Data(data).write(to: URL(fileURLWithPath: "\(dir)/\(file)"))
            }
        }
        func double(_ v: Double) -> [UInt8] { withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) }
        func remove(_ file: String) -> (String) throws -> Void { { try FileManager.default.removeItem(atPath: "\($0)/\(file)") } }
        func truncate(_ file: String, to size: Int) -> (String) throws -> Void {
            { dir in let h = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(dir)/\(file)")); h.truncateFile(atOffset: UInt64(size)); h.closeFile() }
        }
        let states = "states-0000000012.npy"
        let cases: [Damage] = [
            ("state.json missing", "state.json", remove("state.json")),
            ("state.json unknown key", "unknown key", edit("state.json") { $0 = $0.replacingOccurrences(of: "\"chains\"", with: "\"x\": 1, \"chains\"") }),
            ("state.json negative index", "trajectory_index", edit("state.json") { $0 = $0.replacingOccurrences(of: "\"trajectory_index\": 12", with: "\"trajectory_index\": -3") }),
            ("state.json huge index", "trajectory_index", edit("state.json") { $0 = $0.replacingOccurrences(of: "\"trajectory_index\": 12", with: "\"trajectory_index\": 99999999999999") }),
            ("state.json index beyond params", "exceeds", edit("state.json") {
                $0 = $0.replacingOccurrences(of: "\"trajectory_index\": 12", with: "\"trajectory_index\": 13").replacingOccurrences(of: "0000000012", with: "0000000013") }),
            ("state.json wrong state size", "state_size", edit("state.json") { $0 = $0.replacingOccurrences(of: "\"state_size\": 8", with: "\"state_size\": 9") }),
            ("state.json huge chains", "chains", edit("state.json") { $0 = $0.replacingOccurrences(of: "\"chains\": 3", with: "\"chains\": 4000000000") }),
            ("state.json seed not a number", "seed", edit("state.json") { $0 = $0.replacingOccurrences(of: "\"seed\": \"5\"", with: "\"seed\": \"NaN\"") }),
            ("state.json states file elsewhere", "states_file", edit("state.json") { $0 = $0.replacingOccurrences(of: states, with: "../../etc/passwd") }),
            ("state.json csv longer than file", "observables.csv", edit("state.json") { $0 = $0.replacingOccurrences(of: "\"csv_bytes\": ", with: "\"csv_bytes\": 9") }),
            ("params.json unknown key", "bogus", edit("params.json") { $0 = $0.replacingOccurrences(of: "\"chains\"", with: "\"bogus\": 1, \"chains\"") }),
            ("params.json negative chains", "chains", edit("params.json") { $0 = $0.replacingOccurrences(of: "\"chains\": 3", with: "\"chains\": -3") }),
            ("params.json step size not a number", "hmc_eps", edit("params.json") { $0 = $0.replacingOccurrences(of: "\"hmc_eps\": 0.2", with: "\"hmc_eps\": \"nan\"") }),
            ("params.json zero lattice", "target", edit("params.json") { $0 = $0.replacingOccurrences(of: "\"lt\": 2", with: "\"lt\": 0") }),
            ("params.json negative beta", "beta", edit("params.json") { $0 = $0.replacingOccurrences(of: "\"beta\": 1", with: "\"beta\": -1") }),
            ("params.json not JSON", "params.json", edit("params.json") { $0 = "{" }),
            ("states file missing", states, remove(states)),
            ("states file NaN", "not finite", patch(states, at: 128, double(.nan))),
            ("states file wrong shape", states, truncate(states, to: 128 + 8)),
            ("record array missing", "accept_prob.npy", remove("accept_prob.npy")),
            ("record array short", "log_det.npy", truncate("log_det.npy", to: 128 + 11 * 3 * 8)),
            ("record header dtype", "q_int.npy", patch("q_int.npy", at: 21, Array("<f4".utf8))),
            ("sampler code 7", "sampler code 7", patch("sampler.npy", at: 130, [7])),
            ("accepted byte 2", "accepted.npy", patch("accepted.npy", at: 128 + 4, [2])),
            ("accept probability 1.5", "probability", patch("accept_prob.npy", at: 128 + 8, double(1.5))),
            ("charge not an integer", "integer charge", patch("q_int.npy", at: 128, double(0.5))),
            ("plaquette out of range", "plaquette", patch("plaquette.npy", at: 128 + 16, double(3))),
            ("csv missing", "observables.csv", remove("observables.csv")),
        ]
        for (i, damage) in cases.enumerated() {
            let (path, _, _) = try makeRun("case\(i)")
            try damage.apply(path)
            let before = try snapshot(path)
            XCTAssertThrowsError(try RunOutput.reopen(path, limits: limits), damage.name) { error in
                let text = "\(error)"
                XCTAssertTrue(text.hasPrefix("[io.") || text.hasPrefix("[container.") || text.hasPrefix("[npy"), "\(damage.name): not coded: \(text)")
                XCTAssertTrue(text.contains(damage.expect), "\(damage.name): \(text)")
                XCTAssertFalse(text.contains("\n"), "\(damage.name): one line")
            }
            XCTAssertEqual(try snapshot(path), before, "\(damage.name): a refused resume changed the directory")
        }
    }

    private func snapshot(_ path: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: "\(path)/\(name)"))
        }
        return out
    }
}
