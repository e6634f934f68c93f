import Foundation
import XCTest
import ModelFormat
import Inference

/// Fixed-seed trajectory logs compared with committed golden files (Tests/GoldenTests/Goldens).
/// Per trajectory and chain: sampler, H before, H after, log-det, acceptance probability, and
/// plaquette and Q (U(1)) or the position (mixtures).
///
/// Tolerance: 1e-8 relative (to max(1, |value|)). The goldens are float64 results of the same
/// algorithm; a different compiler, libm or BLAS build changes them by rounding (1e-16), which
/// the chaotic molecular dynamics amplifies by at most ~1e5 over these few trajectories, so 1e-8
/// passes any faithful build and fails any change of the algorithm, its conventions or its
/// random streams (which move these values by O(1)).
///
/// `RECORD_GOLDENS=1 swift test --filter TrajectoryLogGoldenTests` rewrites the files and fails
/// the run on purpose, so a re-record is never silent; commit the new files after checking why
/// they changed.
final class TrajectoryLogGoldenTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens")
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures")
    static let format = "l2hmc-golden-trajectories"
    static let version = 1
    static let tolerance = 1e-8

    func testHMCOnU1() throws {
        let settings = RunSettings(chains: 4, trajectories: 12, seed: 3, schedule: .hmcOnly, hmcStepSize: 0.2, hmcSteps: 8)
        try check("hmc-u1-4x4-beta2", settings: settings, target: .u1(U1Lattice(lt: 4, lx: 4, beta: 2)), model: nil)
    }

    func testShippedU1ModelWithMixedSchedule() throws {
        let model = try L2ZReader.read(path: Self.fixtures.appendingPathComponent("default.l2z").path).model
        let settings = RunSettings(chains: 4, trajectories: 9, seed: 5, schedule: try Schedule(parsing: "l2hmc:2,hmc:1"), hmcStepSize: 0.15, hmcSteps: 5)
        try check("l2hmc-default-model", settings: settings, target: model.sampler.target, model: model)
    }

    func testShippedMixtureModel() throws {
        let model = try L2ZReader.read(path: Self.fixtures.appendingPathComponent("gmm2-random.l2z").path).model
        let settings = RunSettings(chains: 4, trajectories: 10, seed: 7, schedule: .l2hmcOnly, hmcStepSize: 0.1, hmcSteps: 5)
        try check("l2hmc-gmm2-model", settings: settings, target: model.sampler.target, model: model)
    }

    private func rows(settings: RunSettings, target: Target, model: L2ZModel?) throws -> [[JSONValue]] {
        let engine = try RunEngine(settings: settings, target: makeTarget(target), model: model)
        try engine.run()
        let r = engine.record
        var out: [[JSONValue]] = []
        for t in 0..<r.count {
            for c in 0..<settings.chains {
                var row: [JSONValue] = [.int(Int64(t)), .int(Int64(c)), .string(r.sampler[t].rawValue),
                                        .double(r.energyBefore[t][c]), .double(r.energyBefore[t][c] + r.energyChange[t][c]),
                                        .double(r.logDet[t][c]), .double(r.acceptProbability[t][c])]
                if let p = r.observables["plaquette"], let q = r.observables["q_int"] { row += [.double(p[t][c]), .double(q[t][c])] }
                if let x = r.observables["position"] {
                    let d = x[t].count / settings.chains
                    row += x[t][(c * d)..<((c + 1) * d)].map { .double($0) }
                }
                out.append(row)
            }
        }
        return out
    }

    private func check(_ name: String, settings: RunSettings, target: Target, model: L2ZModel?, file: StaticString = #filePath, line: UInt = #line) throws {
        let actual = try rows(settings: settings, target: target, model: model)
        let url = Self.directory.appendingPathComponent(name + ".json")
        if ProcessInfo.processInfo.environment["RECORD_GOLDENS"] == "1" {
            let columns = ["trajectory", "chain", "sampler", "H_before", "H_after", "log_det", "acceptance"]
                + (target.isCompact ? ["plaquette", "Q"] : (0..<target.stateSize).map { "x\($0)" })
            let document: JSONValue = .object([
                "format": .string(Self.format), "version": .int(Int64(Self.version)),
                "regenerate": .string("RECORD_GOLDENS=1 swift test --filter TrajectoryLogGoldenTests (fails on purpose; review and commit)"),
                "run": .string("chains \(settings.chains), trajectories \(settings.trajectories), seed \(settings.seed), schedule \(settings.schedule), hmc eps \(settings.hmcStepSize) x \(settings.hmcSteps)"),
                "columns": .array(columns.map { .string($0) }),
                "rows": .array(actual.map { .array($0) }),
            ])
            try FileManager.default.createDirectory(at: Self.directory, withIntermediateDirectories: true)
            try Data(try CanonicalJSONWriter.encode(document)).write(to: url)
            XCTFail("RECORD_GOLDENS=1: rewrote \(url.lastPathComponent); review the change, commit it and run again without RECORD_GOLDENS", file: file, line: line)
            return
        }
        guard case let .object(doc) = try StrictJSONParser.parse(Array(try Data(contentsOf: url))),
              doc["format"] == .string(Self.format), doc["version"] == .int(Int64(Self.version)), case let .array(expectedRows)? = doc["rows"] else {
            return XCTFail("\(url.lastPathComponent) is not a version-\(Self.version) golden file; regenerate with RECORD_GOLDENS=1", file: file, line: line)
        }
        XCTAssertEqual(expectedRows.count, actual.count, "\(name): row count", file: file, line: line)
        let columns: [String]
        if case let .array(c)? = doc["columns"] { columns = c.compactMap { if case let .string(s) = $0 { return s }; return nil } } else { columns = [] }
        var worst = 0.0, firstFailure: String?
        for (i, (e, a)) in zip(expectedRows, actual).enumerated() {
            guard case let .array(expected) = e, expected.count == a.count else { return XCTFail("\(name): row \(i) has a different shape", file: file, line: line) }
            for (j, (ev, av)) in zip(expected, a).enumerated() {
                switch (ev, av) {
                case let (.double(x), .double(y)):
                    let d = abs(x - y) / max(1, abs(x))
                    worst = max(worst, d)
                    if d > Self.tolerance && firstFailure == nil {
                        firstFailure = "row \(i) (trajectory \(a[0]), chain \(a[1])) column \(j < columns.count ? columns[j] : "\(j)"): golden \(x), now \(y)"
                    }
                case let (.int(x), .double(y)) where Double(x) == y: break
                default:
                    if ev != av && firstFailure == nil { firstFailure = "row \(i) column \(j): golden \(ev), now \(av)" }
                }
            }
        }
        if let f = firstFailure {
            XCTFail("\(name): max relative difference \(worst) exceeds \(Self.tolerance); first: \(f)", file: file, line: line)
        }
    }
}
