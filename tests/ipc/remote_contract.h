// Copyright 2026 The concurrent Authors.
//
// What the executor contract (tests/executors/executor_contract.h) needs
// from an executor whose tasks run in other processes (ProcessPoolExecutor)
// or on other ranks (MpiCommExecutor): the contract's tasks registered by
// name (remote_contract.cc, linked in whole), and the traits both share.
// A test specializes ExecutorTraits<E> by deriving from
// RemoteExecutorTraits<E> and adding make().

#ifndef CONCURRENT_TESTS_IPC_REMOTE_CONTRACT_H_
#define CONCURRENT_TESTS_IPC_REMOTE_CONTRACT_H_

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futures/future.h"
#include "gtest/gtest.h"
#include "tests/executors/contract_tasks.h"

namespace concurrent {
namespace testing {
namespace contract {

// Keeps a worker busy: creates `started`, then waits (at most 2 min) for
// `release` to exist. Registered.
int HoldUntil(std::string started, std::string release);

}  // namespace contract

// Traits of an executor with two workers that runs registered functions
// only (the tests that need a closure skip themselves). Tasks wait in the
// executor while every worker runs a Hold task: a task whose duration the
// executor does not know yet is never queued behind another in a worker.
template <typename E>
struct RemoteExecutorTraits {
  static constexpr int kWorkers = 2;
  static constexpr bool kCanHold = true;
  static constexpr bool kRunsClosures = false;
  static void drive(E&) {}
  // While alive (and not released), tasks submitted afterwards stay in the
  // executor: each worker runs a task that waits for a file.
  class Hold {
   public:
    explicit Hold(E& e) : release_(contract::TempPath("release")) {
      std::vector<std::string> started;
      for (int i = 0; i < kWorkers; ++i) {
        started.push_back(contract::TempPath("started"));
        blockers_.push_back(
            e.submit(contract::HoldUntil, started.back(), release_));
      }
      const absl::Time deadline = absl::Now() + absl::Seconds(30);
      for (const std::string& path : started) {
        while (!contract::Exists(path) && absl::Now() < deadline) {
          absl::SleepFor(absl::Milliseconds(1));
        }
        EXPECT_TRUE(contract::Exists(path)) << "a worker never started";
      }
    }
    ~Hold() { release(); }
    void release() {
      if (!contract::Exists(release_)) contract::Touch(release_);
      for (const Future<int>& f : blockers_) f.result(absl::Seconds(30));
    }

   private:
    std::string release_;
    std::vector<Future<int>> blockers_;
  };
  struct DriveOnWait {
    explicit DriveOnWait(E&) {}
  };
};

}  // namespace testing
}  // namespace concurrent

#endif  // CONCURRENT_TESTS_IPC_REMOTE_CONTRACT_H_
