import Foundation
import XCTest

/// The benchmark commands run and state their FLOP model and DGEMM reference (numbers are
/// measured by hand in release builds; these only keep the commands from rotting).
final class BenchCommandTests: XCTestCase {
    func testRuntimeBenchReportsAWorkloadAgainstDGEMM() throws {
        let r = try CLI.run("l2hmc-run", ["bench", "--workloads", "W1", "--threads", "1", "--seconds", "0.1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for needle in ["FLOP model", "DGEMM reference, 1 thread", "W1", "% DGEMM"] {
            XCTAssertTrue(r.stdout.contains(needle), "bench output lacks \(needle):\n\(r.stdout)")
        }
    }

    func testTrainerBenchReportsStepsPerSecond() throws {
        let r = try CLI.run("l2hmc-train", ["bench", "--seconds", "0.1", "--lattice", "2x2", "--hidden-units", "8", "--chains", "4"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for needle in ["training", "steps/s", "forward", "ratio", "dgemm"] {
            XCTAssertTrue(r.stdout.contains(needle), "train bench output lacks \(needle):\n\(r.stdout)")
        }
    }
}
