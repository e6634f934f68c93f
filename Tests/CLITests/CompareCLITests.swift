import Foundation
import ModelFormat
import XCTest

/// `l2hmc-run compare` end to end on a 4x4 random model with a tiny budget (about a second per
/// run on the debug build): the JSON's structure, counted force evaluations against N_LF + 1,
/// determinism by seed whatever the thread count, the report page, and coded errors.
final class CompareCLITests: XCTestCase {
    private var dir: URL!
    private var model: String { dir.appendingPathComponent("m.l2z").path }

    override func setUpWithError() throws {
        dir = try CLI.temporaryDirectory()
        let made = try CLI.run("l2hmc-convert", ["init-random", "--target", "u1", "--lattice", "4x4", "--nlf", "2", "--units", "8",
                                                 "--eps", "0.1", "--seed", "3", "--out", model])
        XCTAssertEqual(made.status, 0, made.stderr)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// 64 chains: two HMC tiles of 32, so --threads 2 really splits the work.
    private func compare(_ json: String, _ extra: [String] = []) throws -> CLI.Result {
        try CLI.run("l2hmc-run", ["compare", model, "--chains", "64", "--trajectories", "40", "--hmc-eps", "0.1,0.2", "--hmc-length", "0.5,1",
                                  "--json", dir.appendingPathComponent(json).path] + extra)
    }

    private func load(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: dir.appendingPathComponent(name))
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The JSON without what depends on the clock: keys naming CPU time or seconds, the thread
    /// count, and the verdict lines (they quote the per-CPU-second gain).
    private func deterministicPart(_ value: Any) -> Any {
        if let o = value as? [String: Any] {
            var out: [String: Any] = [:]
            for (k, v) in o where !k.contains("cpu") && !k.contains("seconds") && k != "threads" && k != "verdict" { out[k] = deterministicPart(v) }
            return out
        }
        if let a = value as? [Any] { return a.map(deterministicPart) }
        return value
    }

    func testJSONStructureAndCountedForces() throws {
        let r = try compare("a.json", ["--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("verdict"), r.stdout)
        XCTAssertTrue(r.stderr.contains("compare     6/6 networks off"), r.stderr)
        let j = try load("a.json")
        XCTAssertEqual(j["kind"] as? String, "l2hmc-run compare")
        let rows = try XCTUnwrap(j["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["kind"] as? String }, ["hmc", "hmc", "hmc", "hmc", "model", "networks_off"])
        // Grid: eps 0.1 x {0.5, 1} -> N_LF 5, 10; eps 0.2 -> round(2.5) = 3 and 5.
        XCTAssertEqual(rows.prefix(4).map { $0["n_lf"] as? Int }, [5, 10, 3, 5])
        // Leapfrog: the force at the start and after every drift, N_LF + 1; L2HMC (N_LF 2): the
        // first v update and one per step after the x updates, also N_LF + 1 = 3.
        XCTAssertEqual(rows.map { $0["forces_per_trajectory"] as? Double }, [6, 11, 4, 6, 3, 3])
        for row in rows {
            for key in ["acceptance", "tunneling_rate", "tau_int_q", "tau_int_q_error", "window_converged", "usable", "cost", "cpu_seconds_per_trajectory", "label"] {
                XCTAssertNotNil(row[key], key)
            }
            let a = try XCTUnwrap(row["acceptance"] as? Double)
            XCTAssertTrue(a >= 0 && a <= 1)
        }
        let target = try XCTUnwrap(j["target"] as? [String: Any])
        XCTAssertEqual(target["lattice"] as? [Int], [4, 4])
        XCTAssertNotNil(j["best_hmc"] as? [String: Any])
        XCTAssertNotNil(j["gains"] as? [String: Any])
        let verdict = try XCTUnwrap(j["verdict"] as? [String: Any])
        XCTAssertTrue((verdict["model"] as? String)?.hasPrefix("the model") == true)

        // The report page renders it; an existing --json file is refused before any work.
        let page = try CLI.run("l2hmc-run", ["report", dir.appendingPathComponent("a.json").path])
        XCTAssertEqual(page.status, 0, page.stderr)
        let html = try String(contentsOf: dir.appendingPathComponent("a.html"), encoding: .utf8)
        for text in ["l2hmc-run compare report", "Against the best HMC", "networks off", "tau_int(Q) per HMC setting"] { XCTAssertTrue(html.contains(text), text) }
        let again = try compare("a.json")
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.hasPrefix("error: [io.output_exists]"), again.stderr)
        XCTAssertFalse(again.stderr.contains("compare     1/"), "refused before running")
        XCTAssertEqual(try compare("a.json", ["--force"]).status, 0)
    }

    func testSameSeedSameNumbersWhateverTheThreads() throws {
        XCTAssertEqual(try compare("t1.json", ["--threads", "1"]).status, 0)
        XCTAssertEqual(try compare("t2.json", ["--threads", "2"]).status, 0)
        XCTAssertEqual(try compare("s2.json", ["--threads", "2", "--seed", "2"]).status, 0)
        let one = deterministicPart(try load("t1.json")) as? NSDictionary, two = deterministicPart(try load("t2.json")) as? NSDictionary
        XCTAssertNotNil(one)
        XCTAssertEqual(one, two)
        // The comparison can fail: another seed gives other numbers.
        XCTAssertNotEqual(one, deterministicPart(try load("s2.json")) as? NSDictionary)
    }

    /// A local model (built for 4x4) compared at 6x6, as `l2hmc-run --lattice` runs it.
    func testLocalModelComparesAtAnotherLattice() throws {
        let spec = SamplerSpec(target: .u1(U1Lattice(lt: 4, lx: 4, beta: 2)), dynamics: Dynamics(nLF: 2, xUpdate: .ncp),
                               network: .local(LocalNetworkSpec(kernelSize: 3), layout: .shared, timeInput: true, channels: [4, 4]))
        let local = dir.appendingPathComponent("local.l2z").path
        try L2ZWriter.write(try RandomModel.make(sampler: spec, seed: 5, epsX: 0.2, epsV: 0.2, weightScale: 0.3), to: local)
        let json = dir.appendingPathComponent("local.json").path
        let r = try CLI.run("l2hmc-run", ["compare", local, "--lattice", "6x6", "--chains", "8", "--trajectories", "20", "--hmc-eps", "0.2",
                                          "--hmc-length", "1", "--json", json, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("U(1) 6x6"), r.stdout)
        let j = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        XCTAssertEqual((j["target"] as? [String: Any])?["lattice"] as? [Int], [6, 6])
        let rows = try XCTUnwrap(j["rows"] as? [[String: Any]])
        // HMC: eps 0.2 x 5 steps, 6 forces; the local model (N_LF 2) counted through the wrapper,
        // N_LF + 1 = 3 as for the dense one.
        XCTAssertEqual(rows.map { $0["forces_per_trajectory"] as? Double }, [6, 3, 3])
        // --cold-start reaches every run: the settings say so and the measured rows change.
        let coldJSON = dir.appendingPathComponent("cold.json").path
        let c = try CLI.run("l2hmc-run", ["compare", local, "--lattice", "6x6", "--chains", "8", "--trajectories", "20", "--hmc-eps", "0.2",
                                          "--hmc-length", "1", "--cold-start", "--json", coldJSON, "-q"])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("cold start"), c.stdout)
        let cj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: coldJSON))) as? [String: Any])
        XCTAssertEqual((cj["settings"] as? [String: Any])?["cold_start"] as? Bool, true)
        XCTAssertEqual((j["settings"] as? [String: Any])?["cold_start"] as? Bool, false)
        let coldRows = try XCTUnwrap(cj["rows"] as? [[String: Any]])
        for (hot, cold) in zip(rows, coldRows) {
            XCTAssertNotEqual(hot["acceptance"] as? Double, cold["acceptance"] as? Double, "\(hot["label"] ?? "")")
        }
    }

