// Copyright 2026 The concurrent Authors.
//
// The SPMD idiom of ipc/mpi/mpi_comm_executor.h and docs/distributed.md, as a
// program: `mpirun -np 3 spmd_example` prints, on rank 0,
//   78498
//   4 25 168
//   thread level 3
// and nothing on ranks 1 and 2, which serve the tasks. run_mpi.sh runs it
// and spmd_example_test.sh checks that output.

#include <cstdint>
#include <cstdio>
#include <vector>

#include "ipc/mpi/mpi_comm_executor.h"
#include "ipc/task_registry.h"

namespace {

std::int64_t count_primes(std::int64_t below) {
  std::int64_t count = 0;
  for (std::int64_t n = 2; n < below; ++n) {
    bool prime = true;
    for (std::int64_t d = 2; d * d <= n; ++d) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    if (prime) ++count;
  }
  return count;
}
CONCURRENT_REGISTER_TASK(count_primes);

}  // namespace

int main(int argc, char** argv) {
  concurrent::MpiCommExecutor executor(argc, argv);
  if (executor.is_master()) {  // rank 0; the other ranks served until here
    concurrent::Future<std::int64_t> f =
        executor.submit(count_primes, 1'000'000);
    std::printf("%lld\n", static_cast<long long>(f.result()));
    std::vector<std::int64_t> limits = {10, 100, 1000};
    for (std::int64_t n : executor.map(count_primes, limits)) {
      std::printf("%lld ", static_cast<long long>(n));
    }
    std::printf("\nthread level %d\n",
                concurrent::MpiCommExecutor::thread_level());
  }
}  // the master's destructor releases the workers; MPI is finalized at exit
