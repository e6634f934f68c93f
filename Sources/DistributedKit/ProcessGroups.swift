#if canImport(Glibc)
import Glibc
#endif

/// Chooses the process group of this run.
public enum ProcessGroups {
    /// The environment variables whose presence means "started by Open MPI's launcher"
    /// (`mpirun`/`mpiexec` set both in every rank; a PMIx-based `srun` sets `PMIX_RANK`).
    public static let launcherVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK"]

    /// Whether this process was started by an MPI launcher (see ``launcherVariables``).
    public static var launchedByMPI: Bool {
        launcherVariables.contains { getenv($0) != nil }
    }

    nonisolated(unsafe) private static var cached: ProcessGroup?

    /// The group of this run, the same object on every call: the MPI world when
    /// ``launchedByMPI`` (MPI is initialised here, on the first call, with
    /// MPI_THREAD_FUNNELED: call it from the main thread, the one thread that will call the
    /// collectives), otherwise a ``SingleProcess`` and MPI is never initialised. MPI is
    /// finalised only by ``ProcessGroup/finalize()``.
    public static func current() throws -> ProcessGroup {
        if let cached { return cached }
        let group: ProcessGroup = launchedByMPI ? try MPIProcessGroup.world() : SingleProcess()
        cached = group
        return group
    }
}
