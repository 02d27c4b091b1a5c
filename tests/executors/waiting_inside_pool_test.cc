// Copyright 2026 The concurrent Authors.
//
// Waiting inside a thread pool, tested with a real pool. The contract
// (executors/thread_pool_executor.h, "Waiting inside the pool"):
//   * an untimed result()/exception() on a task of the same pool that no
//     worker has started runs it inline, in the waiting worker;
//   * a wait with a timeout, and wait()/as_completed() over any futures, never
//     run a task inline: they only wait (a timeout bounds the wait);
//   * an untimed wait that only the waiting task itself could end throws
//     DeadlockError;
//   * inline runs nest at most a bounded depth; past it the worker waits
//     normally (another worker runs the task).
// Also the regression tests of issue 9's defects 3, 5 and 7.

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "executors/thread_pool_executor.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "futures/internal/shared_state.h"
#include "futures/promise.h"
#include "futures/wait.h"
#include "gtest/gtest.h"
#include "tests/support/watchdog.h"

namespace concurrent {
namespace {

std::string Here() { return ThreadPoolExecutor::current_worker_name(); }

// A task that blocks until `gate` opens (at most `limit`), and returns the
// name of the worker that ran it.
Future<std::string> GatedTask(ThreadPoolExecutor& pool,
                              const absl::Notification& gate,
                              absl::Duration limit) {
  return pool.submit([&gate, limit] {
    gate.WaitForNotificationWithTimeout(limit);
    return Here();
  });
}

TEST(WaitingInsidePoolTest, UntimedResultRunsAQueuedTaskInline) {
  ThreadPoolExecutor pool(1);
  Future<bool> outer = pool.submit([&pool] {
    Future<std::string> inner = pool.submit([] { return Here(); });
    return inner.result() == Here();
  });
  EXPECT_TRUE(outer.result());
}

TEST(WaitingInsidePoolTest, UntimedExceptionRunsAQueuedTaskInline) {
  ThreadPoolExecutor pool(1);
  Future<bool> outer = pool.submit([&pool] {
    Future<int> inner =
        pool.submit([]() -> int { throw std::runtime_error("x"); });
    return inner.exception() != nullptr;
  });
  EXPECT_TRUE(outer.result());
}

// Defect 7: a timeout must bound the wait. The queued task would block for
// 2 s if this worker ran it; the waits below must give up after 50 ms with the
// task still pending, and leave it to a worker.
TEST(WaitingInsidePoolTest, TimedWaitsNeverRunAQueuedTaskInline) {
  ThreadPoolExecutor pool(1);
  absl::Notification gate;
  Future<std::string> queued;
  Future<std::vector<std::string>> outer = pool.submit([&] {
    std::vector<std::string> seen;
    queued = GatedTask(pool, gate, absl::Seconds(2));
    try {
      queued.result(absl::Milliseconds(50));
      seen.push_back("result(50ms) returned");
    } catch (const TimeoutError&) {
      seen.push_back("result: timeout");
    }
    auto [done, not_done] = wait(std::vector{queued}, absl::Milliseconds(50));
    seen.push_back(not_done.size() == 1 ? "wait: not done" : "wait: done");
    try {
      for (const auto& f :
           as_completed(std::vector{queued}, absl::Milliseconds(50))) {
        (void)f;
        seen.push_back("as_completed yielded");
      }
    } catch (const TimeoutError&) {
      seen.push_back("as_completed: timeout");
    }
    seen.push_back(queued.running() || queued.done() ? "task started"
                                                     : "task pending");
    return seen;
  });
  EXPECT_EQ(outer.result(), (std::vector<std::string>{
                                "result: timeout", "wait: not done",
                                "as_completed: timeout", "task pending"}));
  gate.Notify();
  EXPECT_FALSE(queued.result().empty());  // a worker ran it
}

// wait() and as_completed() never run tasks inline, even untimed: the queued
// task runs on the other worker.
TEST(WaitingInsidePoolTest, WaitAndAsCompletedLeaveQueuedTasksToWorkers) {
  ThreadPoolExecutor pool(2);
  Future<std::vector<bool>> outer = pool.submit([&pool] {
    std::vector<bool> ran_here;
    Future<std::string> a = pool.submit([] { return Here(); });
    wait(std::vector{a});
    ran_here.push_back(a.result() == Here());
    Future<std::string> b = pool.submit([] { return Here(); });
    for (const auto& f : as_completed(std::vector{b})) {
      ran_here.push_back(f.result() == Here());
    }
    return ran_here;
  });
  EXPECT_EQ(outer.result(), (std::vector<bool>{false, false}));
}

// Completes `promise` once a thread waits on its future through a listener
// (wait(), as_completed()), or once `give_up` is done.
std::thread CompleteWhenAwaited(Promise<int>& promise, AnyFuture give_up) {
  Future<int> f = promise.get_future();
  return std::thread([&promise, f, give_up] {
    const internal::StateBase* s = internal::FutureAccess::state(f);
    while ((s->word() & internal::kListeners) == 0 && !give_up.done()) {
      std::this_thread::yield();
    }
    promise.set_result(2);
  });
}

// Defect 5: waiting on a set that holds the task's own future is legitimate
// when another member can complete (it threw InvalidStateError).
TEST(WaitingInsidePoolTest, WaitOnASetWithTheTaskItselfReturnsWhenAnotherIs) {
  ThreadPoolExecutor pool(2);
  Promise<int> other_promise;
  Future<int> other = other_promise.get_future();
  absl::Notification have_self;
  AnyFuture self;
  Future<std::string> task = pool.submit([&]() -> std::string {
    have_self.WaitForNotification();
    auto [done, not_done] = wait({self, AnyFuture(other)}, absl::Seconds(5),
                                 ReturnWhen::kFirstCompleted);
    if (done.size() == 1 && done[0] == AnyFuture(other) &&
        not_done.size() == 1 && not_done[0] == self) {
      return "other done, self not";
    }
    return "unexpected split";
  });
  self = task;
  have_self.Notify();
  std::thread completer = CompleteWhenAwaited(other_promise, task);
  std::string got;
  try {
    got = task.result();
  } catch (const std::exception& e) {
    got = e.what();
  }
  completer.join();
  EXPECT_EQ(got, "other done, self not");
}

TEST(WaitingInsidePoolTest, AsCompletedOverASetWithTheTaskItselfYieldsOthers) {
  ThreadPoolExecutor pool(2);
  Promise<int> other_promise;
  Future<int> other = other_promise.get_future();
  absl::Notification have_self;
  AnyFuture self;
  Future<bool> task = pool.submit([&] {
    have_self.WaitForNotification();
    auto completed = as_completed({self, AnyFuture(other)}, absl::Seconds(5));
    return *completed.begin() == AnyFuture(other);
  });
  self = task;
  have_self.Notify();
  std::thread completer = CompleteWhenAwaited(other_promise, task);
  std::string got;
  try {
    got = task.result() ? "other first" : "self first";
  } catch (const std::exception& e) {
    got = e.what();
  }
  completer.join();
  EXPECT_EQ(got, "other first");
}

// An untimed wait that only the waiting task itself could end would never
// return: DeadlockError instead (result(), wait() and as_completed()).
TEST(WaitingInsidePoolTest, UntimedWaitsOnlyTheTaskItselfCouldEndThrow) {
  ThreadPoolExecutor pool(1);
  absl::Notification have_self;
  AnyFuture self;
  Promise<int> done_promise;
  done_promise.set_result(1);
  Future<int> done = done_promise.get_future();
  Future<std::vector<std::string>> task = pool.submit([&] {
    have_self.WaitForNotification();
    std::vector<std::string> seen;
    auto attempt = [&seen](const char* what, auto&& wait_fn) {
      try {
        wait_fn();
        seen.push_back(std::string(what) + " returned");
      } catch (const DeadlockError&) {
        seen.push_back(std::string(what) + ": DeadlockError");
      }
    };
    attempt("exception()", [&] { self.exception(); });
    attempt("wait(all)", [&] { wait({self, AnyFuture(done)}); });
    attempt("wait(first)", [&] {
      wait({self}, absl::InfiniteDuration(), ReturnWhen::kFirstCompleted);
    });
    attempt("as_completed", [&] {
      for (const AnyFuture& f : as_completed({self, AnyFuture(done)})) {
        (void)f;
      }
    });
    // With a timeout the wait just times out.
    attempt("wait(50ms)", [&] { wait({self}, absl::Milliseconds(50)); });
    return seen;
  });
  self = task;
  have_self.Notify();
  EXPECT_EQ(task.result(),
            (std::vector<std::string>{
                "exception(): DeadlockError", "wait(all): DeadlockError",
                "wait(first): DeadlockError", "as_completed: DeadlockError",
                "wait(50ms) returned"}));
}

// Defect 3: a chain of tasks, each waiting (untimed) on the next one's
// future, used to nest inline runs on one worker until the stack overflowed
// (SIGSEGV between depth 2,000 and 4,000). Inline runs now nest a bounded
// depth on one stack; deeper, the chain goes on on a fresh thread's stack
// while the worker waits, so it completes even with a single worker.
TEST(WaitingInsidePoolTest, DeepChainsOfInlineRunsDoNotOverflowTheStack) {
  constexpr int kDepth = 5000;
  ThreadPoolExecutor pool(1);
  std::function<int(int)> link = [&](int n) -> int {
    if (n == 0) return 0;
    return pool.submit(link, n - 1).result() + 1;
  };
  testing::FinishesWithin(absl::Seconds(120), "a chain of 5000 waits", [&] {
    EXPECT_EQ(pool.submit(link, kDepth).result(), kDepth);
  });
  EXPECT_EQ(pool.worker_count(), 1);
}

}  // namespace
}  // namespace concurrent
