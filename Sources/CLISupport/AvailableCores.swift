import Foundation

/// The number of cores this process may use: the CPU affinity mask (`taskset`, a batch
/// scheduler's binding) and a cgroup CPU quota, as Foundation reads them; at least 1.
public enum AvailableCores {
    public static var count: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}
