/* Portable instantiation: the same operations on any CPU (fma is exact in software where the
 * hardware has none, so results equal those of the SIMD paths bit for bit). */
#define L2K_W 2
#define L2K_SUFFIX _portable
#include "kernels_body.h"
