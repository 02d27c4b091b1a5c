// Copyright 2026 The concurrent Authors.

#include "executors/manual_executor.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "executors/inline_executor.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "gtest/gtest.h"
#include "tests/support/watchdog.h"

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

// Issue 9, defect 2: a done callback of a task cancelled by
// shutdown(wait = true, cancel_futures = true) that destroys the executor
// made shutdown use it afterwards (it hung on a destroyed mutex).
TEST(ManualExecutorTest, CallbackOfACancelledTaskMayDestroyTheExecutor) {
  testing::FinishesWithin(absl::Seconds(30), "shutdown that destroys", [] {
    auto* manual = new ManualExecutor;
    Future<int> queued = manual->submit([] { return 1; });
    queued.add_done_callback([&](const Future<int>&) { delete manual; });
    manual->shutdown(/*wait=*/true, /*cancel_futures=*/true);
    EXPECT_TRUE(queued.cancelled());
  });
}

// ... and a task run by shutdown(wait = true) (or run_all()) may destroy it.
TEST(ManualExecutorTest, TaskRunByShutdownMayDestroyTheExecutor) {
  testing::FinishesWithin(absl::Seconds(30), "shutdown that destroys", [] {
    auto* manual = new ManualExecutor;
    Future<void> killer = manual->submit([&] { delete manual; });
    manual->shutdown(/*wait=*/true);
    EXPECT_TRUE(killer.done());
  });
}

// Issue 9, defect 6, for the manual executor: shutdown(wait = true) must not
// return while another thread's shutdown(cancel_futures = true) cancels.
TEST(ManualExecutorTest, ShutdownWaitsForAConcurrentCancellation) {
  ManualExecutor manual;
  absl::Notification cancelling, waited;
  Future<int> first = manual.submit([] { return 1; });
  Future<int> second = manual.submit([] { return 2; });
  first.add_done_callback([&](const Future<int>&) {
    cancelling.Notify();
    waited.WaitForNotificationWithTimeout(absl::Seconds(1));
  });
  std::thread canceller(
      [&] { manual.shutdown(/*wait=*/false, /*cancel_futures=*/true); });
  cancelling.WaitForNotification();
  manual.shutdown(/*wait=*/true);
  const bool second_done = second.done();
  waited.Notify();
  canceller.join();
  EXPECT_TRUE(second_done);
  EXPECT_TRUE(second.cancelled());
}

}  // namespace
}  // namespace concurrent
