// Copyright 2026 The concurrent Authors.
//
// A worker rank that dies while the master waits for its task: Open MPI's
// mpirun must end the whole job (the master included) with a non-zero
// status instead of leaving the master's future waiting. Run by
// worker_death_test.sh, which checks the status and that the job ended well
// within its time bound.

#include <csignal>
#include <cstdio>

#include "ipc/mpi/mpi_comm_executor.h"
#include "tests/ipc/mpi/mpi_test_tasks.h"

int main(int argc, char** argv) {
  concurrent::MpiCommExecutor executor(argc, argv);
  if (executor.is_master()) {
    concurrent::Future<int> f =
        executor.submit(concurrent::mpi_test::KillSelf, SIGKILL);
    std::printf("master: waiting for a task whose rank dies\n");
    std::fflush(stdout);
    f.result();  // never returns: mpirun ends the job
    std::printf("master: result() returned (unexpected)\n");
  }
  return 0;
}
