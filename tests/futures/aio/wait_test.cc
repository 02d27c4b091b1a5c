// Copyright 2026 The concurrent Authors.
//
// aio::wait, aio::as_completed, aio::shield: the translatable behaviours of
// CPython's test_wait*, test_as_completed* and test_shield* (Lib/test/
// test_asyncio/test_tasks.py).

#include "futures/aio/wait.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "futures/aio/event_loop.h"
#include "futures/aio/gather.h"
#include "futures/errors.h"
#include "gtest/gtest.h"
#include "tests/futures/aio/test_support.h"

namespace concurrent::aio {
namespace {

using testing::RunBriefly;

class WaitTest : public ::testing::Test {
 protected:
  EventLoop loop_;
};

Coroutine<int> After(int ms, int v) {
  co_await sleep(absl::Milliseconds(ms));
  co_return v;
}
Coroutine<int> FailAfter(int ms) {
  co_await sleep(absl::Milliseconds(ms));
  throw std::runtime_error("failed");
}

Coroutine<int> WaitAll() {
  Task<int> a = create_task(After(10, 1));
  Task<int> b = create_task(After(15, 2));
  const absl::Duration start = get_running_loop().time();
  const std::vector<Task<int>> fs{b, a};
  DoneAndPending<int> r = co_await wait(fs);
  EXPECT_EQ(r.done.size(), 2u);
  EXPECT_TRUE(r.pending.empty());
  EXPECT_GE(get_running_loop().time() - start, absl::Milliseconds(15));
  co_return 42;
}

TEST_F(WaitTest, Wait) { EXPECT_EQ(loop_.run_until_complete(WaitAll()), 42); }

TEST_F(WaitTest, WaitErrors) {
  // wait() checks its arguments when called, before it is awaited.
  EXPECT_THROW(static_cast<void>(wait(std::vector<Future<int>>())),
               std::invalid_argument);
  std::vector<Future<int>> fs{loop_.create_future<int>()};
  EXPECT_THROW(static_cast<void>(wait(fs, absl::InfiniteDuration(),
                                      static_cast<ReturnWhen>(-1))),
               std::invalid_argument);
}

Coroutine<void> FirstCompleted() {
  Task<int> a = create_task(After(10'000, 1));
  Task<int> b = create_task(After(10, 2));
  std::vector<Task<int>> tasks{b, a};
  DoneAndPending<int> r = co_await wait(tasks, absl::InfiniteDuration(),
                                        ReturnWhen::kFirstCompleted);
  EXPECT_TRUE(r.done.size() == 1 && r.done[0] == b);
  EXPECT_TRUE(r.pending.size() == 1 && r.pending[0] == a);
  EXPECT_FALSE(a.done());
  a.cancel();
}

TEST_F(WaitTest, WaitFirstCompleted) {
  loop_.run_until_complete(FirstCompleted());
}

Coroutine<void> FirstException() {
  Task<int> a = create_task(After(10'000, 1));
  Task<int> b = create_task(FailAfter(10));
  const std::vector<Task<int>> fs{b, a};
  DoneAndPending<int> r =
      co_await wait(fs, absl::InfiniteDuration(), ReturnWhen::kFirstException);
  EXPECT_TRUE(r.done.size() == 1 && r.done[0] == b);
  EXPECT_TRUE(r.pending.size() == 1 && r.pending[0] == a);
  EXPECT_THROW(b.result(), std::runtime_error);
  a.cancel();
}

TEST_F(WaitTest, WaitFirstException) {
  loop_.run_until_complete(FirstException());
}

Coroutine<void> FirstExceptionNoneFails() {
  Task<int> a = create_task(After(5, 1));
  Task<int> b = create_task(After(10, 2));
  const std::vector<Task<int>> fs{a, b};
  DoneAndPending<int> r =
      co_await wait(fs, absl::InfiniteDuration(), ReturnWhen::kFirstException);
  // No failure: it waits for all, like ALL_COMPLETED.
  EXPECT_EQ(r.done.size(), 2u);
  EXPECT_TRUE(r.pending.empty());
}

TEST_F(WaitTest, WaitFirstExceptionWithoutFailureWaitsForAll) {
  loop_.run_until_complete(FirstExceptionNoneFails());
}

Coroutine<void> WithTimeout() {
  Task<int> a = create_task(After(5, 1));
  Task<int> b = create_task(After(10'000, 2));
  const std::vector<Task<int>> fs{a, b};
  DoneAndPending<int> r = co_await wait(fs, absl::Milliseconds(50));
  EXPECT_TRUE(r.done.size() == 1 && r.done[0] == a);
  EXPECT_TRUE(r.pending.size() == 1 && r.pending[0] == b);
  // wait() does not cancel what is pending.
  EXPECT_FALSE(b.cancelled());
  b.cancel();
}

TEST_F(WaitTest, WaitWithTimeoutReturnsWhatIsDone) {
  loop_.run_until_complete(WithTimeout());
}

Coroutine<void> WaitWithException() {
  Task<int> a = create_task(After(5, 1));
  Task<int> b = create_task(FailAfter(10));
  const std::vector<Task<int>> fs{a, b};
  DoneAndPending<int> r = co_await wait(fs);
  EXPECT_EQ(r.done.size(), 2u);
  // wait() never raises the futures' exceptions.
  EXPECT_THROW(b.result(), std::runtime_error);
}

TEST_F(WaitTest, WaitWithException) {
  loop_.run_until_complete(WaitWithException());
}

Coroutine<void> WaitDuplicates() {
  Task<int> a = create_task(After(1, 1));
  const std::vector<Task<int>> fs{a, a, a};
  DoneAndPending<int> r = co_await wait(fs);
  EXPECT_EQ(r.done.size(), 1u);
}

TEST_F(WaitTest, DuplicatesCountOnce) {
  loop_.run_until_complete(WaitDuplicates());
}

Coroutine<void> CancelTheWaiter(bool* cancelled) {
  Future<int> never = get_running_loop().create_future<int>();
  try {
    const std::vector<Future<int>> fs{never};
    co_await wait(fs);
  } catch (const CancelledError&) {
    *cancelled = true;
    EXPECT_FALSE(never.cancelled());  // wait() does not cancel its futures
    throw;
  }
}

TEST_F(WaitTest, CancellingAWaitingTaskLeavesTheFuturesAlone) {
  bool cancelled = false;
  Task<void> t = loop_.create_task(CancelTheWaiter(&cancelled));
  RunBriefly(loop_);
  t.cancel();
  EXPECT_THROW(loop_.run_until_complete(t), CancelledError);
  EXPECT_TRUE(cancelled);
}

// --- as_completed ---

Coroutine<std::vector<int>> CompletionOrder() {
  std::vector<Task<int>> tasks{create_task(After(30, 3)),
                               create_task(After(10, 1)),
                               create_task(After(20, 2))};
  AsCompleted<int> ac = as_completed(tasks);
  std::vector<int> order;
  for (std::size_t i = 0; i < ac.size(); ++i)
    order.push_back(co_await ac.next());
  co_return order;
}

TEST_F(WaitTest, AsCompletedYieldsInCompletionOrder) {
  EXPECT_EQ(loop_.run_until_complete(CompletionOrder()),
            (std::vector<int>{1, 2, 3}));
}

Coroutine<std::vector<std::string>> AsCompletedWithTimeout() {
  std::vector<Task<int>> tasks{create_task(After(5, 1)),
                               create_task(After(10'000, 2))};
  AsCompleted<int> ac = as_completed(tasks, absl::Milliseconds(100));
  std::vector<std::string> values;
  for (std::size_t i = 0; i < ac.size(); ++i) {
    try {
      values.push_back(std::to_string(co_await ac.next()));
    } catch (const TimeoutError&) {
      values.push_back("timeout");
    }
  }
  tasks[1].cancel();
  co_return values;
}

TEST_F(WaitTest, AsCompletedWithTimeout) {
  EXPECT_EQ(loop_.run_until_complete(AsCompletedWithTimeout()),
            (std::vector<std::string>{"1", "timeout"}));
}

Coroutine<int> AsCompletedUnusedTimeout() {
  std::vector<Task<int>> tasks{create_task(After(1, 7))};
  AsCompleted<int> ac = as_completed(tasks, absl::Seconds(100));
  co_return co_await ac.next();
}

TEST_F(WaitTest, AsCompletedWithUnusedTimeout) {
  EXPECT_EQ(loop_.run_until_complete(AsCompletedUnusedTimeout()), 7);
}

Coroutine<std::string> AsCompletedRethrows() {
  std::vector<Task<int>> tasks{create_task(FailAfter(1))};
  AsCompleted<int> ac = as_completed(tasks);
  try {
    co_await ac.next();
  } catch (const std::runtime_error& e) {
    co_return e.what();
  }
  co_return "";
}

TEST_F(WaitTest, AsCompletedRethrowsTheFuturesException) {
  EXPECT_EQ(loop_.run_until_complete(AsCompletedRethrows()), "failed");
}

Coroutine<void> AsCompletedTooManyNext() {
  std::vector<Task<int>> tasks{create_task(After(1, 1))};
  AsCompleted<int> ac = as_completed(tasks);
  co_await ac.next();
  co_await ac.next();
}

TEST_F(WaitTest, AsCompletedNextBeyondSizeIsInvalidState) {
  EXPECT_THROW(loop_.run_until_complete(AsCompletedTooManyNext()),
               InvalidStateError);
}

// --- shield ---

TEST_F(WaitTest, ShieldResult) {
  Future<int> inner = loop_.create_future<int>();
  Future<int> outer = shield(inner);
  inner.set_result(42);
  EXPECT_EQ(loop_.run_until_complete(outer), 42);
}

TEST_F(WaitTest, ShieldException) {
  Future<int> inner = loop_.create_future<int>();
  Future<int> outer = shield(inner);
  const std::exception_ptr exc =
      std::make_exception_ptr(std::runtime_error("x"));
  inner.set_exception(exc);
  RunBriefly(loop_);
  EXPECT_EQ(outer.exception(), exc);
}

TEST_F(WaitTest, ShieldCancelInner) {
  Future<int> inner = loop_.create_future<int>();
  Future<int> outer = shield(inner);
  RunBriefly(loop_);
  inner.cancel();
  RunBriefly(loop_);
  EXPECT_TRUE(outer.cancelled());
}

TEST_F(WaitTest, ShieldCancelOuter) {
  Future<int> inner = loop_.create_future<int>();
  Future<int> outer = shield(inner);
  RunBriefly(loop_);
  outer.cancel();
  RunBriefly(loop_);
  EXPECT_TRUE(outer.cancelled());
  EXPECT_FALSE(inner.cancelled());
}

TEST_F(WaitTest, ShieldShortcutForDoneFuture) {
  Future<int> fut = loop_.create_future<int>();
  fut.set_result(42);
  Future<int> res = shield(fut);
  EXPECT_TRUE(res == fut);
}

Coroutine<int> Inner(Future<int> f) { co_return co_await f; }

Coroutine<int> OuterAwaitsShield(Future<int> f, int* proof) {
  const int& v = co_await shield(Inner(f));
  *proof += 100;
  co_return v;
}

TEST_F(WaitTest, ShieldEffect) {
  // Cancelling the outer task does not cancel the inner one.
  int proof = 0;
  Future<int> waiter = loop_.create_future<int>();
  Task<int> outer = loop_.create_task(OuterAwaitsShield(waiter, &proof));
  RunBriefly(loop_);
  outer.cancel();
  EXPECT_THROW(loop_.run_until_complete(outer), CancelledError);
  EXPECT_FALSE(waiter.cancelled());
  waiter.set_result(1);
  RunBriefly(loop_);
  EXPECT_EQ(proof, 0);  // the outer task never resumed
}

TEST_F(WaitTest, ShieldGather) {
  Future<int> child1 = loop_.create_future<int>();
  Future<int> child2 = loop_.create_future<int>();
  Future<std::vector<int>> parent =
      gather(std::vector<Future<int>>{child1, child2});
  Future<std::vector<int>> outer = shield(parent);
  RunBriefly(loop_);
  outer.cancel();
  RunBriefly(loop_);
  EXPECT_TRUE(outer.cancelled());
  child1.set_result(1);
  child2.set_result(2);
  RunBriefly(loop_);
  EXPECT_EQ(parent.result(), (std::vector<int>{1, 2}));
}

TEST_F(WaitTest, GatherShield) {
  Future<int> child1 = loop_.create_future<int>();
  Future<int> child2 = loop_.create_future<int>();
  Future<int> inner1 = shield(child1);
  Future<int> inner2 = shield(child2);
  Future<std::vector<int>> parent =
      gather(std::vector<Future<int>>{inner1, inner2});
  RunBriefly(loop_);
  parent.cancel();
  // This should cancel inner1 and inner2 but not child1 and child2.
  RunBriefly(loop_);
  EXPECT_THROW(std::rethrow_exception(parent.exception()), CancelledError);
  EXPECT_TRUE(inner1.cancelled());
  EXPECT_TRUE(inner2.cancelled());
  child1.set_result(1);
  child2.set_result(2);
  RunBriefly(loop_);
}

}  // namespace
}  // namespace concurrent::aio
