// Copyright 2026 The concurrent Authors.
//
// The executor contract (tests/executors/executor_contract.h) over
// MpiCommExecutor, under mpirun with 3 ranks (tools/mpi/run_mpi.sh): the
// tests run on rank 0 while ranks 1 and 2 serve every executor they create.
// The contract's tasks are registered here, as ipc's registry needs; the
// tests that need a closure skip themselves (kRunsClosures = false).

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futures/future.h"
#include "gtest/gtest.h"
#include "ipc/mpi/mpi_comm_executor.h"
#include "ipc/task_registry.h"
#include "tests/executors/contract_tasks.h"
#include "tests/executors/executor_contract.h"
#include "tests/executors/executor_test_support.h"

namespace concurrent {
namespace testing {
namespace contract {

// Keeps a worker rank busy: creates `started`, then waits (at most 2 min)
// for `release` to exist.
int HoldRankUntil(std::string started, std::string release) {
  Touch(started);
  for (int i = 0; i < 120'000 && !Exists(release); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return 0;
}

CONCURRENT_REGISTER_TASK(HoldRankUntil);
CONCURRENT_REGISTER_TASK(Multiply);
CONCURRENT_REGISTER_TASK(Identity);
CONCURRENT_REGISTER_TASK(IntIdentity);
CONCURRENT_REGISTER_TASK(Square);
CONCURRENT_REGISTER_TASK(Double);
CONCURRENT_REGISTER_TASK(ToString);
CONCURRENT_REGISTER_TASK(ReturnOne);
CONCURRENT_REGISTER_TASK(ReturnThree);
CONCURRENT_REGISTER_TASK(ReturnFive);
CONCURRENT_REGISTER_TASK(ThrowTaskError);
CONCURRENT_REGISTER_TASK(FailAtFive);
CONCURRENT_REGISTER_TASK(Touch);
CONCURRENT_REGISTER_TASK(TouchVoid);
CONCURRENT_REGISTER_TASK(GatedTouch);
CONCURRENT_REGISTER_EXCEPTION(TaskError);

}  // namespace contract

template <>
struct ExecutorTraits<MpiCommExecutor> {
  static constexpr int kWorkers = 2;  // the worker ranks of run_mpi.sh 3
  // Tasks wait in the master while every worker rank runs a Hold task: an
  // executor none of whose tasks has finished sends one task per rank.
  static constexpr bool kCanHold = true;
  static constexpr bool kRunsClosures = false;
  static std::unique_ptr<MpiCommExecutor> make() {
    return std::make_unique<MpiCommExecutor>();
  }
  static void drive(MpiCommExecutor&) {}
  // While alive (and not released), tasks submitted afterwards stay in the
  // master: each worker rank runs a task that waits for a file.
  class Hold {
   public:
    explicit Hold(MpiCommExecutor& e)
        : release_(contract::TempPath("release")) {
      std::vector<std::string> started;
      for (int i = 0; i < kWorkers; ++i) {
        started.push_back(contract::TempPath("started"));
        blockers_.push_back(
            e.submit(contract::HoldRankUntil, started.back(), release_));
      }
      const absl::Time deadline = absl::Now() + absl::Seconds(30);
      for (const std::string& path : started) {
        while (!contract::Exists(path) && absl::Now() < deadline) {
          absl::SleepFor(absl::Milliseconds(1));
        }
        EXPECT_TRUE(contract::Exists(path)) << "a worker rank never started";
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
    explicit DriveOnWait(MpiCommExecutor&) {}
  };
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
