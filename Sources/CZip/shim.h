#ifndef L2HMC_CZIP_SHIM_H
#define L2HMC_CZIP_SHIM_H
#include <zip.h>
#endif
