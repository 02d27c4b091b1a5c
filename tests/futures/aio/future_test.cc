// Copyright 2026 The concurrent Authors.
//
// aio::Future: the translatable behaviours of CPython's
// Lib/test/test_asyncio/test_futures.py (states, results, cancel messages,
// callback order and scheduling, InvalidStateError cases, await).

#include "futures/aio/future.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "futures/aio/event_loop.h"
#include "futures/aio/task.h"
#include "futures/errors.h"
#include "gtest/gtest.h"
#include "tests/futures/aio/test_support.h"

namespace concurrent::aio {
namespace {

using testing::RunBriefly;
using testing::What;

class FutureTest : public ::testing::Test {
 protected:
  EventLoop loop_;
};

TEST_F(FutureTest, InitialState) {
  Future<int> f = loop_.create_future<int>();
  EXPECT_FALSE(f.cancelled());
  EXPECT_FALSE(f.done());
  EXPECT_EQ(&f.get_loop(), &loop_);
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancelled());
}

TEST_F(FutureTest, Cancel) {
  Future<int> f = loop_.create_future<int>();
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_THROW(f.result(), CancelledError);
  EXPECT_THROW(f.exception(), CancelledError);
  EXPECT_THROW(f.set_result(42), InvalidStateError);
  EXPECT_THROW(
      f.set_exception(std::make_exception_ptr(std::runtime_error("x"))),
      InvalidStateError);
  // Unlike concurrent::Future, a second cancel() is refused.
  EXPECT_FALSE(f.cancel());
}

TEST_F(FutureTest, Result) {
  Future<int> f = loop_.create_future<int>();
  // result() never blocks: it refuses while pending.
  EXPECT_THROW(f.result(), InvalidStateError);
  EXPECT_THROW(f.exception(), InvalidStateError);
  f.set_result(42);
  EXPECT_FALSE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.result(), 42);
  EXPECT_EQ(f.exception(), nullptr);
  EXPECT_THROW(f.set_result(43), InvalidStateError);
  EXPECT_THROW(
      f.set_exception(std::make_exception_ptr(std::runtime_error("x"))),
      InvalidStateError);
  EXPECT_FALSE(f.cancel());
}

TEST_F(FutureTest, Exception) {
  Future<int> f = loop_.create_future<int>();
  const std::exception_ptr exc =
      std::make_exception_ptr(std::runtime_error("boom"));
  f.set_exception(exc);
  EXPECT_FALSE(f.cancelled());
  EXPECT_TRUE(f.done());
  EXPECT_THROW(f.result(), std::runtime_error);
  // The very object, not a copy.
  EXPECT_EQ(f.exception(), exc);
  EXPECT_THROW(f.set_result(1), InvalidStateError);
  EXPECT_FALSE(f.cancel());
}

TEST_F(FutureTest, SetExceptionNullIsInvalidArgument) {
  Future<int> f = loop_.create_future<int>();
  EXPECT_THROW(f.set_exception(nullptr), std::invalid_argument);
  EXPECT_FALSE(f.done());
}

TEST_F(FutureTest, CancelMessageReachesCancelledError) {
  Future<int> f = loop_.create_future<int>();
  EXPECT_TRUE(f.cancel("my message"));
  try {
    f.result();
    FAIL() << "result() of a cancelled future returned";
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "my message");
  }
  try {
    f.exception();
    FAIL();
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "my message");
  }
}

TEST_F(FutureTest, VoidFuture) {
  Future<void> f = loop_.create_future();
  f.set_result();
  EXPECT_TRUE(f.done());
  f.result();
  EXPECT_EQ(f.exception(), nullptr);
}

TEST_F(FutureTest, MoveOnlyValueMovesOutOnce) {
  Future<std::unique_ptr<int>> f = loop_.create_future<std::unique_ptr<int>>();
  f.set_result(std::make_unique<int>(7));
  EXPECT_EQ(*f.result(), 7);
  std::unique_ptr<int> v = Future<std::unique_ptr<int>>(f).result();
  EXPECT_EQ(*v, 7);
  EXPECT_THROW(f.result(), InvalidStateError);
}

TEST_F(FutureTest, InvalidHandleThrows) {
  Future<int> f;
  EXPECT_FALSE(f.valid());
  EXPECT_THROW(f.done(), InvalidStateError);
  EXPECT_THROW(f.result(), InvalidStateError);
}

// --- Done callbacks (BaseFutureDoneCallbackTests) ---

// An equality-comparable callback, as Python compares bound callables.
struct Append {
  std::vector<int>* bag;
  int value;
  void operator()(const Future<std::string>&) const { bag->push_back(value); }
  friend bool operator==(const Append&, const Append&) = default;
};

