import CFileSystem
import Foundation

/// The number of cores this process may use: the CPUs of its affinity mask (`taskset`, a batch
/// scheduler's binding, `mpirun`'s binding of each rank to a core), at most Foundation's active
/// processor count; at least 1.
public enum AvailableCores {
    public static var count: Int {
        let active = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let mask = Int(l2hmc_affinity_cpu_count())
        return mask >= 1 ? min(mask, active) : active
    }
}
