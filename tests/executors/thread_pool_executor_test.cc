// Copyright 2026 The concurrent Authors.
//
// ThreadPoolExecutor beyond the common contract (executor_contract_test.cc):
// lazy start, idle reuse, names, initializer, robustness of workers, waiting
// inside the pool, shutdown from a worker, the around_task hook.

#include "executors/thread_pool_executor.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "gtest/gtest.h"
#include "tests/support/watchdog.h"

namespace concurrent {
namespace {

using Options = ThreadPoolExecutor::Options;

std::string KernelName() {
  char buf[64] = {};
  pthread_getname_np(pthread_self(), buf, sizeof(buf));
  return buf;
}

// Waits (yielding, bounded by the test's timeout) until every started worker
// is idle: a worker that completed a future goes idle just after.
void AwaitAllIdle(const ThreadPoolExecutor& pool) {
  while (pool.idle_worker_count() != pool.worker_count()) {
    std::this_thread::yield();
  }
}

// CPython 3.13: min(32, os.process_cpu_count() + 4), where process_cpu_count()
// is the size of the affinity mask.
TEST(ThreadPoolExecutorTest, DefaultMaxWorkersIsPythons) {
  cpu_set_t mask;
  ASSERT_EQ(sched_getaffinity(0, sizeof(mask), &mask), 0);
  ThreadPoolExecutor pool;
  EXPECT_EQ(pool.max_workers(), std::min(32, CPU_COUNT(&mask) + 4));
}

// Issue 9: under `taskset -c 0` CPython gives 5; we gave
// hardware_concurrency() + 4.
TEST(ThreadPoolExecutorTest, DefaultMaxWorkersCountsTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  int first = 0;
  while (!CPU_ISSET(first, &saved)) ++first;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);  // this thread only
  const int max_workers = ThreadPoolExecutor().max_workers();
  ASSERT_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
  EXPECT_EQ(max_workers, 5);
}

TEST(ThreadPoolExecutorTest, NonPositiveMaxWorkersIsRejected) {
  EXPECT_THROW(ThreadPoolExecutor(0), std::invalid_argument);
  EXPECT_THROW(ThreadPoolExecutor(-3), std::invalid_argument);
  EXPECT_THROW(ThreadPoolExecutor(Options{.max_workers = 0}),
               std::invalid_argument);
}

TEST(ThreadPoolExecutorTest, ThreadsStartLazily) {
  ThreadPoolExecutor pool(4);
  EXPECT_EQ(pool.worker_count(), 0);
  EXPECT_EQ(pool.submit([] { return 1; }).result(), 1);
  EXPECT_EQ(pool.worker_count(), 1);
}

TEST(ThreadPoolExecutorTest, IdleWorkerIsReusedBeforeANewOneStarts) {
  ThreadPoolExecutor pool(4);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(pool.submit([i] { return i; }).result(), i);
    AwaitAllIdle(pool);
  }
  EXPECT_EQ(pool.worker_count(), 1);
}

TEST(ThreadPoolExecutorTest, StartsUpToMaxWorkersWhenAllAreBusy) {
  constexpr int kWorkers = 3;
  ThreadPoolExecutor pool(kWorkers);
  // Each task waits for all of them to have started: only possible if the
  // pool runs kWorkers at once.
  absl::BlockingCounter all_started(kWorkers);
  absl::Notification go;
  std::vector<Future<void>> fs;
  for (int i = 0; i < kWorkers; ++i) {
    fs.push_back(pool.submit([&] {
      all_started.DecrementCount();
      go.WaitForNotification();
    }));
  }
  all_started.Wait();
  EXPECT_EQ(pool.worker_count(), kWorkers);
  go.Notify();
  for (const Future<void>& f : fs) f.result();
  // A further burst never starts more than max_workers threads.
  std::vector<Future<int>> more;
  for (int i = 0; i < 100; ++i) more.push_back(pool.submit([i] { return i; }));
  for (const Future<int>& f : more) f.result();
  EXPECT_EQ(pool.worker_count(), kWorkers);
}

