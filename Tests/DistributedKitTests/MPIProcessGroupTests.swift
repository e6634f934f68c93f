import Foundation
import XCTest

/// DistributedKit end to end through l2hmc-mpi-selftest: a plain start never initialises MPI;
/// under `mpirun --oversubscribe -np 2` and `-np 3` every collective returns the known payloads;
/// the stop flag stops every rank after the same iteration; a failing rank ends the job.
/// Skipped without `mpirun` (CI installs it through scripts/setup.sh).
final class MPIProcessGroupTests: XCTestCase {
    /// The selftest's number of checks: 11 + 3 per rank (one broadcast, one allGather entry and
    /// one gather per root or rank), plus 3 when launched (rank and size against Open MPI's
    /// OMPI_COMM_WORLD_RANK/SIZE, MPI's error text). Asserted so that a skipped check cannot
    /// pass unseen.
    private func expectedChecks(size: Int, launched: Bool) -> Int { 11 + 3 * size + (launched ? 3 : 0) }

    func testAPlainStartIsOneProcessAndNeverInitialisesMPI() throws {
        let info = try MPIRun.plain(["info"])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertEqual(info.lines, ["rank 0 size 1 mpi-initialized false launched false"])
        let collectives = try MPIRun.plain(["collectives"])
        XCTAssertEqual(collectives.status, 0, collectives.stderr)
        XCTAssertEqual(collectives.lines, ["rank 0 of 1: ok \(expectedChecks(size: 1, launched: false)) checks"])
    }

    func testUnderMpirunEveryRankIsInitialisedWithItsRank() throws {
        let r = try MPIRun.run(MPIRun.process(ranks: 2, ["info"]))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines, ["rank 0 size 2 mpi-initialized true launched true", "rank 1 size 2 mpi-initialized true launched true"])
    }

    func testEveryCollectiveWithTwoAndThreeRanks() throws {
        for size in [2, 3] {
            let r = try MPIRun.run(MPIRun.process(ranks: size, ["collectives"]))
            XCTAssertEqual(r.status, 0, "np \(size): \(r.stdout)\(r.stderr)")
            XCTAssertEqual(r.lines, (0 ..< size).map { "rank \($0) of \(size): ok \(expectedChecks(size: size, launched: true)) checks" }, r.stderr)
        }
    }

    /// Rank 1 alone gets SIGTERM; the flag allreduced each iteration stops both ranks after the
    /// same iteration, and both finalise and exit 0 (so mpirun exits 0).
    func testSIGTERMToOneRankStopsEveryRankAtTheSameIteration() throws {
        for size in [2, 3] {
            let p = try MPIRun.process(ranks: size, ["stop"])
            var pid: Int32 = 0
            let r = try MPIRun.run(p) { out in
                let text = MPIRun.read(out, until: (0 ..< size).map { "rank \($0) pid " })
                pid = Self.pid(of: 1, in: text)
                if pid > 0 {
                    Thread.sleep(forTimeInterval: 0.3)
                    kill(pid, SIGTERM)
                }
                return text
            }
            XCTAssertGreaterThan(pid, 0, r.stdout)
            XCTAssertEqual(r.status, 0, "np \(size): \(r.stdout)\(r.stderr)")
            let stops = Self.stops(r.stdout)
            XCTAssertEqual(stops.count, size, r.stdout)
            XCTAssertEqual(Set(stops.values.map(\.iteration)).count, 1, "ranks stopped at different iterations: \(r.stdout)")
            XCTAssertEqual(stops[1]?.signal, SIGTERM, r.stdout)
            for rank in 0 ..< size where rank != 1 { XCTAssertEqual(stops[rank]?.signal, 0, r.stdout) }
        }
    }

    /// SIGTERM (or SIGINT) to mpirun reaches every rank as SIGCONT at once and SIGTERM one
    /// second later (odls_base_sigkill_timeout); the ranks stop at the same iteration; mpirun
    /// itself exits 1 (docs/DISTRIBUTED.md). This pins the facts the stop protocol relies on.
    func testSIGTERMToMpirunReachesEveryRankAsSIGTERM() throws {
        let p = try MPIRun.process(ranks: 2, ["stop"])
        let r = try MPIRun.run(p) { out in
            let text = MPIRun.read(out, until: ["rank 0 pid ", "rank 1 pid "])
            Thread.sleep(forTimeInterval: 0.3)
            p.terminate()
            return text
        }
        let stops = Self.stops(r.stdout)
        XCTAssertEqual(stops.count, 2, r.stdout + r.stderr)
        XCTAssertEqual(Set(stops.values.map(\.iteration)).count, 1, r.stdout)
        XCTAssertEqual(stops[0]?.signal, SIGTERM, r.stdout)
        XCTAssertEqual(stops[1]?.signal, SIGTERM, r.stdout)
        XCTAssertEqual(r.status, 1, "mpirun's status after a signal: \(r.stderr)")
    }

    /// A rank that exits with status 1 while the other waits in a barrier: mpirun ends the other
    /// (it never leaves the barrier), names the failed rank and exits with that status.
    func testARankThatFailsEndsTheJob() throws {
        let r = try MPIRun.run(MPIRun.process(ranks: 2, ["exit", "1"]))
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertFalse(r.stdout.contains("left the barrier"), r.stdout)
        XCTAssertTrue(r.stderr.contains("Process name: [["), r.stderr)
        XCTAssertTrue(r.stderr.contains("],1]"), "the failed rank is named: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("Exit code:    1"), r.stderr)
    }

    /// abort(code:message:) on one rank ends every rank; mpirun exits with the code.
    func testAbortOnOneRankEndsEveryRankWithItsCode() throws {
        let r = try MPIRun.run(MPIRun.process(ranks: 2, ["abort"]))
        XCTAssertEqual(r.status, 3, r.stderr)
        XCTAssertFalse(r.stdout.contains("left the barrier"), r.stdout)
        XCTAssertTrue(r.stderr.contains("error: [selftest.abort] rank 1 aborts"), r.stderr)
    }

    // MARK: parsing the selftest's lines

    static func pid(of rank: Int, in text: String) -> Int32 {
        for line in text.split(separator: "\n") where line.hasPrefix("rank \(rank) pid ") {
            let fields = line.split(separator: " ")
            if fields.count >= 4, let pid = Int32(fields[3]) { return pid }
        }
        return 0
    }

    /// rank -> (iteration, own signal) from "rank R stopped after iteration I own signal S".
    static func stops(_ text: String) -> [Int: (iteration: Int, signal: Int32)] {
        var result: [Int: (iteration: Int, signal: Int32)] = [:]
        for line in text.split(separator: "\n") where line.contains(" stopped after iteration ") {
            let f = line.split(separator: " ")
            guard f.count == 9, let rank = Int(f[1]), let iteration = Int(f[5]), let signal = Int32(f[8]) else { continue }
            result[rank] = (iteration, signal)
        }
        return result
    }
}
