// Copyright 2026 The concurrent Authors.
//
// <mpi.h> without the deprecated MPI-2 C++ bindings (Open MPI's and MPICH's
// mpi.h pull them into C++ translation units unless told not to; they would
// need libmpi_cxx). Private to ipc/mpi: the public header does not include
// MPI, so a program that only uses MpiCommExecutor needs no MPI header.

#ifndef CONCURRENT_IPC_MPI_INTERNAL_MPI_API_H_
#define CONCURRENT_IPC_MPI_INTERNAL_MPI_API_H_

#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif

#include <mpi.h>  // IWYU pragma: export

#endif  // CONCURRENT_IPC_MPI_INTERNAL_MPI_API_H_