TEST(ThreadPoolExecutorTest, ThreadsAreNamedPrefixUnderscoreN) {
  ThreadPoolExecutor pool(
      Options{.max_workers = 1, .thread_name_prefix = "io"});
  Future<std::string> full =
      pool.submit([] { return ThreadPoolExecutor::current_worker_name(); });
  Future<std::string> kernel = pool.submit(KernelName);
  EXPECT_EQ(full.result(), "io_0");
  EXPECT_EQ(kernel.result(), "io_0");
  EXPECT_EQ(pool.worker_names(), std::vector<std::string>{"io_0"});
  EXPECT_EQ(ThreadPoolExecutor::current_worker_name(), "");
}

TEST(ThreadPoolExecutorTest, LongNamesAreTruncatedForTheKernelOnly) {
  const std::string prefix = "a_rather_long_pool_name";
  ThreadPoolExecutor pool(
      Options{.max_workers = 1, .thread_name_prefix = prefix});
  Future<std::string> full =
      pool.submit([] { return ThreadPoolExecutor::current_worker_name(); });
  Future<std::string> kernel = pool.submit(KernelName);
  EXPECT_EQ(full.result(), prefix + "_0");
  EXPECT_EQ(kernel.result(), (prefix + "_0").substr(0, 15));
}

TEST(ThreadPoolExecutorTest, TruncationKeepsUtf8CharactersWhole) {
  // 14 ASCII bytes, then a 2-byte character across the 15-byte limit.
  const std::string prefix = "abcdefghijklmn\xC3\xA9t";
  ThreadPoolExecutor pool(
      Options{.max_workers = 1, .thread_name_prefix = prefix});
  EXPECT_EQ(pool.submit(KernelName).result(), "abcdefghijklmn");
}

TEST(ThreadPoolExecutorTest, DefaultPrefixIsThreadPoolExecutorK) {
  ThreadPoolExecutor pool(1);
  const std::string name =
      pool.submit([] { return ThreadPoolExecutor::current_worker_name(); })
          .result();
  EXPECT_EQ(name.rfind("ThreadPoolExecutor-", 0), 0u) << name;
  EXPECT_EQ(name.substr(name.size() - 2), "_0") << name;
}

thread_local int t_initialized = 0;

TEST(ThreadPoolExecutorTest, InitializerRunsOnceInEachWorkerBeforeItsTasks) {
  constexpr int kWorkers = 2;
  std::atomic<int> inits{0};
  ThreadPoolExecutor pool(Options{.max_workers = kWorkers, .initializer = [&] {
                                    ++t_initialized;
                                    inits.fetch_add(1);
                                  }});
  std::latch both(kWorkers);
  std::vector<Future<int>> fs;
  for (int i = 0; i < kWorkers; ++i) {
    fs.push_back(pool.submit([&both] {
      both.arrive_and_wait();  // both workers run at once
      return t_initialized;
    }));
  }
  for (const Future<int>& f : fs) EXPECT_EQ(f.result(), 1);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(pool.submit([] { return t_initialized; }).result(), 1);
  }
  pool.shutdown();
  EXPECT_EQ(inits.load(), kWorkers);
}

TEST(ThreadPoolExecutorTest, FailedInitializerBreaksThePool) {
  ThreadPoolExecutor pool(Options{.max_workers = 2, .initializer = [] {
                                    throw std::runtime_error("no database");
                                  }});
  Future<int> f = pool.submit([] { return 1; });
  try {
    f.result();
    FAIL() << "the task of a broken pool ran";
  } catch (const BrokenThreadPool& e) {
    EXPECT_NE(std::string(e.what()).find("no database"), std::string::npos)
        << e.what();
  }
  try {
    pool.submit([] { return 2; });
    FAIL() << "submit() to a broken pool did not throw";
  } catch (const BrokenThreadPool& e) {
    EXPECT_NE(std::string(e.what()).find("no database"), std::string::npos);
  }
  EXPECT_THROW(pool.submit([] {}), BrokenExecutor);
}

