/// The processes of one run and the few collectives the tools need: the ranks' view of each
/// other. Either the whole world of an `mpirun` launch (``MPIProcessGroup``) or this process
/// alone (``SingleProcess``, which makes no MPI call); ``ProcessGroups/current()`` picks one.
///
/// Contract (for every implementation):
/// - Ranks are `0 ..< size`; rank 0 is the root (``isRoot``).
/// - Every collective is called by every rank, in the same order, with the same `root`; it
///   blocks until all ranks have called it (MPI's rule). Only the thread that created the group
///   (the main thread) may call them (MPI_THREAD_FUNNELED).
/// - Byte payloads are copied bit for bit; results are in rank order and identical on every rank
///   that receives them. Nothing is reduced in floating point here: sums that must not depend on
///   the rank count are made by the caller, in a fixed order, from ``allGather(_:)``.
/// - A failed MPI call throws ``DistributedError`` (`mpi.failure`, with MPI's error string);
///   a payload larger than MPI's `int` counts allow throws `mpi.limit`.
public protocol ProcessGroup: AnyObject {
    /// This process's rank, `0 ..< size`.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }

    /// Returns when every rank has entered it.
    func barrier() throws

    /// Root's `bytes` on every rank (the argument is ignored on the others; any length).
    func broadcast(_ bytes: [UInt8], from root: Int) throws -> [UInt8]

    /// Every rank's `bytes` (each its own length, possibly empty), indexed by rank, on every rank
    /// (MPI_Allgatherv).
    func allGather(_ bytes: [UInt8]) throws -> [[UInt8]]

    /// Every rank's `bytes` indexed by rank on `root`; nil on the other ranks (MPI_Gatherv).
    func gather(_ bytes: [UInt8], to root: Int) throws -> [[UInt8]]?

    /// The largest `value` over all ranks, on every rank. The stop flag: each rank passes 1 when
    /// it was asked to stop (a signal) and 0 otherwise, once per unit of work; every rank then
    /// stops after the same unit.
    func allReduceMax(_ value: Int) throws -> Int

    /// Writes `message` (one line) to stderr and ends every rank with exit status `code`
    /// (MPI_Abort; for a single process, `_exit`). For a failure one rank cannot recover from
    /// while the others wait in a collective.
    func abort(code: Int32, message: String) -> Never

    /// Ends the group's use of MPI (MPI_Finalize; nothing for a single process). Idempotent.
    /// Every rank calls it on a clean end (success, or a stop every rank agreed on), after its
    /// last collective and before it exits: MPI_Finalize waits for all ranks. A rank that exits
    /// without it, with status 0, makes `mpirun` report it as "exiting improperly" and exit 1;
    /// an error exit (status != 0) skips it, and `mpirun` then ends the others
    /// (docs/DISTRIBUTED.md). Never registered with `atexit` for that reason.
    func finalize() throws
}

extension ProcessGroup {
    /// Whether this is rank 0, the rank that writes the run directory.
    public var isRoot: Bool { rank == 0 }

    /// Refuses a collective root outside 0..<size (`mpi.invalid_root`), before any MPI call.
    func checkRoot(_ root: Int) throws {
        guard root >= 0 && root < size else {
            throw DistributedError(code: "mpi.invalid_root", message: "collective root \(root) is outside the ranks 0..<\(size)")
        }
    }
}
