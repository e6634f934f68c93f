import Foundation
import XCTest
@testable import Audit
import Inference
import ModelFormat

/// `compare`'s arithmetic against hand-computed values: the gain and its error, the outcome at
/// two standard errors, the best-HMC selection, the tau_int error, and the HMC grid.
final class ComparisonTests: XCTestCase {
    // MARK: CostGain

    func testGainAndErrorMatchHandComputedValues() {
        // Reference 100 +- 10 at 11 forces, candidate 50 +- 5 at 6 forces:
        // g = 1100 / 300 = 11/3; first order 11/3 sqrt(0.01 + 0.01) = 0.518545;
        // upper extreme 110 * 11 / (45 * 6) = 121/27, so upper - g = 121/27 - 11/3 = 22/27 = 0.814815;
        // lower extreme 90 * 11 / (55 * 6) = 3, g - lower = 2/3. The error is the largest, 22/27.
        let g = CostGain.of(candidate: (50, 5, 6), over: (100, 10, 11))
        XCTAssertEqual(g.value, 11.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(g.error, 22.0 / 27, accuracy: 1e-12)
        XCTAssertEqual(g.outcome, .gains)   // 11/3 - 2 * 22/27 = 2.04 > 1
        XCTAssertEqual(g.phrase, "gains 3.67x +- 0.81")
    }

    func testExtremesWidenTheFirstOrderError() {
        // Equal relative errors of 1 % each: first order g sqrt(2) 0.01 = 0.0141421 (g = 1);
        // extremes 1.01/0.99 - 1 = 0.0202020 above: the interval is larger, it wins.
        let g = CostGain.of(candidate: (10, 0.1, 1), over: (10, 0.1, 1))
        XCTAssertEqual(g.value, 1, accuracy: 1e-15)
        XCTAssertEqual(g.error, 1.01 / 0.99 - 1, accuracy: 1e-12)
        XCTAssertEqual(g.outcome, .ties)
        // One exact time: first order 0.05 g and the extremes 1.05 and 0.95 agree, 0.05.
        let h = CostGain.of(candidate: (20, 0, 2), over: (40, 2, 1))
        XCTAssertEqual(h.value, 1, accuracy: 1e-15)
        XCTAssertEqual(h.error, 0.05, accuracy: 1e-12)
    }

    func testLossPhraseUsesTheInverseFactor() {
        // g = 10 / 100 = 0.1; upper 11/95 - 0.1 = 0.0157895 beats first order 0.0111803 and
        // 0.1 - 9/105 = 0.0142857. Loss factor 1/g = 10, its error e / g^2 = 1.57895.
        let g = CostGain.of(candidate: (100, 5, 1), over: (10, 1, 1))
        XCTAssertEqual(g.error, 11.0 / 95 - 0.1, accuracy: 1e-12)
        XCTAssertEqual(g.outcome, .loses)
        XCTAssertEqual(g.phrase, "loses 10x +- 1.6")
    }

    func testLargeErrorsAreUnresolved() {
        // A candidate error as large as its tau: the upper extreme is unbounded.
        let g = CostGain.of(candidate: (10, 10, 1), over: (10, 1, 1))
        XCTAssertEqual(g.error, .infinity)
        XCTAssertEqual(g.outcome, .unresolved)
        XCTAssertTrue(g.phrase.hasPrefix("INCONCLUSIVE"))
        // e > g / 2 with finite numbers: 20 +- 8 over 10 +- 4 at equal units: g = 2,
        // upper 28/6 - 2 = 2.67 > 1.
        XCTAssertEqual(CostGain.of(candidate: (10, 4, 1), over: (20, 8, 1)).outcome, .unresolved)
    }

    // MARK: Best HMC

    func testBestIndexIsTheSmallestEligibleFiniteCostFirstOnTies() {
        XCTAssertEqual(ComparisonResult.bestIndex([(true, 5), (false, 1), (true, 3), (true, 3), (true, .nan)]), 2)
        XCTAssertNil(ComparisonResult.bestIndex([(false, 1), (true, .infinity)]))
        XCTAssertNil(ComparisonResult.bestIndex([]))
    }

    private func tau(_ t: Double, _ e: Double, converged: Bool = true, frozen: Int = 0) -> ChargeAutocorrelationTime {
        ChargeAutocorrelationTime(tau: t, error: e, window: 10, converged: converged, windowError: e, scatterTau: nil, samples: 1000, chains: 16, frozenChains: frozen)
    }

    private func row(_ kind: ComparisonRow.Kind, eps: Double, steps: Int, tau t: ChargeAutocorrelationTime, cpu: Double) -> ComparisonRow {
        ComparisonRow(kind: kind, stepSize: eps, steps: steps, length: eps * Double(steps), acceptance: 0.9,
                      tunneling: TunnelingRate(rate: 0.01, events: 10, transitions: 1000, changedSteps: 10), tau: t,
                      forcesPerTrajectory: Double(steps + 1), cpuSecondsPerTrajectory: cpu)
    }

    func testBestHMCPerMeasureAndVerdict() throws {
        // Costs (trajectory, force, CPU):
        //  0: tau 40, 5 steps (6 forces), 1 us:   40, 240, 40e-6
        //  1: tau 20, 19 steps (20 forces), 3 us: 20, 400, 60e-6
        //  2: tau 5, 2 steps, not converged: never best (it would win everything)
        //  3: tau 30, 9 steps (10 forces), 0.5 us: 30, 300, 15e-6
        let rows = [row(.hmc, eps: 0.2, steps: 5, tau: tau(40, 4), cpu: 1e-6),
                    row(.hmc, eps: 0.1, steps: 19, tau: tau(20, 2), cpu: 3e-6),
                    row(.hmc, eps: 0.3, steps: 2, tau: tau(5, 1, converged: false), cpu: 1e-7),
                    row(.hmc, eps: 0.1, steps: 9, tau: tau(30, 3), cpu: 0.5e-6),
                    row(.model, eps: 0.2, steps: 5, tau: tau(20, 2), cpu: 10e-6),
                    row(.networksOff, eps: 0.2, steps: 5, tau: tau(20, 2, frozen: 9), cpu: 2e-6)]
        let r = ComparisonResult(rows: rows)
        XCTAssertEqual(r.best[.trajectory], 1)
        XCTAssertEqual(r.best[.forceEvaluation], 0)
        XCTAssertEqual(r.best[.cpuSecond], 3)
        // Row 1 (eps 0.1, 19 steps) is the longest of eps 0.1 and the smallest step size; row 0
        // (eps 0.2, 5 steps) is the longest of eps 0.2 and neither smallest nor largest (0.3).
        XCTAssertEqual(r.edges(.trajectory), ["the longest trajectory of its step size", "the smallest step size"])
        XCTAssertEqual(r.edges(.forceEvaluation), ["the longest trajectory of its step size"])
        XCTAssertEqual(r.edges(.cpuSecond), ["the smallest step size"])
        let g = try XCTUnwrap(r.gains[.model])
        // Per force: 240 / (20 * 6) = 2; per trajectory 20 / 20 = 1; per CPU 15e-6 / 200e-6 = 0.075.
        XCTAssertEqual(try XCTUnwrap(g[.forceEvaluation]).value, 2, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(g[.trajectory]).value, 1, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(g[.cpuSecond]).value, 0.075, accuracy: 1e-12)
        // Frozen networks-off row (9 of 16 chains): no gains, an INCONCLUSIVE verdict.
        XCTAssertNil(r.gains[.networksOff])
        XCTAssertEqual(r.verdict(.networksOff), "the model with its networks off: INCONCLUSIVE: 9 of 16 chains never changed Q (frozen)")
        let v = try XCTUnwrap(r.verdict(.model))
        XCTAssertTrue(v.hasPrefix("the model gains 2x +- "), v)
        XCTAssertTrue(v.contains("per force evaluation, loses 13.3x +- "), v)
        XCTAssertTrue(v.contains("per CPU-second and ties (1x +- "), v)
        XCTAssertTrue(v.hasSuffix("per trajectory against the best HMC"), v)
    }

    func testNoUsableHMCIsInconclusive() {
        let r = ComparisonResult(rows: [row(.hmc, eps: 0.1, steps: 5, tau: tau(5, 1, converged: false), cpu: 1e-6),
                                        row(.model, eps: 0.2, steps: 5, tau: tau(20, 2), cpu: 1e-6)])
        XCTAssertTrue(r.best.isEmpty)
        XCTAssertEqual(r.verdict(.model)?.hasPrefix("the model: INCONCLUSIVE: no HMC setting has a usable tau_int(Q)"), true)
        XCTAssertNil(r.verdict(.networksOff))
    }

    func testLowerBoundsWhenNoHMCIsUsable() throws {
        // HMC: tau 300 not converged (5 steps, 6 forces, 1 us), tau 200 frozen (10 steps, 11 forces, 2 us).
        // Model: tau 20 +- 2 (upper end 24), 6 steps (7 forces), 10 us. Bounds:
        // per force min(1800, 2200) / (24 * 7) = 10.714..; per trajectory 200 / 24 = 8.333..;
        // per CPU-second min(300e-6, 400e-6) / (24 * 10e-6) = 1.25.
        let r = ComparisonResult(rows: [row(.hmc, eps: 0.1, steps: 5, tau: tau(300, 30, converged: false), cpu: 1e-6),
                                        row(.hmc, eps: 0.1, steps: 10, tau: tau(200, 20, frozen: 12), cpu: 2e-6),
                                        row(.model, eps: 0.2, steps: 6, tau: tau(20, 2), cpu: 10e-6),
                                        row(.networksOff, eps: 0.2, steps: 6, tau: tau(900, 90, converged: false), cpu: 9e-6)])
        XCTAssertTrue(r.best.isEmpty)
        XCTAssertTrue(r.gains[.model]?.isEmpty ?? true, "no best HMC, no gains")
        let b = try XCTUnwrap(r.gainBounds[.model])
        XCTAssertEqual(try XCTUnwrap(b[.forceEvaluation]), 1800.0 / 168.0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(b[.trajectory]), 200.0 / 24.0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(b[.cpuSecond]), 1.25, accuracy: 1e-12)
        XCTAssertNil(r.gainBounds[.networksOff], "a candidate whose own tau_int is a lower bound gets no bound")
        let v = try XCTUnwrap(r.verdict(.model))
        XCTAssertTrue(v.hasPrefix("the model gains at least 10.7x per force evaluation, gains at least 1.25x per CPU-second and gains at least 8.33x per trajectory against HMC"), v)
        XCTAssertTrue(try XCTUnwrap(r.verdict(.networksOff)).contains("INCONCLUSIVE"))
        // With a usable HMC row there are gains and no bounds.
        let usable = ComparisonResult(rows: [row(.hmc, eps: 0.1, steps: 5, tau: tau(300, 30), cpu: 1e-6),
                                             row(.model, eps: 0.2, steps: 6, tau: tau(20, 2), cpu: 10e-6)])
        XCTAssertTrue(usable.gainBounds.isEmpty)
        XCTAssertNotNil(usable.gains[.model])
    }

    func testNonForceShareUsesTheLongestHMCRowsPricePerForce() throws {
        // HMC 5 steps: 6 forces, 1.8 us (0.3 us per force); 10 steps: 11 forces, 2.2 us (0.2 us per force, the reference).
        // Model: 7 forces, 10 us: 1 - 7 * 0.2 / 10 = 0.86. An all-force row at the reference price: 0.
        let r = ComparisonResult(rows: [row(.hmc, eps: 0.1, steps: 5, tau: tau(30, 3), cpu: 1.8e-6),
                                        row(.hmc, eps: 0.1, steps: 10, tau: tau(20, 2), cpu: 2.2e-6),
                                        row(.model, eps: 0.2, steps: 6, tau: tau(20, 2), cpu: 10e-6),
                                        row(.networksOff, eps: 0.2, steps: 6, tau: tau(20, 2), cpu: 1.4e-6)])
        XCTAssertEqual(try XCTUnwrap(r.nonForceShare(.model)), 0.86, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(r.nonForceShare(.networksOff)), 0, accuracy: 1e-12)
        XCTAssertNil(ComparisonResult(rows: [row(.model, eps: 0.2, steps: 6, tau: tau(20, 2), cpu: 10e-6)]).nonForceShare(.model))
    }

    // MARK: tau_int error

    func testWindowAndCombinedErrors() {
        // 10 sqrt(2 * 101 / (1000 * 10)) = 10 sqrt(0.0202) = 1.4212670...
        XCTAssertEqual(ChargeAutocorrelationTime.windowError(tau: 10, window: 50, samples: 1000, chains: 10), 10 * 0.0202.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(ChargeAutocorrelationTime.combinedError(tau: 10, windowError: 1, scatterTau: 13), 3)
        XCTAssertEqual(ChargeAutocorrelationTime.combinedError(tau: 10, windowError: 1, scatterTau: 10.5), 1)
        XCTAssertEqual(ChargeAutocorrelationTime.combinedError(tau: 10, windowError: 1, scatterTau: nil), 1)
    }

    func testFrozenChargesAreNotUsable() {
        // 8 chains: 5 never change their charge (frozen), 3 alternate 0, 1 every 4 steps.
        let frozen = (0..<5).map { c in [Double](repeating: Double(c % 2), count: 200) }
        let moving = (0..<3).map { _ in (0..<200).map { Double(($0 / 4) % 2) } }
        let t = ChargeAutocorrelationTime.measure(charges: frozen + moving)
        XCTAssertEqual(t.frozenChains, 5)
        XCTAssertFalse(t.usable)
        XCTAssertEqual(t.problem, "5 of 8 chains never changed Q (frozen)")
    }

    func testMeasureMatchesTheAutocorrelationModule() {
        // A square wave of period 8 in 16 chains (shifted): tau, window and the error formula
        // come from Autocorrelation and the Madras-Sokal expression, computed here independently.
        let charges = (0..<16).map { c in (0..<400).map { Double((($0 + c) / 4) % 2) } }
        let t = ChargeAutocorrelationTime.measure(charges: charges)
        let time = Autocorrelation.integratedTime(rho: Autocorrelation.normalizedAveraged(charges))
        XCTAssertEqual(t.tau, time.tau)
        XCTAssertEqual(t.window, time.window)
        XCTAssertEqual(t.windowError, time.tau * (2 * Double(2 * time.window + 1) / Double(400 * 16)).squareRoot(), accuracy: 1e-12)
        XCTAssertGreaterThanOrEqual(t.error, t.windowError)
    }

    // MARK: Grid and settings

    func testGridRoundsStepsAndDropsDuplicates() throws {
        var s = ComparisonSettings()
        s.hmcStepSizes = [0.25, 0.1]
        s.hmcLengths = [1.0, 0.7]
        // round(0.7 / 0.1) = 7, round(1 / 0.1) = 10, round(0.7 / 0.25) = round(2.8) = 3, 1 / 0.25 = 4.
        XCTAssertEqual(try s.grid(modelStepSize: 1, modelLength: 1).map { [$0.stepSize, Double($0.steps)] },
                       [[0.1, 7], [0.1, 10], [0.25, 3], [0.25, 4]])
        s.hmcStepSizes = [0.5]
        s.hmcLengths = [0.1, 0.2]   // both give N_LF = max(1, round(...)) = 1: one point
        XCTAssertEqual(try s.grid(modelStepSize: 1, modelLength: 1), [ComparisonSettings.HMCPoint(stepSize: 0.5, steps: 1)])
    }

    func testDefaultGridIsRelativeToTheModel() throws {
        // eps_m 0.236: {0.059, 0.118, 0.177, 0.236}; L_m 1.2: {1.2, 2.4, 3.6, 4.8}.
        let grid = try ComparisonSettings().grid(modelStepSize: 0.236, modelLength: 1.2)
        XCTAssertEqual(grid.count, 16)
        XCTAssertEqual(Array(Set(grid.map(\.stepSize))).sorted(), [0.059, 0.118, 0.177, 0.236])
        // eps 0.236: round(1.2/0.236) = round(5.08) = 5, round(10.17) = 10, round(15.25) = 15, round(20.34) = 20.
        XCTAssertEqual(grid.filter { $0.stepSize == 0.236 }.map(\.steps), [5, 10, 15, 20])
        // eps 0.059: round(20.34) = 20, round(40.68) = 41, round(61.02) = 61, round(81.36) = 81.
        XCTAssertEqual(grid.filter { $0.stepSize == 0.059 }.map(\.steps), [20, 41, 61, 81])
    }

    func testInvalidSettingsAreCodedUsageErrors() {
        var s = ComparisonSettings()
        s.chains = 0
        XCTAssertThrowsError(try s.validate()) { XCTAssertEqual(($0 as? ComparisonError)?.code, "compare.invalid_option") }
        s = ComparisonSettings(); s.hmcJitter = 1
        XCTAssertThrowsError(try s.validate())
        s = ComparisonSettings(); s.hmcStepSizes = [0.1, -1]
        XCTAssertThrowsError(try s.validate())
        s = ComparisonSettings(); s.hmcLengths = []
        XCTAssertThrowsError(try s.validate())
        s = ComparisonSettings(); s.trajectories = 3
        XCTAssertThrowsError(try s.validate())
        s = ComparisonSettings(); s.hmcStepSizes = [1e-6]; s.hmcLengths = [1]
        XCTAssertThrowsError(try s.grid(modelStepSize: 1, modelLength: 1))   // 1e6 steps
    }
}
