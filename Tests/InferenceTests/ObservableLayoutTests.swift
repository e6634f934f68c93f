import Foundation
import XCTest
import ModelFormat
@testable import Inference

/// The run-directory layout comes from the action's observables: for U(1) and mixtures it is
/// the layout of every existing directory (file names, element types, shapes and CSV header as
/// written before observables were the action's), whether built from the action or the format's
/// target description.
final class ObservableLayoutTests: XCTestCase {
    func testU1LayoutIsTheHistoricalOne() {
        let target = Target.u1(U1Lattice(lt: 3, lx: 2, beta: 1.5))
        let layout = RunDirectory.Layout(makeTarget(target))
        XCTAssertEqual(layout, RunDirectory.Layout(target))
        XCTAssertEqual(layout, .u1)
        XCTAssertEqual(RunDirectory.csvHeader(layout), "trajectory,chain,sampler,accept_prob,accepted,energy_change,log_det,plaquette,q_int,q_sin\n")
        let columns = RunDirectory.columns(layout: layout, chains: 5)
        XCTAssertEqual(columns.map(\.name), ["sampler", "accept_prob", "accepted", "energy_change", "energy_before", "log_det", "plaquette", "q_int", "q_sin"])
        XCTAssertEqual(columns.suffix(3).map(\.rowShape), [[5], [5], [5]])
        XCTAssertEqual(columns.suffix(3).map(\.dtype), [.float64, .float64, .float64])
    }

    func testMixtureLayoutIsTheHistoricalOne() {
        let cov = [[0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]]
        let target = Target.gaussianMixture(GaussianMixture(dimension: 3, weights: [0.2, 0.3, 0.5], means: [[0, 0, 0], [1, 1, 1], [2, 2, 2]],
                                                            covariances: [cov, cov, cov]))
        let layout = RunDirectory.Layout(makeTarget(target))
        XCTAssertEqual(layout, RunDirectory.Layout(target))
        XCTAssertEqual(RunDirectory.csvHeader(layout), "trajectory,chain,sampler,accept_prob,accepted,energy_change,log_det,x0,x1,x2,mode\n")
        let columns = RunDirectory.columns(layout: layout, chains: 4)
        XCTAssertEqual(columns.suffix(2).map(\.name), ["position", "mode"])
        XCTAssertEqual(columns.suffix(2).map(\.rowShape), [[4, 3], [4]])
        XCTAssertEqual(columns.suffix(2).map(\.dtype), [.float64, .int32])
    }

    /// The CSV row of a recorded trajectory: integers for q_int, %.17g otherwise, in the order
    /// of the layout (the format of every existing observables.csv).
    func testCSVRowsFormatIntegerAndRealObservables() {
        var r = RunRecord()
        r.sampler = [.hmc]; r.acceptProbability = [[0.5]]; r.accepted = [[true]]; r.energyChange = [[0.25]]; r.energyBefore = [[1]]; r.logDet = [[0]]
        r.observables = ["plaquette": [[0.1]], "q_int": [[-2]], "q_sin": [[1.0 / 3]]]
        let row = String(decoding: RunDirectory.csvRows(r, layout: .u1, 0..<1), as: UTF8.self)
        XCTAssertEqual(row, "0,0,hmc,0.5,1,0.25,0,0.10000000000000001,-2,0.33333333333333331\n")
    }
}
