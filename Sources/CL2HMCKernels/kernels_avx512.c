/* AVX-512 instantiation (x86-64 only; selected at run time when the CPU has AVX-512F/DQ). */
#if defined(__x86_64__)
#pragma clang attribute push (__attribute__((target("avx512f,avx512dq,avx2,fma"))), apply_to = function)
#define L2K_W 16
#define L2K_SUFFIX _avx512
#include "kernels_body.h"
#pragma clang attribute pop
#endif