TEST(ThreadPoolExecutorTest, ThrowingTasksNeverKillAWorker) {
  ThreadPoolExecutor pool(1);
  std::vector<Future<void>> fs;
  for (int i = 0; i < 50; ++i) {
    fs.push_back(pool.submit([i] {
      if (i % 2) throw std::runtime_error("odd");
      throw i;  // not even a std::exception
    }));
  }
  for (const Future<void>& f : fs) EXPECT_NE(f.exception(), nullptr);
  EXPECT_EQ(pool.submit([] { return 7; }).result(), 7);
  EXPECT_EQ(pool.worker_count(), 1);
}

TEST(ThreadPoolExecutorTest, ThrowingCallbacksNeverKillAWorker) {
  CallbackExceptionHandler previous = set_callback_exception_handler(
      [](std::exception_ptr, std::string_view) {});
  ThreadPoolExecutor pool(1);
  absl::Notification gate;
  Future<void> blocker = pool.submit([&gate] { gate.WaitForNotification(); });
  std::vector<Future<int>> fs;
  for (int i = 0; i < 20; ++i) {
    fs.push_back(pool.submit([i] { return i; }));
    fs.back().add_done_callback([](const Future<int>&) { throw 1; });
  }
  gate.Notify();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(fs[i].result(), i);
  EXPECT_EQ(pool.submit([] { return 7; }).result(), 7);
  EXPECT_EQ(pool.worker_count(), 1);
  pool.shutdown();
  set_callback_exception_handler(previous);
}

TEST(ThreadPoolExecutorTest, TwoWorkersRunConcurrently) {
  ThreadPoolExecutor pool(2);
  absl::Notification a, b;
  Future<void> fa = pool.submit([&] {
    a.Notify();
    b.WaitForNotification();
  });
  Future<void> fb = pool.submit([&] {
    b.Notify();
    a.WaitForNotification();
  });
  fa.result();
  fb.result();
}

TEST(ThreadPoolExecutorTest, WaitingOnAQueuedTaskOfTheSamePoolRunsItInline) {
  ThreadPoolExecutor pool(1);
  Future<int> outer = pool.submit([&pool] {
    // The only worker is busy with this task: the inner one can only run if
    // this worker runs it.
    Future<std::string> inner =
        pool.submit([] { return ThreadPoolExecutor::current_worker_name(); });
    const std::string& ran_on = inner.result();
    return ran_on == ThreadPoolExecutor::current_worker_name() ? 1 : 0;
  });
  EXPECT_EQ(outer.result(), 1);
}

TEST(ThreadPoolExecutorTest, NestedInlineRunsAndExceptions) {
  ThreadPoolExecutor pool(1);
  Future<int> outer = pool.submit([&pool] {
    Future<int> failing =
        pool.submit([]() -> int { throw std::runtime_error("inner"); });
    Future<int> nested = pool.submit(
        [&pool] { return pool.submit([] { return 20; }).result() + 1; });
    int v = nested.result();
    try {
      failing.result();
    } catch (const std::runtime_error&) {
      v += 100;
    }
    return v;
  });
  EXPECT_EQ(outer.result(), 121);
}

TEST(ThreadPoolExecutorTest, WaitingOnItsOwnFutureIsADeadlockError) {
  ThreadPoolExecutor pool(1);
  Future<int> self;
  absl::Notification ready;
  Future<int> f = pool.submit([&] {
    ready.WaitForNotification();
    return self.result() + 1;  // would never end
  });
  self = f;
  ready.Notify();
  EXPECT_THROW(f.result(), DeadlockError);
}

TEST(ThreadPoolExecutorTest, ShutdownWaitFromAWorkerThrowsAndShutsDown) {
  ThreadPoolExecutor pool(2);
  Future<void> f = pool.submit([&pool] { pool.shutdown(/*wait=*/true); });
  EXPECT_THROW(f.result(), DeadlockError);
  EXPECT_THROW(pool.submit([] {}), ExecutorShutdownError);
}

