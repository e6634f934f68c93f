import Foundation
import XCTest

/// Run directories written by l2hmc-run 0.1 (format `l2hmc-run-state 1`, whole files written at
/// the end) still resume: `fixtures/run-v1` was made by the commit before version 2 with
/// `--sampler hmc --lattice 4x4 --chains 2 --trajectories 10 --seed 5 --eps 0.2 --nlf 5`. Its
/// continuation is written as version 2 in its place and must equal, file by file, one
/// uninterrupted version-2 run of the same settings.
final class RunDirectoryVersion1Tests: XCTestCase {
    func testAVersion1DirectoryResumesAsVersion2WithTheUninterruptedNumbers() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let old = dir.appendingPathComponent("old").path, whole = dir.appendingPathComponent("whole").path
        try FileManager.default.copyItem(atPath: CLI.repositoryRoot.appendingPathComponent("fixtures/run-v1").path, toPath: old)
        let resumed = try CLI.run("l2hmc-run", ["--resume", old, "--trajectories", "20", "-q"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let fresh = try CLI.run("l2hmc-run", ["--sampler", "hmc", "--lattice", "4x4", "--chains", "2", "--trajectories", "20", "--seed", "5",
                                              "--eps", "0.2", "--nlf", "5", "-q", "--out", whole])
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        for file in ["observables.csv", "final_states.npy", "state.json", "states-0000000020.npy", "sampler.npy", "accept_prob.npy",
                     "accepted.npy", "energy_before.npy", "energy_change.npy", "log_det.npy", "plaquette.npy", "q_int.npy", "q_sin.npy"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(whole)/\(file)")), b = try Data(contentsOf: URL(fileURLWithPath: "\(old)/\(file)"))
            XCTAssertEqual(a, b, "\(file) differs")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["old", "whole"], "no temporary directory is left")
    }
}
