// Copyright 2026 The concurrent Authors.
//
// aio::gather: the translatable behaviours of CPython's GatherTestsBase,
// FutureGatherTests and CoroutineGatherTests (Lib/test/test_asyncio/
// test_tasks.py): order of results, the first exception, return_exceptions,
// cancellation of the gather and of its children.

#include "futures/aio/gather.h"

#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "futures/aio/event_loop.h"
#include "futures/errors.h"
#include "gtest/gtest.h"
#include "tests/futures/aio/test_support.h"

namespace concurrent::aio {
namespace {

using testing::RunBriefly;
using testing::What;

class GatherTest : public ::testing::Test {
 protected:
  EventLoop loop_;
};

Coroutine<std::vector<int>> GatherFutures(std::vector<Future<int>> fs) {
  co_return co_await gather(fs);
}

TEST_F(GatherTest, ResultInArgumentOrder) {
  std::vector<Future<int>> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(loop_.create_future<int>());
  Task<std::vector<int>> t = loop_.create_task(GatherFutures(fs));
  RunBriefly(loop_);
  EXPECT_FALSE(t.done());
  fs[2].set_result(3);
  fs[0].set_result(1);
  RunBriefly(loop_);
  EXPECT_FALSE(t.done());
  fs[1].set_result(2);
  EXPECT_EQ(loop_.run_until_complete(t), (std::vector<int>{1, 2, 3}));
}

Coroutine<int> After(int ms, int v) {
  co_await sleep(absl::Milliseconds(ms));
  co_return v;
}
Coroutine<std::string> Word() { co_return "w"; }
Coroutine<void> Nothing() { co_return; }

Coroutine<bool> Heterogeneous() {
  std::tuple<int, std::string, std::monostate> r =
      co_await gather(After(5, 1), Word(), Nothing());
  co_return std::get<0>(r) == 1 && std::get<1>(r) == "w";
}

TEST_F(GatherTest, VariadicOfDifferentTypes) {
  EXPECT_TRUE(loop_.run_until_complete(Heterogeneous()));
}

Coroutine<std::size_t> GatherNothing() {
  std::tuple<> none = co_await gather();
  std::vector<int> empty = co_await gather(std::vector<Future<int>>());
  (void)none;
  co_return empty.size();
}

TEST_F(GatherTest, EmptyGatherIsDoneAtOnce) {
  EXPECT_EQ(loop_.run_until_complete(GatherNothing()), 0u);
}

TEST_F(GatherTest, OneExceptionIsSetAtOnceOthersGoOn) {
  std::vector<Future<int>> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(loop_.create_future<int>());
  Future<std::vector<int>> outer = gather(fs);
  fs[0].set_result(1);
  fs[1].set_exception(std::make_exception_ptr(std::runtime_error("child 1")));
  RunBriefly(loop_);
  ASSERT_TRUE(outer.done());
  EXPECT_EQ(What(outer.exception()), "child 1");
  // The other children are not cancelled.
  EXPECT_FALSE(fs[2].cancelled());
  fs[2].set_result(3);
  RunBriefly(loop_);
}

TEST_F(GatherTest, ReturnExceptionsCollectsEveryOutcome) {
  std::vector<Future<int>> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(loop_.create_future<int>());
  Future<std::vector<Outcome<int>>> outer = gather(return_exceptions, fs);
  fs[0].set_result(1);
  const std::exception_ptr e1 =
      std::make_exception_ptr(std::runtime_error("one"));
  fs[1].set_exception(e1);
  fs[2].cancel("gone");
  fs[3].set_result(4);
  RunBriefly(loop_);
  ASSERT_TRUE(outer.done());
  const std::vector<Outcome<int>>& r = outer.result();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(std::get<0>(r[0]), 1);
  EXPECT_EQ(std::get<1>(r[1]), e1);
  EXPECT_EQ(What(std::get<1>(r[2])), "gone");
  try {
    std::rethrow_exception(std::get<1>(r[2]));
  } catch (const CancelledError&) {
  } catch (...) {
    ADD_FAILURE() << "a cancelled child's outcome is its CancelledError";
  }
  EXPECT_EQ(std::get<0>(r[3]), 4);
}

TEST_F(GatherTest, OneCancelledChildFailsTheGatherWithCancelledError) {
  std::vector<Future<int>> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(loop_.create_future<int>());
  Future<std::vector<int>> outer = gather(fs);
  fs[0].set_result(1);
  fs[1].cancel();
  RunBriefly(loop_);
  ASSERT_TRUE(outer.done());
  // Python: fut.cancelled() is False, but exception() is a CancelledError.
  EXPECT_FALSE(outer.cancelled());
  EXPECT_THROW(std::rethrow_exception(outer.exception()), CancelledError);
  fs[2].set_result(3);
  RunBriefly(loop_);
}

TEST_F(GatherTest, DuplicateFutureCountsOnce) {
  Future<int> a = loop_.create_future<int>();
  Future<std::vector<int>> outer = gather(std::vector<Future<int>>{a, a});
  a.set_result(7);
  RunBriefly(loop_);
  ASSERT_TRUE(outer.done());
  EXPECT_EQ(outer.result(), (std::vector<int>{7, 7}));
}

TEST_F(GatherTest, MixedLoopsAreRefused) {
  EventLoop other;
  std::vector<Future<int>> fs{loop_.create_future<int>(),
                              other.create_future<int>()};
  EXPECT_THROW(gather(fs), std::invalid_argument);
}

// --- Cancellation (CoroutineGatherTests) ---

Coroutine<void> Inner(Future<void> waiter, int* proof) {
  co_await waiter;
  ++*proof;
}

Coroutine<void> Outer(Task<void> child1, Task<void> child2,
                      Future<std::tuple<std::monostate, std::monostate>>* out,
                      int* proof) {
  *out = gather(child1, child2);
  co_await *out;
  *proof += 100;
}

TEST_F(GatherTest, CancellationBroadcast) {
  int proof = 0;
  Future<void> waiter = loop_.create_future();
  Task<void> child1 = loop_.create_task(Inner(waiter, &proof));
  Task<void> child2 = loop_.create_task(Inner(waiter, &proof));
  Future<std::tuple<std::monostate, std::monostate>> gatherer;
  Task<void> f = loop_.create_task(Outer(child1, child2, &gatherer, &proof));
  RunBriefly(loop_);
  EXPECT_TRUE(f.cancel());
  EXPECT_THROW(loop_.run_until_complete(f), CancelledError);
  EXPECT_FALSE(gatherer.cancel());
  EXPECT_TRUE(waiter.cancelled());
  EXPECT_TRUE(child1.cancelled());
  EXPECT_TRUE(child2.cancelled());
  RunBriefly(loop_);
  EXPECT_EQ(proof, 0);
}

Coroutine<int> ChildOf(Future<int> fut) { co_return co_await fut; }

// The indirection future -> child coroutine keeps the gather from finishing
// in the same iteration as the future.
Coroutine<void> MakeGather(Future<int> fut, Future<std::tuple<int>>* out) {
  *out = gather(ChildOf(fut));
  co_return;
}

TEST_F(GatherTest, CancelGatherOnceAllChildrenAreDoneIsRefused) {
  // bpo-26923: a gathering future refuses to be cancelled once its children
  // are done.
  Future<int> fut = loop_.create_future<int>();
  Future<std::tuple<int>> gathered;
  loop_.run_until_complete(MakeGather(fut, &gathered));
  std::optional<bool> cancel_result;
  fut.add_done_callback(
      [&](const Future<int>&) { cancel_result = gathered.cancel(); });
  fut.set_result(42);
  loop_.run_until_complete(gathered);
  ASSERT_TRUE(cancel_result.has_value());
  EXPECT_FALSE(*cancel_result);
  EXPECT_FALSE(gathered.cancelled());
  EXPECT_EQ(std::get<0>(gathered.result()), 42);
}

Coroutine<void> GatherLoop() {
  // Python's test_cancel_gather_2: gather(sleep, return_exceptions=True) in a
  // loop; the cancel must not be swallowed by return_exceptions.
  for (int i = 0; i < 1000; ++i) {
    co_await gather(return_exceptions, After(1, 0));
  }
}

Coroutine<void> CancelTheLooper(std::string* what) {
  Task<void> qwe = create_task(GatherLoop());
  co_await sleep(absl::Milliseconds(10));
  qwe.cancel("my message");
  try {
    co_await qwe;
  } catch (const CancelledError& e) {
    *what = e.what();
  }
}

TEST_F(GatherTest, CancelGatherWithReturnExceptionsStillCancels) {
  std::string what;
  loop_.run_until_complete(CancelTheLooper(&what));
  EXPECT_EQ(what, "my message");
}

TEST_F(GatherTest, CancellingTheGatherCancelsChildrenAndFails) {
  std::vector<Future<int>> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(loop_.create_future<int>());
  Future<std::vector<Outcome<int>>> outer = gather(return_exceptions, fs);
  fs[0].set_result(1);
  RunBriefly(loop_);
  EXPECT_TRUE(outer.cancel("stop"));
  EXPECT_TRUE(fs[1].cancelled());
  EXPECT_TRUE(fs[2].cancelled());
  RunBriefly(loop_);
  ASSERT_TRUE(outer.done());
  // Even with return_exceptions, a requested cancellation fails the gather.
  EXPECT_THROW(std::rethrow_exception(outer.exception()), CancelledError);
  EXPECT_EQ(What(outer.exception()), "stop");
}

Coroutine<int> Fails() {
  co_await sleep(absl::ZeroDuration());
  throw std::domain_error("bad");
}

Coroutine<std::string> GatherCoroutinesThatFail() {
  try {
    co_await gather(After(1, 1), Fails());
  } catch (const std::domain_error& e) {
    co_return e.what();
  }
  co_return "no error";
}

TEST_F(GatherTest, ExceptionOfACoroutineReachesTheAwaiter) {
  EXPECT_EQ(loop_.run_until_complete(GatherCoroutinesThatFail()), "bad");
}

}  // namespace
}  // namespace concurrent::aio
