import Foundation
import XCTest

/// The flow samplers of `l2hmc-run` reproduce the exact finite-volume plaquette and <Q^2>
/// (U1Exact, an independent path) within 3 error bars: FT-HMC at the trained lattice and at
/// twice its size in each direction (volume transfer), the independence sampler, and FT-HMC
/// mixed with plain HMC. The flow has random weights twice PyTorch's default range (a
/// non-trivial bijection: FT-HMC's correctness does not need a trained flow); `init-random`
/// writes it. Bounded CI tier (debug build, about 35 s); the errors are the run's honest ones
/// and the runs deterministic by seed, so the 3-sigma checks are not flaky.
final class FlowPhysicsCLITests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func flowModel() throws -> String {
        let path = dir.appendingPathComponent("flow.l2z").path
        let r = try CLI.run("l2hmc-convert", ["init-random", "--flow-layers", "4", "--lattice", "4x4", "--hidden-units", "4", "--beta", "1",
                                              "--eps", "0.15", "--nlf", "6", "--weight-scale", "2", "-o", path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return path
    }

    private func run(_ args: [String], label: String) throws -> [String: Any] {
        let out = dir.appendingPathComponent(label).path
        let r = try CLI.run("l2hmc-run", args + ["--seed", "5", "--out", out, "-q"])
        XCTAssertEqual(r.status, 0, "\(label): \(r.stderr)")
        return try Self.exactSummary(out, label: label)
    }

    /// The run directory's summary.json, after asserting that its plaquette and <Q^2> lie within
    /// 3 error bars of their exact values (printed for the log).
    static func exactSummary(_ out: String, label: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(out)/summary.json"))
        let s = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let quantities = try XCTUnwrap(s["quantities"] as? [[String: Any]])
        for name in ["plaquette", "Q^2"] {
            let q = try XCTUnwrap(quantities.first { $0["name"] as? String == name }, "\(label) \(name)", file: file, line: line)
            XCTAssertLessThanOrEqual(abs(try XCTUnwrap(q["z"] as? Double)), 3, "\(label) \(name): \(q)", file: file, line: line)
        }
        print("flow physics \(label): acceptance \(s["acceptance"] ?? ""), ESS \(s["flow_ess"] ?? "-"), " +
              quantities.prefix(2).map { "\($0["name"] ?? "") z \($0["z"] ?? "")" }.joined(separator: ", "))
        return s
    }

    func testExactPhysicsOfEveryFlowSampler() throws {
        let model = try flowModel()
        let base = ["--model", model, "--chains", "16", "--trajectories", "300"]
        for (label, extra) in [("fthmc", ["--check-reversibility"]), ("fthmc-8x8", ["--lattice", "8x8", "--trajectories", "200", "--check-reversibility"]),
                               ("mixed", ["--schedule", "fthmc:1,hmc:1", "--hmc-eps", "0.2", "--hmc-nlf", "5"])] {
            let s = try run(base + extra, label: label)
            if let rev = s["reversibility"] as? [String: Any] {
                for key in ["max_dx", "max_dv", "max_logdet_sum"] { XCTAssertLessThanOrEqual(try XCTUnwrap(rev[key] as? Double), 1e-12, "\(label) \(key)") }
            } else {
                XCTAssertFalse(extra.contains("--check-reversibility"), "\(label): no reversibility in the summary")
            }
            XCTAssertGreaterThan((s["acceptance"] as? [String: Double])?["fthmc"] ?? 0, 0.3, label)
        }
        // Independence Metropolis: at beta 0.5 the random flow is a usable proposal (acceptance ~0.2).
        let s = try run(["--model", model, "--sampler", "flow", "--beta", "0.5", "--chains", "32", "--trajectories", "600"], label: "flow")
        XCTAssertGreaterThan((s["acceptance"] as? [String: Double])?["flow"] ?? 0, 0.1)
        // At twice the size in each direction the random flow's ESS is 0.008 and the independence
        // sampler alone mixes too slowly for a bounded run; mixed with HMC it must still keep the
        // exact distribution (it accepts about 1 %: some 18 accepted proposals in this run).
        let m = try run(["--model", model, "--schedule", "flow:1,hmc:1", "--hmc-eps", "0.3", "--hmc-nlf", "5", "--lattice", "8x8", "--beta", "0.5",
                         "--chains", "16", "--trajectories", "300"], label: "flow-8x8-mixed")
        XCTAssertGreaterThan((m["acceptance"] as? [String: Double])?["flow"] ?? 0, 0.003)
    }

    func testFlowOptionsAreCheckedWithTheirCodes() throws {
        let model = try flowModel()
        let cases: [([String], Int32, String)] = [
            (["--model", model, "--sampler", "l2hmc"], 64, "is a flow model: run it with --sampler fthmc"),
            (["--sampler", "fthmc"], 64, "needs a flow model: --model FLOW.l2z"),
            (["--model", "fixtures/default.l2z", "--sampler", "fthmc"], 64, "need a flow model"),
            (["--model", model, "--lowrank", "2"], 64, "--lowrank applies to L2HMC models"),
            (["--model", model, "--lattice", "6x8"], 64, "multiples of 4"),
            (["--model", model, "--schedule", "flow:1,hmc:1", "--nlf", "3"], 64, "no fthmc trajectories"),
            (["--model", model, "--eps=-1"], 64, "FT-HMC step size must be > 0"),
        ]
        for (args, status, text) in cases {
            let r = try CLI.run("l2hmc-run", args + ["--chains", "2", "--trajectories", "2", "-q"])
            XCTAssertEqual(r.status, status, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(text), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count, 1, "one coded error line: \(r.stderr)")
        }
    }
}

extension FlowPhysicsCLITests {
    /// crossval of a flow: every deterministic check passes with its documented bound, and the
    /// statistics runs of HMC, FT-HMC and the independence sampler are run.
    func testCrossvalOfAFlow() throws {
        let model = try flowModel()
        let report = dir.appendingPathComponent("cv.json").path
        let r = try CLI.run("l2hmc-run", ["crossval", model, "--chains", "16", "--trajectories", "150", "--report", report])
        XCTAssertTrue(r.status == 0 || r.status == 1, r.stderr)
        for check in ["probe", "recomputation", "inverse", "log-det", "force", "reversibility"] {
            let line = r.stdout.split(separator: "\n").first { $0.hasPrefix(check + " ") }
            XCTAssertTrue(line?.contains(" pass ") == true, "\(check): \(line ?? "missing")\n\(r.stdout)")
        }
        for run in ["exactness: HMC", "exactness: fthmc", "exactness: flow (independence)"] {
            XCTAssertTrue(r.stdout.contains(run), "\(run) missing: \(r.stdout)")
        }
    }
}

extension FlowPhysicsCLITests {
    /// compare of a flow: the HMC grid and one FT-HMC row (no networks-off row), forces counted
    /// (N_LF + 1 Wilson forces per FT-HMC trajectory), the header naming FT-HMC in z.
    func testCompareOfAFlow() throws {
        let model = try flowModel()
        let json = dir.appendingPathComponent("compare.json").path
        let r = try CLI.run("l2hmc-run", ["compare", model, "--chains", "4", "--trajectories", "20", "--hmc-eps", "0.2", "--hmc-length", "0.6",
                                          "--threads", "1", "--json", json, "-q"])
        XCTAssertTrue(r.status == 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("(FT-HMC in z: N_LF 6, eps 0.15, length 0.9)"), r.stdout)
        let data = try Data(contentsOf: URL(fileURLWithPath: json))
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let rows = try XCTUnwrap(o["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["kind"] as? String }, ["hmc", "model"], "one HMC setting, the flow, no networks-off row")
        let flowRow = try XCTUnwrap(rows.last)
        XCTAssertEqual(try XCTUnwrap(flowRow["forces_per_trajectory"] as? Double), 7, accuracy: 1e-12, "N_LF + 1 S~ forces, each one Wilson force")
    }
}