TEST(ThreadPoolExecutorTest, ShutdownNoWaitFromAWorkerIsFine) {
  ThreadPoolExecutor pool(1);
  Future<int> f = pool.submit([&pool] {
    pool.shutdown(/*wait=*/false);
    return 3;
  });
  EXPECT_EQ(f.result(), 3);
  EXPECT_THROW(pool.submit([] {}), ExecutorShutdownError);
}

TEST(ThreadPoolExecutorTest, QueuedTasksStillRunAfterShutdownWithoutWait) {
  ThreadPoolExecutor pool(1);
  absl::Notification gate;
  Future<void> blocker = pool.submit([&gate] { gate.WaitForNotification(); });
  std::vector<Future<int>> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(pool.submit([i] { return i; }));
  pool.shutdown(/*wait=*/false);
  gate.Notify();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(fs[i].result(), i);
}

TEST(ThreadPoolExecutorTest, ConcurrentShutdownsAllReturnAfterTheTasks) {
  ThreadPoolExecutor pool(2);
  absl::Notification gate;
  std::vector<Future<void>> fs;
  for (int i = 0; i < 6; ++i) {
    fs.push_back(pool.submit([&gate] { gate.WaitForNotification(); }));
  }
  std::atomic<int> saw_all_done{0};
  std::vector<std::thread> closers;
  for (int i = 0; i < 3; ++i) {
    closers.emplace_back([&] {
      pool.shutdown(/*wait=*/true);
      bool all = true;
      for (const Future<void>& f : fs) all = all && f.done();
      if (all) saw_all_done.fetch_add(1);
    });
  }
  gate.Notify();
  for (std::thread& t : closers) t.join();
  EXPECT_EQ(saw_all_done.load(), 3);
}

// Issue 9, defect 2: a done callback of a task cancelled by
// shutdown(wait = true, cancel_futures = true) that destroys the pool made
// shutdown use freed memory afterwards (SIGSEGV; heap-use-after-free).
TEST(ThreadPoolExecutorTest, CallbackOfACancelledTaskMayDestroyThePool) {
  testing::FinishesWithin(absl::Seconds(30), "shutdown that destroys", [] {
    auto* pool = new ThreadPoolExecutor(1);
    absl::Notification started, gate;
    Future<void> busy = pool->submit([&] {
      started.Notify();
      gate.WaitForNotification();
    });
    started.WaitForNotification();
    Future<int> queued = pool->submit([] { return 1; });
    queued.add_done_callback([&](const Future<int>&) {
      gate.Notify();
      delete pool;  // joins the worker, which `gate` released
    });
    pool->shutdown(/*wait=*/true, /*cancel_futures=*/true);
    EXPECT_TRUE(queued.cancelled());
    EXPECT_TRUE(busy.done());
  });
}

// Issue 9, defect 6: shutdown(wait = true) returned while another thread's
// shutdown(cancel_futures = true) was still cancelling, with futures still
// pending. Thread A's cancellation stalls in the done callback of the first
// cancelled task (for up to 1 s); shutdown(wait = true) in this thread must
// not return before the second one is cancelled too.
TEST(ThreadPoolExecutorTest, ShutdownWaitsForAConcurrentCancellation) {
  ThreadPoolExecutor pool(1);
  absl::Notification started, gate, cancelling, waited;
  Future<void> busy = pool.submit([&] {
    started.Notify();
    gate.WaitForNotification();
  });
  started.WaitForNotification();
  Future<int> first = pool.submit([] { return 1; });
  Future<int> second = pool.submit([] { return 2; });
  first.add_done_callback([&](const Future<int>&) {
    cancelling.Notify();
    // Stands for a slow cancellation; ends early once the test has looked.
    waited.WaitForNotificationWithTimeout(absl::Seconds(1));
  });
  std::thread canceller(
      [&] { pool.shutdown(/*wait=*/false, /*cancel_futures=*/true); });
  cancelling.WaitForNotification();
  gate.Notify();  // the worker can finish and exit
  pool.shutdown(/*wait=*/true);
  const bool second_done = second.done();
  waited.Notify();
  canceller.join();
  EXPECT_TRUE(second_done);
  EXPECT_TRUE(second.cancelled());
}