TEST_F(FutureTest, CallbacksInvokedOnSetResultInOrder) {
  std::vector<int> bag;
  Future<std::string> f = loop_.create_future<std::string>();
  f.add_done_callback(Append{&bag, 42});
  f.add_done_callback(Append{&bag, 17});
  EXPECT_TRUE(bag.empty());
  f.set_result("foo");
  // Scheduled with call_soon(), not run inline.
  EXPECT_TRUE(bag.empty());
  RunBriefly(loop_);
  EXPECT_EQ(bag, (std::vector<int>{42, 17}));
  EXPECT_EQ(f.result(), "foo");
}

TEST_F(FutureTest, CallbacksInvokedOnSetException) {
  std::vector<int> bag;
  Future<std::string> f = loop_.create_future<std::string>();
  f.add_done_callback(Append{&bag, 100});
  EXPECT_TRUE(bag.empty());
  const std::exception_ptr exc =
      std::make_exception_ptr(std::runtime_error("x"));
  f.set_exception(exc);
  RunBriefly(loop_);
  EXPECT_EQ(bag, (std::vector<int>{100}));
  EXPECT_EQ(f.exception(), exc);
}

TEST_F(FutureTest, CallbackOnDoneFutureIsScheduledNotInline) {
  std::vector<int> bag;
  Future<std::string> f = loop_.create_future<std::string>();
  f.set_result("done");
  f.add_done_callback(Append{&bag, 1});
  EXPECT_TRUE(bag.empty());
  RunBriefly(loop_);
  EXPECT_EQ(bag, (std::vector<int>{1}));
}

TEST_F(FutureTest, CallbacksRemoveFirstCallback) {
  std::vector<int> bag;
  Future<std::string> f = loop_.create_future<std::string>();
  const Append cb1{&bag, 42}, cb2{&bag, 17}, cb3{&bag, 100};
  f.add_done_callback(cb1);
  f.add_done_callback(cb2);
  f.add_done_callback(cb3);
  EXPECT_EQ(f.remove_done_callback(cb1), 1u);
  EXPECT_EQ(f.remove_done_callback(cb1), 0u);
  EXPECT_TRUE(bag.empty());
  f.set_result("foo");
  RunBriefly(loop_);
  EXPECT_EQ(bag, (std::vector<int>{17, 100}));
}

TEST_F(FutureTest, CallbacksRemoveFirstAndSecondCallback) {
  std::vector<int> bag;
  Future<std::string> f = loop_.create_future<std::string>();
  const Append cb1{&bag, 42}, cb2{&bag, 17}, cb3{&bag, 100};
  f.add_done_callback(cb1);
  f.add_done_callback(cb2);
  f.add_done_callback(cb3);
  f.remove_done_callback(cb1);
  f.remove_done_callback(cb2);
  f.set_result("foo");
  RunBriefly(loop_);
  EXPECT_EQ(bag, (std::vector<int>{100}));
}

TEST_F(FutureTest, CallbacksRemoveThirdCallback) {
  std::vector<int> bag;
  Future<std::string> f = loop_.create_future<std::string>();
  const Append cb1{&bag, 42}, cb2{&bag, 17}, cb3{&bag, 100};
  f.add_done_callback(cb1);
  f.add_done_callback(cb2);
  f.add_done_callback(cb3);
  f.remove_done_callback(cb3);
  f.set_result("foo");
  RunBriefly(loop_);
  EXPECT_EQ(bag, (std::vector<int>{42, 17}));
}

TEST_F(FutureTest, RemoveDoneCallbackCountsRemoved) {
  std::vector<int> bag;
  Future<std::string> f = loop_.create_future<std::string>();
  const Append cb1{&bag, 1}, cb2{&bag, 2}, cb3{&bag, 3};
  f.add_done_callback(cb1);
  f.add_done_callback(cb2);
  EXPECT_EQ(f.remove_done_callback(cb2), 1u);
  EXPECT_EQ(f.remove_done_callback(cb3), 0u);
  f.add_done_callback(cb2);
  for (int i = 0; i < 5; ++i) f.add_done_callback(cb1);
  EXPECT_EQ(f.remove_done_callback(cb1), 6u);
  EXPECT_TRUE(bag.empty());
  f.set_result("foo");
  RunBriefly(loop_);
  EXPECT_EQ(bag, (std::vector<int>{2}));
  EXPECT_EQ(f.result(), "foo");
}

TEST_F(FutureTest, RemoveDoneCallbackById) {
  std::vector<int> bag;
  Future<std::string> f = loop_.create_future<std::string>();
  const CallbackId a = f.add_done_callback(
      [&bag](const Future<std::string>&) { bag.push_back(1); });
  f.add_done_callback([&bag](const Future<std::string>&) { bag.push_back(2); });
  EXPECT_EQ(f.remove_done_callback(a), 1u);
  EXPECT_EQ(f.remove_done_callback(a), 0u);
  f.set_result("x");
  RunBriefly(loop_);
  EXPECT_EQ(bag, (std::vector<int>{2}));
}

