import CMPI
@testable import DistributedKit
import XCTest

/// A failed MPI call becomes `[mpi.failure]` naming the call. In this process MPI is not
/// initialised, so the text is the code's number (Open MPI 4.1 aborts on MPI_Error_string
/// before MPI_Init); MPI's own text under mpirun is checked by the selftest's collectives
/// ("MPI_ERR_COMM: invalid communicator", MPI_ERR_COMM = 5 in Open MPI's mpi.h).
final class MPIErrorTests: XCTestCase {
    func testAFailedCallThrowsACodedErrorWithoutInitialisingMPI() {
        XCTAssertNoThrow(try MPIProcessGroup.check(Int32(MPI_SUCCESS), "MPI_Barrier"))
        XCTAssertThrowsError(try MPIProcessGroup.check(Int32(MPI_ERR_COMM), "MPI_Barrier")) { error in
            guard let e = error as? DistributedError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.code, "mpi.failure")
            XCTAssertEqual(e.description, "[mpi.failure] MPI_Barrier failed: MPI error 5")
        }
        XCTAssertFalse(MPIProcessGroup.isInitialized, "describing an error must not initialise MPI")
    }
}

/// The byte collectives' layout: displacements are the running sums of the counts (in rank
/// order); MPI's `int` counts bound one payload and the total at 2^31 - 1 bytes (`mpi.limit`).
final class MPILayoutTests: XCTestCase {
    func testDisplacementsAreRunningSumsAndTheIntLimitIsACodedError() throws {
        let layout = try MPIProcessGroup.layout([3, 0, 5, 1], "allGather")
        XCTAssertEqual(layout.counts, [3, 0, 5, 1])
        XCTAssertEqual(layout.displacements, [0, 3, 3, 8])
        XCTAssertEqual(layout.total, 9)
        XCTAssertNoThrow(try MPIProcessGroup.layout([Int64(Int32.max)], "allGather"))
        XCTAssertThrowsError(try MPIProcessGroup.layout([Int64(Int32.max), 1], "allGather")) { error in
            XCTAssertEqual((error as? DistributedError)?.code, "mpi.limit")
        }
        XCTAssertThrowsError(try MPIProcessGroup.intCount(Int64(Int32.max) + 1, "broadcast")) { error in
            XCTAssertEqual((error as? DistributedError)?.description, "[mpi.limit] broadcast of 2147483648 bytes exceeds MPI's limit of 2147483647 bytes")
        }
    }
}
