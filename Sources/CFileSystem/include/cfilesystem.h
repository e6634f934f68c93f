#ifndef L2HMC_CFILESYSTEM_H
#define L2HMC_CFILESYSTEM_H

/// Linux file-system calls that Swift's Glibc module does not expose (renameat2 needs
/// _GNU_SOURCE). Each returns 0 on success and -1 with errno set on failure.

/// Renames `from` to `to` only if `to` does not exist (EEXIST otherwise), atomically.
int l2hmc_rename_noreplace(const char *from, const char *to);

/// Atomically swaps the two paths (both must exist): no moment where either path is absent.
int l2hmc_rename_exchange(const char *a, const char *b);

#endif
