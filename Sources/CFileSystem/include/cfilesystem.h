#ifndef L2HMC_CFILESYSTEM_H
#define L2HMC_CFILESYSTEM_H

/// Linux calls that Swift's Glibc module does not expose (renameat2 needs
/// _GNU_SOURCE). Each returns 0 on success and -1 with errno set on failure.

/// Renames `from` to `to` only if `to` does not exist (EEXIST otherwise), atomically.
int l2hmc_rename_noreplace(const char *from, const char *to);

/// Atomically swaps the two paths (both must exist): no moment where either path is absent.
int l2hmc_rename_exchange(const char *a, const char *b);

/// The number of CPUs in this process's affinity mask (sched_getaffinity; what `taskset`, a
/// batch scheduler or `mpirun`'s binding allow), or -1 with errno set.
int l2hmc_affinity_cpu_count(void);

#endif
