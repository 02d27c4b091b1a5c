// Copyright 2026 The concurrent Authors.
//
// The executor contract (tests/executors/executor_contract.h) over
// ProcessPoolExecutor, with its tasks registered as the process pool needs
// (tests/ipc/remote_contract.cc). The tests that need a closure skip
// themselves (kRunsClosures = false).

#include <memory>

#include "gtest/gtest.h"
#include "ipc/process_pool_executor.h"
#include "tests/executors/executor_contract.h"
#include "tests/ipc/remote_contract.h"

namespace concurrent {
namespace testing {

template <>
struct ExecutorTraits<ProcessPoolExecutor>
    : RemoteExecutorTraits<ProcessPoolExecutor> {
  static std::unique_ptr<ProcessPoolExecutor> make() {
    return std::make_unique<ProcessPoolExecutor>(kWorkers);
  }
};

namespace {

INSTANTIATE_TYPED_TEST_SUITE_P(ProcessPool, ExecutorContractTest,
                               ::testing::Types<ProcessPoolExecutor>);

}  // namespace
}  // namespace testing
}  // namespace concurrent
