// Copyright 2026 The concurrent Authors.
//
// The executor contract (tests/executors/executor_contract.h) over
// MpiCommExecutor, under mpirun with 3 ranks (tools/mpi/run_mpi.sh): the
// tests run on rank 0 while ranks 1 and 2 serve every executor they create.
// The contract's tasks are registered by tests/ipc/remote_contract.cc; the
// tests that need a closure skip themselves (kRunsClosures = false).

#include <memory>

#include "gtest/gtest.h"
#include "ipc/mpi/mpi_comm_executor.h"
#include "tests/executors/executor_contract.h"
#include "tests/ipc/remote_contract.h"

namespace concurrent {
namespace testing {

// The worker ranks of run_mpi.sh 3 are the two workers.
template <>
struct ExecutorTraits<MpiCommExecutor> : RemoteExecutorTraits<MpiCommExecutor> {
  static std::unique_ptr<MpiCommExecutor> make() {
    return std::make_unique<MpiCommExecutor>();
  }
};

namespace {

INSTANTIATE_TYPED_TEST_SUITE_P(Mpi, ExecutorContractTest,
                               ::testing::Types<MpiCommExecutor>);

}  // namespace
}  // namespace testing
}  // namespace concurrent

int main(int argc, char** argv) {
  return concurrent::MpiCommExecutor::main(argc, argv, [&] {
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
  });
}
