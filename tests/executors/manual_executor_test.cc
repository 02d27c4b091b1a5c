// Copyright 2026 The concurrent Authors.

#include "executors/manual_executor.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "executors/inline_executor.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "gtest/gtest.h"

namespace concurrent {
namespace {

TEST(ManualExecutorTest, RunsOnlyWhenTheCrankTurns) {
  ManualExecutor manual;
  std::vector<int> order;
  Future<void> a = manual.submit([&] { order.push_back(1); });
  Future<void> b = manual.submit([&] { order.push_back(2); });
  EXPECT_EQ(manual.pending(), 2u);
  EXPECT_FALSE(a.done());
  EXPECT_TRUE(manual.run_one());
  EXPECT_TRUE(a.done());
  EXPECT_FALSE(b.done());
  EXPECT_EQ(manual.run_all(), 1u);
  EXPECT_FALSE(manual.run_one());
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(ManualExecutorTest, RunAllRunsTasksSubmittedByTasks) {
  ManualExecutor manual;
  int n = 0;
  manual.submit([&] {
    ++n;
    manual.submit([&] { ++n; });
  });
  EXPECT_EQ(manual.run_all(), 2u);
  EXPECT_EQ(n, 2);
}

TEST(ManualExecutorTest, ShutdownWithoutWaitKeepsTheQueueRunnable) {
  ManualExecutor manual;
  Future<int> f = manual.submit([] { return 4; });
  manual.shutdown(/*wait=*/false);
  EXPECT_THROW(manual.submit([] {}), ExecutorShutdownError);
  EXPECT_FALSE(f.done());
  EXPECT_TRUE(manual.run_one());
  EXPECT_EQ(f.result(), 4);
}

TEST(ManualExecutorTest, DriveOnWaitRunsTasksWhileTheThreadWaits) {
  ManualExecutor manual;
  Future<int> a = manual.submit([] { return 1; });
  Future<int> b = manual.submit([] { return 2; });
  Future<int> c = manual.submit([] { return 3; });
  ManualExecutor::DriveOnWait drive(manual);
  EXPECT_EQ(b.result(), 2);  // runs a, then b
  EXPECT_TRUE(a.done());
  EXPECT_FALSE(c.done());
  EXPECT_EQ(manual.pending(), 1u);
}

TEST(ManualExecutorTest, MapYieldsReadyResultsAfterTheDeadline) {
  ManualExecutor manual;
  auto results =
      manual.map([](int x) { return x + 10; }, std::vector<int>{0, 1, 2},
                 {.timeout = absl::ZeroDuration()});
  manual.run_one();  // only the first item is done
  auto it = results.begin();
  EXPECT_EQ(*it, 10);
  EXPECT_THROW(++it, TimeoutError);
  EXPECT_TRUE(it == results.end());
}

TEST(ManualExecutorTest, MapWithoutBuffersizeSubmitsEverythingAtTheCall) {
  ManualExecutor manual;
  auto results = manual.map([](int x) { return x; }, std::vector<int>(10, 1),
                            {.chunksize = 3});
  EXPECT_EQ(manual.pending(), 4u);  // chunks of 3, 3, 3, 1
  manual.run_all();
  int sum = 0;
  for (int y : results) sum += y;
  EXPECT_EQ(sum, 10);
}

TEST(InlineExecutorTest, RunsInTheCallerBeforeSubmitReturns) {
  InlineExecutor executor;
  int ran = 0;
  Future<void> f = executor.submit([&] { ++ran; });
  EXPECT_TRUE(f.done());
  EXPECT_EQ(ran, 1);
}

}  // namespace
}  // namespace concurrent
