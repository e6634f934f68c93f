#include "cmpishim.h"

MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
MPI_Datatype cmpi_byte(void) { return MPI_BYTE; }
MPI_Datatype cmpi_int(void) { return MPI_INT; }
MPI_Datatype cmpi_int64(void) { return MPI_INT64_T; }
MPI_Datatype cmpi_double(void) { return MPI_DOUBLE; }
MPI_Op cmpi_max(void) { return MPI_MAX; }
MPI_Op cmpi_sum(void) { return MPI_SUM; }
MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
