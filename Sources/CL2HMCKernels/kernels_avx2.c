/* AVX2 + FMA instantiation (x86-64 only; selected at run time). */
#if defined(__x86_64__)
#pragma clang attribute push (__attribute__((target("avx2,fma"))), apply_to = function)
#define L2K_W 4
#define L2K_SUFFIX _avx2
#include "kernels_body.h"
#pragma clang attribute pop
#endif
