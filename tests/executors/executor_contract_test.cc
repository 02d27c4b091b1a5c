// Copyright 2026 The concurrent Authors.
//
// The executor contract (tests/executors/executor_contract.h) over the
// in-process executors: the thread pool, the inline executor, the manual
// executor, and an executor written on the public extension point only
// (tests/executors/one_thread_executor.h). The process pool runs it in
// tests/ipc/process_pool_contract_test.cc.

#include "tests/executors/executor_contract.h"

#include "gtest/gtest.h"
#include "tests/executors/executor_test_support.h"

namespace concurrent {
namespace testing {
namespace {

using InProcessExecutors = ::testing::Types<ThreadPoolExecutor, InlineExecutor,
                                            ManualExecutor, OneThreadExecutor>;
INSTANTIATE_TYPED_TEST_SUITE_P(InProcess, ExecutorContractTest,
                               InProcessExecutors);

}  // namespace
}  // namespace testing
}  // namespace concurrent
