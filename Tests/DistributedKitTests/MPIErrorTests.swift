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
