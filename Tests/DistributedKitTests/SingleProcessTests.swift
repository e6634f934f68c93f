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
}
