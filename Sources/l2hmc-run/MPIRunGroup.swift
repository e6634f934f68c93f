import CLISupport
import DistributedKit
import Inference

/// The MPI ranks of an `mpirun` launch as the runtime's ``RunProcessGroup`` (rank 0 is the root).
final class MPIRunGroup: RunProcessGroup {
    let group: ProcessGroup
    init(_ group: ProcessGroup) { self.group = group }
    var rank: Int { group.rank }
    var size: Int { group.size }
    func gather(_ bytes: [UInt8]) throws -> [[UInt8]]? { try group.gather(bytes, to: 0) }
    func broadcast(_ bytes: [UInt8]) throws -> [UInt8] { try group.broadcast(bytes, from: 0) }
}

extension DistributedError: ReportableError {
    public var report: String { description }
    public var exitStatus: Int32 { ToolFailure.badData }
}
