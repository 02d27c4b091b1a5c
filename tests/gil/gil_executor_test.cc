// ThreadPoolExecutor tasks running "as Python threads": each task holds the
// GIL (hold_gil), lets others in at check points and releases it around
// blocking calls. No sleeps for synchronisation, no timing assertions.

#include <atomic>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "executors/thread_pool_executor.h"
#include "futures/future.h"
#include "futures/wait.h"
#include "gil/gil.h"
#include "gtest/gtest.h"
#include "tests/support/watchdog.h"

namespace concurrent {
namespace {

TEST(GilExecutorTest, TasksRunHoldingTheGil) {
  Gil gil;
  ThreadPoolExecutor pool({.max_workers = 2, .around_task = hold_gil(gil)});
  std::vector<Future<bool>> fs;
  for (int i = 0; i < 8; ++i) {
    fs.push_back(pool.submit([&gil] {
      return gil.held_by_current_thread() && current_gil() == &gil;
    }));
  }
  for (auto& f : fs) EXPECT_TRUE(f.result());
  EXPECT_GE(gil.stats().acquisitions, 8u);
}

// Only the GIL orders these plain (non-atomic) increments: TSan reports a
// race if two tasks ever run at once.
TEST(GilExecutorTest, TasksAreMutuallyExclusive) {
  Gil gil({.switch_interval = absl::Microseconds(50)});
  ThreadPoolExecutor pool({.max_workers = 2, .around_task = hold_gil(gil)});
  long counter = 0;
  std::vector<Future<void>> fs;
  for (int t = 0; t < 4; ++t) {
    fs.push_back(pool.submit([&counter] {
      for (int i = 0; i < 20000; ++i) {
        ++counter;
        check_gil();  // may hand the GIL to another task
      }
    }));
  }
  for (auto& f : fs) f.result();
  EXPECT_EQ(counter, 4 * 20000);
}

// A CPU-bound task that never blocks still lets a waiting task in: the waiter
// requests a drop after one switch interval and the holder drops the GIL at
// its next check point. Without that, this test never ends.
TEST(GilExecutorTest, CheckPointsLetAWaitingTaskIn) {
  Gil gil({.switch_interval = absl::Microseconds(200)});
  ThreadPoolExecutor pool({.max_workers = 2, .around_task = hold_gil(gil)});
  std::atomic<bool> second_ran{false};
  absl::Notification first_started;
  Future<long> spinner = pool.submit([&] {
    first_started.Notify();
    long checks = 0;
    while (!second_ran.load()) {
      check_gil();
      ++checks;
    }
    return checks;
  });
  first_started.WaitForNotification();
  Future<void> second = pool.submit([&] { second_ran.store(true); });
  second.result();
  EXPECT_GT(spinner.result(), 0);
  EXPECT_GE(gil.stats().forced_drops, 1u);
}

// A task that blocks without the GIL (Py_BEGIN_ALLOW_THREADS) lets another
// task run meanwhile; if the GIL were kept, the first would wait forever for
// the second.
TEST(GilExecutorTest, BlockingWithoutTheGilLetsOthersRun) {
  Gil gil;
  ThreadPoolExecutor pool({.max_workers = 2, .around_task = hold_gil(gil)});
  absl::Notification second_done;
  Future<void> first = pool.submit([&] {
    without_gil([&] { second_done.WaitForNotification(); });
    EXPECT_TRUE(gil.held_by_current_thread());  // taken back
  });
  Future<void> second = pool.submit([&] { second_done.Notify(); });
  first.result();
  second.result();
}

TEST(GilExecutorTest, GilSleepReleasesTheGil) {
  Gil gil;
  ThreadPoolExecutor pool({.max_workers = 2, .around_task = hold_gil(gil)});
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  std::vector<Future<void>> fs;
  for (int t = 0; t < 2; ++t) {
    fs.push_back(pool.submit([&] {
      for (int i = 0; i < 50; ++i) {
        gil_sleep(absl::ZeroDuration());  // I/O-bound: releases the GIL
      }
      const int now = inside.fetch_add(1) + 1;
      int seen = max_inside.load();
      while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
      }
      inside.fetch_sub(1);
    }));
  }
  for (auto& f : fs) f.result();
  EXPECT_EQ(max_inside.load(), 1);  // holding the GIL, never two at once
  EXPECT_GE(gil.stats().acquisitions, 2u * 51u);
}

// A worker that waits for a queued task of its own pool runs it inline; that
// task must hold the GIL too, whether the waiter released it (as a Python
// thread's blocking wait does) or kept it.
TEST(GilExecutorTest, TaskRunInlineByAWaitingWorkerHoldsTheGil) {
  Gil gil;
  ThreadPoolExecutor pool({.max_workers = 1, .around_task = hold_gil(gil)});
  auto holds = [&gil] { return gil.held_by_current_thread(); };
  Future<bool> released_wait = pool.submit([&] {
    Future<bool> inner = pool.submit(holds);  // queued: the only worker is us
    return without_gil([&] { return inner.result(); });
  });
  EXPECT_TRUE(released_wait.result());
  Future<bool> held_wait = pool.submit([&] {
    Future<bool> inner = pool.submit(holds);
    return inner.result();  // waits holding the GIL: runs inline, re-entrant
  });
  EXPECT_TRUE(held_wait.result());
}

// Issue 9, defect 4: a task holding the GIL that waits on a future must let go
// of the GIL while it is blocked, as CPython's Future.result() does: here the
// awaited task is running and needs the GIL back to finish. Both used to block
// forever. Each way of waiting is tried: result(), exception(), wait(),
// as_completed() and a when_all() future.
class GilWaitTest : public ::testing::TestWithParam<const char*> {};

TEST_P(GilWaitTest, WaitingTaskReleasesTheGilWhileBlocked) {
  const std::string how = GetParam();
  testing::FinishesWithin(
      absl::Seconds(30), "a GIL-holding wait (" + how + ")", [&] {
        Gil gil;
        ThreadPoolExecutor pool(
            {.max_workers = 2, .around_task = hold_gil(gil)});
        absl::Notification b_started, b_gate;
        // B runs, releases the GIL around a blocking call, and needs it back.
        Future<int> b = pool.submit([&] {
          b_started.Notify();
          without_gil([&] { b_gate.WaitForNotification(); });
          return 7;
        });
        b_started.WaitForNotification();
        // A takes the GIL, lets B go on and waits for B while holding the GIL.
        Future<bool> a = pool.submit([&] {
          b_gate.Notify();
          if (how == "result") {
            if (b.result() != 7) return false;
          } else if (how == "exception") {
            if (b.exception() != nullptr) return false;
          } else if (how == "wait") {
            if (wait(std::vector{b}).done.size() != 1) return false;
          } else if (how == "as_completed") {
            for (const Future<int>& f : as_completed(std::vector{b})) {
              if (!f.done()) return false;
            }
          } else if (how == "when_all") {
            if (when_all(std::vector{b}).result().size() != 1) return false;
          } else if (how == "result(timeout)") {
            if (b.result(absl::Seconds(20)) != 7) return false;
          }
          return gil.held_by_current_thread();  // taken back after the wait
        });
        EXPECT_TRUE(a.result());
        EXPECT_EQ(b.result(), 7);
      });
}

INSTANTIATE_TEST_SUITE_P(EveryWait, GilWaitTest,
                         ::testing::Values("result", "exception", "wait",
                                           "as_completed", "when_all",
                                           "result(timeout)"));

}  // namespace
}  // namespace concurrent
