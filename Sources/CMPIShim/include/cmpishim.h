#ifndef L2HMC_CMPISHIM_H
#define L2HMC_CMPISHIM_H
#include <mpi.h>

/* Open MPI's predefined handles (MPI_COMM_WORLD, MPI_BYTE, MPI_MAX, ...) are macros that take
   the address of a library global; Swift cannot import them. These return them as values. */
MPI_Comm cmpi_comm_world(void);
MPI_Datatype cmpi_byte(void);
MPI_Datatype cmpi_int(void);
MPI_Datatype cmpi_int64(void);
MPI_Datatype cmpi_double(void);
MPI_Op cmpi_max(void);
MPI_Op cmpi_sum(void);
MPI_Errhandler cmpi_errors_return(void);

#endif
