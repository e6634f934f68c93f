#ifndef L2HMC_COPENBLAS_SHIM_H
#define L2HMC_COPENBLAS_SHIM_H
#include <stddef.h>
#include <cblas.h>

/* LAPACK routines exported by Debian's OpenBLAS (no LAPACKE header there).
   Fortran calling convention: every argument by pointer, 32-bit integers, and one hidden
   trailing size_t length per CHARACTER argument. Column-major storage. */
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda,
             double *s, double *u, const int *ldu, double *vt, const int *ldvt,
             double *work, const int *lwork, int *iwork, int *info, size_t jobz_len);
#endif
