// Copyright 2026 The concurrent Authors.
//
// The bridge between the two futures: wrap_future(), run_in_executor(),
// co_await of a concurrent::Future (CPython's test_wrap_future* of
// Lib/test/test_asyncio/test_futures.py, and the cases: a thread-pool
// future, a cancelled one, cancellation from the aio side, a loop closed
// before the worker finishes).

#include "futures/aio/wrap_future.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "executors/thread_pool_executor.h"
#include "futures/aio/event_loop.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "futures/promise.h"
#include "gtest/gtest.h"
#include "tests/futures/aio/test_support.h"

namespace concurrent::aio {
namespace {

using testing::RunBriefly;

class WrapFutureTest : public ::testing::Test {
 protected:
  EventLoop loop_;
  ThreadPoolExecutor pool_{ThreadPoolExecutor::Options{.max_workers = 2}};
};

// A ticker proves the loop keeps running while a worker computes.
Coroutine<int> Ticker(bool* stop) {
  int ticks = 0;
  while (!*stop) {
    co_await sleep(absl::Milliseconds(1));
    ++ticks;
  }
  co_return ticks;
}

Coroutine<std::string> AwaitWrapped(concurrent::Future<std::string> cf,
                                    std::thread::id* callback_thread) {
  Future<std::string> f = wrap_future(cf);
  f.add_done_callback([callback_thread](const Future<std::string>&) {
    *callback_thread = std::this_thread::get_id();
  });
  bool stop = false;
  Task<int> ticker = create_task(Ticker(&stop));
  std::string v = co_await f;
  stop = true;
  const int ticks = co_await ticker;
  EXPECT_GT(ticks, 0);  // the loop ran while the worker worked
  co_return v;
}

TEST_F(WrapFutureTest, WrapFutureOfAThreadPoolFuture) {
  absl::Notification release;
  std::thread::id worker;
  concurrent::Future<std::string> cf = pool_.submit([&] {
    worker = std::this_thread::get_id();
    release.WaitForNotificationWithTimeout(absl::Milliseconds(20));
    return std::string("oi");
  });
  std::thread::id callback_thread;
  EXPECT_EQ(loop_.run_until_complete(AwaitWrapped(cf, &callback_thread)), "oi");
  // Callbacks run on the loop's thread, not the worker's.
  EXPECT_EQ(callback_thread, std::this_thread::get_id());
  EXPECT_NE(worker, std::this_thread::get_id());
}

TEST_F(WrapFutureTest, WrapFutureOfAnAioFutureIsTheSameFuture) {
  Future<int> f1 = loop_.create_future<int>();
  Future<int> f2 = wrap_future(f1);
  EXPECT_TRUE(f1 == f2);
}

TEST_F(WrapFutureTest, WrapFutureOfACancelledFuture) {
  Promise<int> p;
  concurrent::Future<int> cf = p.get_future();
  EXPECT_TRUE(cf.cancel());
  Future<int> f = wrap_future(cf, &loop_);
  RunBriefly(loop_);
  EXPECT_TRUE(f.cancelled());
  EXPECT_THROW(f.result(), CancelledError);
}

TEST_F(WrapFutureTest, CancellingTheAioFutureCancelsTheConcurrentOne) {
  Promise<int> p;
  concurrent::Future<int> cf = p.get_future();
  Future<int> f = wrap_future(cf, &loop_);
  EXPECT_TRUE(f.cancel());
  RunBriefly(loop_);
  EXPECT_TRUE(cf.cancelled());
  EXPECT_TRUE(f.cancelled());
}

TEST_F(WrapFutureTest, CancelAfterTheConcurrentFutureFinished) {
  Promise<int> p;
  concurrent::Future<int> cf = p.get_future();
  Future<int> f = wrap_future(cf, &loop_);
  p.set_result(42);
  f.cancel();
  RunBriefly(loop_);
  EXPECT_FALSE(cf.cancelled());
  EXPECT_EQ(cf.result(), 42);
  EXPECT_TRUE(f.cancelled());
}

TEST_F(WrapFutureTest, ExceptionIsTheSameObject) {
  Promise<int> p;
  concurrent::Future<int> cf = p.get_future();
  Future<int> f = wrap_future(cf, &loop_);
  const std::exception_ptr e = std::make_exception_ptr(std::runtime_error("x"));
  p.set_exception(e);
  RunBriefly(loop_);
  EXPECT_EQ(f.exception(), e);
}

Coroutine<int> AwaitConcurrentDirectly(ThreadPoolExecutor* pool) {
  concurrent::Future<int> ready = pool->submit([] { return 1; });
  ready.result();  // done before the co_await: no suspension
  const int a = co_await ready;
  const int b = co_await pool->submit([] {
    absl::SleepFor(absl::Milliseconds(5));
    return 41;
  });
  co_return a + b;
}

TEST_F(WrapFutureTest, CoAwaitOfAConcurrentFuture) {
  EXPECT_EQ(loop_.run_until_complete(AwaitConcurrentDirectly(&pool_)), 42);
}

Coroutine<std::string> RunInExecutor(ThreadPoolExecutor* pool) {
  Future<std::string> f = get_running_loop().run_in_executor(
      *pool, [](const std::string& s, int n) { return s + std::to_string(n); },
      std::string("n="), 7);
  co_return co_await f;
}

TEST_F(WrapFutureTest, RunInExecutor) {
  EXPECT_EQ(loop_.run_until_complete(RunInExecutor(&pool_)), "n=7");
}

Coroutine<std::unique_ptr<int>> MoveOnly(ThreadPoolExecutor* pool) {
  co_return co_await pool->submit([] { return std::make_unique<int>(5); });
}

TEST_F(WrapFutureTest, MoveOnlyValueCrosses) {
  EXPECT_EQ(*loop_.run_until_complete(MoveOnly(&pool_)), 5);
}

Coroutine<void> CancelWhileWaiting(concurrent::Future<int> cf, bool* caught) {
  try {
    co_await cf;
  } catch (const CancelledError&) {
    *caught = true;
    throw;
  }
}

TEST_F(WrapFutureTest, CancellingTheAwaitingTaskCancelsAQueuedPoolTask) {
  ThreadPoolExecutor one(ThreadPoolExecutor::Options{.max_workers = 1});
  absl::Notification release;
  concurrent::Future<void> busy =
      one.submit([&] { release.WaitForNotification(); });
  concurrent::Future<int> queued = one.submit([] { return 1; });
  bool caught = false;
  Task<void> t = loop_.create_task(CancelWhileWaiting(queued, &caught));
  RunBriefly(loop_);
  t.cancel();
  EXPECT_THROW(loop_.run_until_complete(t), CancelledError);
  EXPECT_TRUE(caught);
  RunBriefly(loop_);  // the cancel reaches the concurrent future
  EXPECT_TRUE(queued.cancelled());
  release.Notify();
  busy.result();
}

TEST(WrapFutureLifetimeTest, LoopClosedBeforeTheWorkerFinishes) {
  ThreadPoolExecutor pool(ThreadPoolExecutor::Options{.max_workers = 1});
  absl::Notification release;
  concurrent::Future<int> cf;
  {
    EventLoop loop;
    cf = pool.submit([&] {
      release.WaitForNotification();
      return 3;
    });
    Future<int> f = wrap_future(cf, &loop);
    loop.close();
  }
  // The worker's post finds the loop gone: dropped, no crash, no leak.
  release.Notify();
  EXPECT_EQ(cf.result(), 3);
}

Coroutine<long> ManyHandOffs(ThreadPoolExecutor* pool, int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) sum += co_await pool->submit([i] { return i; });
  co_return sum;
}

TEST_F(WrapFutureTest, ManyHandOffs) {
  EXPECT_EQ(loop_.run_until_complete(ManyHandOffs(&pool_, 2000)),
            2000L * 1999 / 2);
}

}  // namespace
}  // namespace concurrent::aio