    func testBadInputIsACodedError() throws {
        let cases: [([String], Int32, String)] = [
            (["--hmc-eps", "0.1,x"], 64, "[compare.invalid_option]"),
            (["--hmc-length", "0,1"], 64, "[compare.invalid_option]"),
            (["--trajectories", "3"], 64, "[compare.invalid_option]"),
            (["--thermalization", "1"], 64, "[compare.invalid_option]"),
            (["--lattice", "8x8"], 64, "[run.model_target_mismatch]"),
            (["--beta", "-1"], 64, "[usage]"),
            (["--threads", "0"], 64, "[usage]"),
            (["--force"], 64, "[usage]"),
        ]
        for (args, status, code) in cases {
            let r = try CLI.run("l2hmc-run", ["compare", model, "--trajectories", "20"] + args)
            XCTAssertEqual(r.status, status, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: \(code)"), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args)")
        }
        let gmm = try CLI.run("l2hmc-run", ["compare", CLI.repositoryRoot.appendingPathComponent("fixtures/gmm2-random.l2z").path, "--trajectories", "20"])
        XCTAssertEqual(gmm.status, 64, gmm.stderr)
        XCTAssertTrue(gmm.stderr.hasPrefix("error: [compare.unsupported_target]"), gmm.stderr)
        let missing = try CLI.run("l2hmc-run", ["compare", dir.appendingPathComponent("none.l2z").path])
        XCTAssertEqual(missing.status, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.hasPrefix("error: ["), missing.stderr)
        // A JSON that is not a compare report is not rendered as one.
        let other = dir.appendingPathComponent("x.json")
        try Data("{\"kind\": \"something else\", \"rows\": []}".utf8).write(to: other)
        let r = try CLI.run("l2hmc-run", ["report", other.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("error: [report.not_a_report]"), r.stderr)
        // --force never replaces a file compare did not write.
        let foreign = dir.appendingPathComponent("f.json")
        try Data("{}".utf8).write(to: foreign)
        let f = try compare("f.json", ["--force"])
        XCTAssertEqual(f.status, 64, f.stderr)
        XCTAssertEqual(try String(contentsOf: foreign, encoding: .utf8), "{}")
    }
}