TEST_F(FutureTest, RemoveAfterScheduledRemovesNothing) {
  std::vector<int> bag;
  Future<std::string> f = loop_.create_future<std::string>();
  const Append cb{&bag, 5};
  f.add_done_callback(cb);
  f.set_result("x");
  // Python clears the callback list when it schedules them.
  EXPECT_EQ(f.remove_done_callback(cb), 0u);
  RunBriefly(loop_);
  EXPECT_EQ(bag, (std::vector<int>{5}));
}

TEST_F(FutureTest, CallbackMayReadTheFuture) {
  Future<int> f = loop_.create_future<int>();
  int seen = 0;
  f.add_done_callback(
      [&seen](const Future<int>& done) { seen = done.result(); });
  f.set_result(9);
  RunBriefly(loop_);
  EXPECT_EQ(seen, 9);
}

TEST_F(FutureTest, ThrowingCallbackGoesToExceptionHandler) {
  testing::ReportLog log;
  log.install(loop_);
  Future<int> f = loop_.create_future<int>();
  bool second_ran = false;
  f.add_done_callback(
      [](const Future<int>&) { throw std::runtime_error("callback failed"); });
  f.add_done_callback([&](const Future<int>&) { second_ran = true; });
  f.set_result(1);
  RunBriefly(loop_);
  EXPECT_TRUE(second_ran);
  ASSERT_EQ(log.reports.size(), 1u);
  EXPECT_EQ(What(log.reports[0].exception), "callback failed");
}

TEST_F(FutureTest, CancelSchedulesCallbacks) {
  Future<int> f = loop_.create_future<int>();
  bool cancelled_seen = false;
  f.add_done_callback(
      [&](const Future<int>& done) { cancelled_seen = done.cancelled(); });
  f.cancel();
  EXPECT_FALSE(cancelled_seen);
  RunBriefly(loop_);
  EXPECT_TRUE(cancelled_seen);
}

// --- Awaiting ---

Coroutine<int> AwaitFuture(Future<int> f) {
  const int& v = co_await f;
  co_return v + 1;
}

TEST_F(FutureTest, AwaitSuspendsUntilDone) {
  Future<int> f = loop_.create_future<int>();
  Task<int> t = loop_.create_task(AwaitFuture(f));
  RunBriefly(loop_);
  EXPECT_FALSE(t.done());
  loop_.call_soon([f] { f.set_result(41); });
  EXPECT_EQ(loop_.run_until_complete(t), 42);
}

TEST_F(FutureTest, AwaitRethrowsTheStoredException) {
  Future<int> f = loop_.create_future<int>();
  f.set_exception(std::make_exception_ptr(std::out_of_range("oor")));
  EXPECT_THROW(loop_.run_until_complete(AwaitFuture(f)), std::out_of_range);
}

TEST_F(FutureTest, AwaitOfCancelledFutureThrowsItsMessage) {
  Future<int> f = loop_.create_future<int>();
  Task<int> t = loop_.create_task(AwaitFuture(f));
  RunBriefly(loop_);
  f.cancel("stop now");
  try {
    loop_.run_until_complete(t);
    FAIL();
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "stop now");
  }
  // The task let the CancelledError out: it is cancelled itself.
  EXPECT_TRUE(t.cancelled());
}

Coroutine<std::unique_ptr<int>> TakeFuture(Future<std::unique_ptr<int>> f) {
  std::unique_ptr<int> v = co_await std::move(f);
  co_return v;
}

TEST_F(FutureTest, AwaitOfRvalueMovesTheValueOut) {
  Future<std::unique_ptr<int>> f = loop_.create_future<std::unique_ptr<int>>();
  loop_.call_soon([f] { f.set_result(std::make_unique<int>(3)); });
  std::unique_ptr<int> v = loop_.run_until_complete(TakeFuture(f));
  EXPECT_EQ(*v, 3);
}

TEST_F(FutureTest, AwaitingAFutureOfAnotherLoopIsInvalidArgument) {
  EventLoop other;
  Future<int> foreign = other.create_future<int>();
  EXPECT_THROW(loop_.run_until_complete(AwaitFuture(foreign)),
               std::invalid_argument);
  EXPECT_THROW(loop_.run_until_complete(foreign), std::invalid_argument);
}

TEST_F(FutureTest, CreateFutureOnClosedLoopThrows) {
  loop_.close();
  EXPECT_THROW(loop_.create_future<int>(), InvalidStateError);
}

}  // namespace
}  // namespace concurrent::aio
