import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// The stationarity diagnostic: half-to-half drift, frozen charges, and the run verdict.
final class StationarityTests: XCTestCase {

    func testHalfDriftSplitsAndScales() throws {
        // N = 5: halves of 2 and 3 samples. Eight constant-halves chains: both errors 0.
        let step = [[Double]](repeating: [1, 1, 2, 2, 2], count: 8)
        let d = try XCTUnwrap(HalfDrift.measure(chains: step))
        XCTAssertEqual(d.first.samples, 2)
        XCTAssertEqual(d.second.samples, 3)
        XCTAssertEqual(d.first.mean, 1)
        XCTAssertEqual(d.second.mean, 2)
        XCTAssertEqual(d.z, .infinity)
        XCTAssertEqual(HalfDrift.measure(chains: [[Double]](repeating: [3, 3, 3, 3], count: 2))?.z, 0)
        XCTAssertNil(HalfDrift.measure(chains: [[1, 2, 3]]))
        XCTAssertNil(HalfDrift.measure(chains: []))

        // z = (m2 - m1) / sqrt(e1^2 + e2^2) with errors 3 and 4.
        func estimate(_ mean: Double, _ error: Double) -> MeanEstimate {
            MeanEstimate(mean: mean, error: error, tauInt: 1, window: 1, converged: true, samples: 10, chains: 1, variance: 1)
        }
        XCTAssertEqual(HalfDrift(first: estimate(1, 3), second: estimate(11, 4)).z, 2, accuracy: 1e-15)
        XCTAssertEqual(HalfDrift(first: estimate(1, 0), second: estimate(0, 0)).z, -.infinity)
    }

    func testFrozenChargeCountsChainsWithOneRoundedCharge() {
        let charges: [[Double]] = [
            [1, 1.0000001, 0.9999999],   // frozen at 1 (rounding noise only)
            [0, 0, 1],                    // changed
            [-2, -2],                     // frozen
            [0.4, -0.4],                  // both round to 0: frozen
            [2, .nan],                    // not known constant: not frozen
            [],                           // not counted
        ]
        let f = FrozenCharge.measure(charges: charges)
        XCTAssertEqual(f.frozenChains, 3)
        XCTAssertEqual(f.chains, 5)
        XCTAssertEqual(f.fraction, 0.6)
        XCTAssertEqual(FrozenCharge.measure(charges: []).fraction, 0)
    }

    func testVerdictFollowsTheThresholds() {
        func drift(_ name: String, z: Double) -> Equilibration.Drift {
            // first mean 0 error 1, second mean z error 0 -> exactly z.
            let a = MeanEstimate(mean: 0, error: 1, tauInt: 1, window: 1, converged: true, samples: 4, chains: 8, variance: 1)
            let b = MeanEstimate(mean: z, error: 0, tauInt: 1, window: 1, converged: true, samples: 4, chains: 8, variance: 1)
            return Equilibration.Drift(name: name, drift: HalfDrift(first: a, second: b))
        }
        let calm = Equilibration(drifts: [drift("plaquette", z: 3.9), drift("Q^2", z: -4)], frozenCharge: FrozenCharge(frozenChains: 4, chains: 8))
        XCTAssertEqual(calm.verdict, .equilibrated, "|z| = 4 and exactly half frozen are not beyond the thresholds")
        XCTAssertEqual(calm.largestDrift?.name, "Q^2")
        let drifting = Equilibration(drifts: [drift("plaquette", z: 1), drift("Q^2", z: -4.01)], frozenCharge: nil)
        XCTAssertEqual(drifting.verdict, .notEquilibrated)
        XCTAssertEqual(drifting.significantDrifts.map(\.name), ["Q^2"])
        XCTAssertTrue(drifting.evidence[0].hasPrefix("Q^2 drifts"), drifting.evidence[0])
        XCTAssertTrue(drifting.evidence[0].contains("z = -4.01"), drifting.evidence[0])
        let frozen = Equilibration(drifts: [drift("plaquette", z: 0)], frozenCharge: FrozenCharge(frozenChains: 5, chains: 8))
        XCTAssertEqual(frozen.verdict, .notEquilibrated)
        XCTAssertEqual(frozen.evidence, ["largest drift between the halves plaquette z = +0.00 (threshold 4)",
                                         "5 of 8 chains (62%) never changed Q (threshold: more than 50%)"])
        XCTAssertEqual(calm.evidence, ["largest drift between the halves Q^2 z = -4.00 (threshold 4)", "4 of 8 chains (50%) never changed Q"])
        XCTAssertEqual(drifting.evidence.count, 1, "one significant drift, no charge")
        XCTAssertEqual(Equilibration(drifts: [], frozenCharge: nil).verdict, .notAssessed)
    }
}

