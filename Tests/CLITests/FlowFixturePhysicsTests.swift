import Foundation
import XCTest

/// The shipped flow (`fixtures/flow-8x8.l2z`: 16 coupling layers, SiLU, trained by reverse KL on
/// 8x8 at beta 2) reproduces its probe and samples the exact finite-volume plaquette and <Q^2>
/// (U1Exact, an independent path) within 3 error bars: independence Metropolis and FT-HMC at
/// its trained lattice, and FT-HMC mixed with HMC at 16x16 (volume transfer, four times the
/// volume). Bounded CI tier on the debug build; longer runs for humans in docs/RUNTIME.md
/// ("Flow models"). The errors are the run's honest ones and the runs deterministic by seed.
final class FlowFixturePhysicsTests: XCTestCase {
    static let model = "fixtures/flow-8x8.l2z"
    private var dir: URL!
    override func setUpWithError() throws { dir = try CLI.temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func run(_ args: [String], label: String) throws -> [String: Any] {
        let out = dir.appendingPathComponent(label).path
        let r = try CLI.run("l2hmc-run", ["--model", Self.model] + args + ["--seed", "3", "--out", out, "-q"])
        XCTAssertEqual(r.status, 0, "\(label): \(r.stderr)")
        XCTAssertTrue(r.stdout.contains("probe reproduced"), r.stdout)
        return try FlowPhysicsCLITests.exactSummary(out, label: label)
    }

    func testIndependenceSamplerAtTheTrainedLattice() throws {
        let s = try run(["--sampler", "flow", "--chains", "8", "--trajectories", "200"], label: "flow-8x8")
        XCTAssertGreaterThan((s["acceptance"] as? [String: Double])?["flow"] ?? 0, 0.1, "a trained flow is a usable proposal")
        let ess = try XCTUnwrap((s["flow_ess"] as? [String: Any])?["per_sample"] as? Double)
        XCTAssertGreaterThan(ess, 0.05, "the trained flow's ESS at 8x8")
    }

    func testFieldTransformedHMCAtTheTrainedLatticeAndAtFourTimesTheVolume() throws {
        let s8 = try run(["--chains", "4", "--trajectories", "80", "--hmc-start", "20", "--hmc-eps", "0.2", "--hmc-nlf", "10",
                          "--eps", "0.02", "--nlf", "10", "--check-reversibility"], label: "fthmc-8x8")
        // Forward then backward of a 10-step FT-HMC trajectory (each step a 16-layer flow, its
        // reverse pass and, around the trajectory, a Newton-solved inverse): rounding only, 7e-14
        // measured here (2e-12 with 25 steps); the audit's bound 1e-10 (AuditTolerances.reversibility).
        let rev = try XCTUnwrap(s8["reversibility"] as? [String: Any])
        for key in ["max_dx", "max_dv", "max_logdet_sum"] { XCTAssertLessThan(try XCTUnwrap(rev[key] as? Double), 1e-10, key) }
        // 16x16: 200 cheap HMC trajectories thermalize (--hmc-start counts in --trajectories and
        // --thermalization drops them), then 40 of the mixed schedule (a bounded run;
        // docs/RUNTIME.md has 200 FT-HMC trajectories x 16 chains there: plaquette z -0.96,
        // <Q^2> z +1.09).
        let s16 = try run(["--lattice", "16x16", "--chains", "4", "--trajectories", "240", "--thermalization", "0.84", "--schedule", "fthmc:1,hmc:1",
                           "--hmc-start", "200", "--hmc-eps", "0.2", "--hmc-nlf", "10", "--eps", "0.02", "--nlf", "8"], label: "mixed-16x16")
        XCTAssertGreaterThan((s16["acceptance"] as? [String: Double])?["fthmc"] ?? 0, 0.2, "FT-HMC trajectories ran at 16x16")
    }
}
