import DistributedKit
import XCTest

/// SingleProcess in this test process (never launched by mpirun): size 1 and every collective
/// returns its input unchanged.
final class SingleProcessTests: XCTestCase {
    func testSingleProcessCollectivesReturnTheirInput() throws {
        let g = SingleProcess()
        XCTAssertEqual(g.rank, 0)
        XCTAssertEqual(g.size, 1)
        XCTAssertTrue(g.isRoot)
        try g.barrier()
        XCTAssertEqual(try g.broadcast([1, 2, 3], from: 0), [1, 2, 3])
        XCTAssertEqual(try g.allGather([4, 5]), [[4, 5]])
        XCTAssertEqual(try g.allGather([]), [[]])
        XCTAssertEqual(try g.gather([6], to: 0), [[6]])
        XCTAssertEqual(try g.allReduceMax(-7), -7)
        try g.finalize()
    }

    /// A root outside the ranks is a coded error, not a trap.
    func testARootOutsideTheRanksIsACodedError() {
        let g = SingleProcess()
        for root in [-1, 1] {
            XCTAssertThrowsError(try g.broadcast([1], from: root)) { XCTAssertEqual(($0 as? DistributedError)?.code, "mpi.invalid_root") }
            XCTAssertThrowsError(try g.gather([1], to: root)) { XCTAssertEqual(($0 as? DistributedError)?.code, "mpi.invalid_root") }
        }
    }
}
