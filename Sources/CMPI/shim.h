#ifndef L2HMC_CMPI_SHIM_H
#define L2HMC_CMPI_SHIM_H
#include <mpi.h>
#endif