thread_local bool t_inside_hook = false;

TEST(ThreadPoolExecutorTest, AroundTaskWrapsInitializerAndEveryTask) {
  std::atomic<int> hooks{0};
  std::atomic<bool> init_inside{false};
  ThreadPoolExecutor pool(
      Options{.max_workers = 2,
              .initializer = [&] { init_inside = t_inside_hook; },
              .around_task =
                  [&](absl::FunctionRef<void()> run) {
                    hooks.fetch_add(1);
                    t_inside_hook = true;
                    run();
                    t_inside_hook = false;
                  }});
  std::vector<Future<bool>> fs;
  for (int i = 0; i < 20; ++i) {
    fs.push_back(pool.submit([] { return t_inside_hook; }));
  }
  for (const Future<bool>& f : fs) EXPECT_TRUE(f.result());
  pool.shutdown();
  EXPECT_TRUE(init_inside.load());
  // 20 tasks, plus one initializer per started worker.
  EXPECT_EQ(hooks.load(), 20 + pool.worker_count());
}

TEST(ThreadPoolExecutorTest, AroundTaskThatSkipsTheTaskFailsIt) {
  ThreadPoolExecutor pool(Options{
      .max_workers = 1, .around_task = [](absl::FunctionRef<void()>) {}});
  EXPECT_THROW(pool.submit([] { return 1; }).result(), InvalidStateError);
}

// A cancelled task never runs: its callable and arguments are dropped when the
// pool lets go of it, not when the last Future handle goes (Python drops the
// work item), so what they own is released.
TEST(ThreadPoolExecutorTest, CancelledTaskReleasesItsCaptures) {
  ThreadPoolExecutor pool(1);
  absl::Notification gate;
  Future<void> busy = pool.submit([&] { gate.WaitForNotification(); });
  auto captured = std::make_shared<int>(1);
  Future<int> queued = pool.submit([captured] { return *captured; });
  EXPECT_TRUE(queued.cancel());
  gate.Notify();
  pool.shutdown();  // the worker has popped (and dropped) the task
  EXPECT_EQ(captured.use_count(), 1);
  EXPECT_TRUE(queued.cancelled());  // the future itself lives on
}

TEST(ThreadPoolExecutorTest, ShutdownCancelFuturesReleasesCaptures) {
  ThreadPoolExecutor pool(1);
  absl::Notification started, gate;
  Future<void> busy = pool.submit([&] {
    started.Notify();
    gate.WaitForNotification();
  });
  started.WaitForNotification();  // running: not cancellable
  auto captured = std::make_shared<int>(1);
  Future<int> queued = pool.submit([captured] { return *captured; });
  pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  EXPECT_TRUE(queued.cancelled());
  EXPECT_EQ(captured.use_count(), 1);
  gate.Notify();
  busy.result();
}

TEST(ThreadPoolExecutorTest, AroundTaskThatSkipsTheInitializerBreaksThePool) {
  ThreadPoolExecutor pool({.max_workers = 1,
                           .thread_name_prefix = "skipper",
                           .initializer = [] {},
                           .around_task = [](absl::FunctionRef<void()>) {}});
  Future<int> f = pool.submit([] { return 1; });
  try {
    f.result();
    FAIL() << "no exception";
  } catch (const BrokenThreadPool& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "around_task of thread pool 'skipper' returned without "
                  "running the initializer"),
              std::string::npos)
        << e.what();
  }
}

TEST(ThreadPoolExecutorTest, AroundTaskThrowingAfterTheInitializerIsIgnored) {
  ::testing::internal::CaptureStderr();
  {
    ThreadPoolExecutor pool({.max_workers = 1,
                             .initializer = [] {},
                             .around_task =
                                 [](absl::FunctionRef<void()> run) {
                                   run();
                                   throw std::runtime_error("after run");
                                 }});
    EXPECT_EQ(pool.submit([] { return 7; }).result(), 7);
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("threw after the initializer ran: after run"),
            std::string::npos)
      << err;
}

}  // namespace
}  // namespace concurrent