/// The verdict on real runs of plain HMC (RunEngine directly, fixed seeds, well under a second
/// each in a debug build).
final class RunEquilibrationTests: XCTestCase {
    private func summary(side: Int, beta: Double, chains: Int, trajectories: Int, eps: Double, steps: Int,
                         hotStart: Bool = true, thermalization: Double = 0.25) throws -> RunSummary {
        let target = U1Action(lattice: U1Lattice(lt: side, lx: side, beta: beta))
        var settings = RunSettings(chains: chains, trajectories: trajectories, seed: 11, schedule: .hmcOnly, hmcStepSize: eps, hmcSteps: steps)
        settings.hotStart = hotStart
        let engine = try RunEngine(settings: settings, target: target, model: nil)
        try engine.run()
        return RunSummary(record: engine.record, target: target, thermalization: thermalization)
    }

    /// Plain HMC at beta 6 on 8x8 from a hot start, 100 trajectories, the default 25 % cut: the
    /// charges freeze during the relaxation (HMC tunnels about once per 1000 trajectories and
    /// chain here), so almost every chain keeps its starting Q: measured 15 of 16 frozen, far
    /// above the threshold of 8; `<Q^2>` is 1.34 against the exact 0.28.
    func testHotStartAtBeta6IsNotEquilibrated() throws {
        let s = try summary(side: 8, beta: 6, chains: 16, trajectories: 100, eps: 0.1, steps: 10)
        let e = try XCTUnwrap(s.equilibration)
        XCTAssertEqual(e.verdict, .notEquilibrated)
        XCTAssertTrue(e.topologyFrozen)
        XCTAssertGreaterThanOrEqual(e.frozenCharge?.frozenChains ?? 0, 12)
        let text = RunReport.text(s)
        XCTAssertTrue(text.contains("verdict     not equilibrated: "), text)
        XCTAssertTrue(text.contains("of 16 chains") && text.contains("never changed Q"), text)

        guard case let .object(json) = RunReport.json(s), case let .object(eq)? = json["equilibration"] else { return XCTFail("no equilibration in JSON") }
        XCTAssertEqual(eq["verdict"], .string("not equilibrated"))
        XCTAssertEqual(eq["equilibrated"], .bool(false))
        XCTAssertEqual(eq["topology_frozen"], .bool(true))
        XCTAssertEqual(eq["frozen_chains"], .int(Int64(e.frozenCharge?.frozenChains ?? -1)))
        guard case let .array(drifts)? = eq["drifts"] else { return XCTFail("no drifts") }
        XCTAssertEqual(drifts.count, 4, "plaquette, Q^2, Q, Q_sin^2")
    }

    /// The same physics with nothing dropped and 64 chains: the plaquette's relaxation from the
    /// hot start (0.84 in the first half, 0.90 in the second) is a drift of z = +11.4, almost
    /// three times the threshold.
    func testRelaxationFromAHotStartIsADrift() throws {
        let s = try summary(side: 8, beta: 6, chains: 64, trajectories: 60, eps: 0.1, steps: 10, thermalization: 0)
        let e = try XCTUnwrap(s.equilibration)
        XCTAssertEqual(e.verdict, .notEquilibrated)
        XCTAssertEqual(e.significantDrifts.first?.name, "plaquette")
        XCTAssertGreaterThan(e.significantDrifts.first?.drift.z ?? 0, 8)
        XCTAssertTrue(RunReport.text(s).contains("verdict     not equilibrated: plaquette drifts"), RunReport.text(s))
        guard case let .object(json) = RunReport.json(s), case let .object(eq)? = json["equilibration"] else { return XCTFail("no equilibration in JSON") }
        XCTAssertEqual(eq["significant_drifts"], .array([.string("plaquette")]))
    }

    /// Plain HMC at beta 1 on 4x4 (the exact tests' setting): tunneling about 0.8 per trajectory,
    /// so no chain keeps one Q over 150 trajectories (measured 0 of 32; threshold 16), and the
    /// largest half-to-half drift is |z| = 2.06 (threshold 4; under stationarity |z| > 4 has
    /// probability below 1e-3 for four observables, and the seed is fixed).
    func testEasyRunIsEquilibrated() throws {
        let s = try summary(side: 4, beta: 1, chains: 32, trajectories: 200, eps: 0.25, steps: 8)
        let e = try XCTUnwrap(s.equilibration)
        XCTAssertEqual(e.verdict, .equilibrated, e.evidence.joined(separator: "; "))
        XCTAssertEqual(e.frozenCharge?.frozenChains, 0)
        XCTAssertLessThan(abs(e.largestDrift?.drift.z ?? .infinity), 3)
        XCTAssertTrue(RunReport.text(s).contains("verdict     equilibrated: largest drift"), RunReport.text(s))
        guard case let .object(json) = RunReport.json(s), case let .object(eq)? = json["equilibration"] else { return XCTFail("no equilibration in JSON") }
        XCTAssertEqual(eq["equilibrated"], .bool(true))
    }
}
