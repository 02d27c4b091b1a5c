// Copyright 2026 The concurrent Authors.
//
// A GoogleTest main() for test binaries that use ProcessPoolExecutor: it
// starts the fork server first (before a test or a global test environment
// can have started a thread), then runs the tests. Depend on
// //ipc:gtest_main instead of @com_google_googletest//:gtest_main.

#include "gtest/gtest.h"
#include "ipc/process_pool_executor.h"

int main(int argc, char** argv) {
  concurrent::ProcessPoolExecutor::start_fork_server();
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
