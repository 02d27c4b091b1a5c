// Copyright 2026 The concurrent Authors.
//
// The contract every Executor honours, run over each executor (typed
// GoogleTest, as folly's ThreadPoolExecutorTypedTest): the thread pool, the
// inline executor, the manual executor, and an executor written on the public
// extension point only (tests/executors/one_thread_executor.h). Add the
// process pool's ExecutorTraits and type below when it lands.

#include <atomic>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "executors/executor.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "gtest/gtest.h"
#include "tests/executors/executor_test_support.h"

namespace concurrent {
namespace {

using testing::ExecutorTraits;

struct TaskError : std::runtime_error {
  explicit TaskError(int i)
      : std::runtime_error("task error " + std::to_string(i)), item(i) {}
  int item;
};

template <typename E>
class ExecutorContractTest : public ::testing::Test {
 protected:
  using Traits = ExecutorTraits<E>;
  std::unique_ptr<E> executor_ = Traits::make();
  E& executor() { return *executor_; }
  void drive() { Traits::drive(*executor_); }
};

using testing::OneThreadExecutor;
using Executors = ::testing::Types<ThreadPoolExecutor, InlineExecutor,
                                   ManualExecutor, OneThreadExecutor>;
TYPED_TEST_SUITE(ExecutorContractTest, Executors);

TYPED_TEST(ExecutorContractTest, SubmitReturnsTheResultOfFnOfArgs) {
  Future<int> f =
      this->executor().submit([](int a, int b) { return a * b; }, 6, 7);
  this->drive();
  EXPECT_EQ(f.result(), 42);
}

TYPED_TEST(ExecutorContractTest, ArgumentsAreDecayCopied) {
  std::string s = "before";
  typename TestFixture::Traits::Hold hold(this->executor());
  Future<std::string> f =
      this->executor().submit([](std::string v) { return v; }, s);
  s = "after";
  hold.release();
  this->drive();
  EXPECT_EQ(f.result(), "before");
}

TYPED_TEST(ExecutorContractTest, MoveOnlyCallableAndArguments) {
  auto p = std::make_unique<int>(5);
  Future<int> f =
      this->executor().submit([q = std::make_unique<int>(2)](
                                  std::unique_ptr<int> v) { return *q * *v; },
                              std::move(p));
  this->drive();
  EXPECT_EQ(f.result(), 10);
}

TYPED_TEST(ExecutorContractTest, VoidTask) {
  int ran = 0;
  Future<void> f = this->executor().submit([&ran] { ++ran; });
  this->drive();
  f.result();
  EXPECT_EQ(ran, 1);
}

TYPED_TEST(ExecutorContractTest, TaskExceptionIsStoredAndRethrownAsIs) {
  Future<int> f = this->executor().submit([]() -> int { throw TaskError(7); });
  this->drive();
  const TaskError* first = nullptr;
  try {
    f.result();
    ADD_FAILURE() << "result() did not throw";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.item, 7);
    first = &e;
  }
  try {
    f.result();
  } catch (const TaskError& e) {
    EXPECT_EQ(&e, first) << "result() must rethrow the same object";
  }
  EXPECT_NE(f.exception(), nullptr);
}

TYPED_TEST(ExecutorContractTest, SubmitAfterShutdownThrows) {
  this->executor().shutdown();
  EXPECT_THROW(this->executor().submit([] { return 1; }),
               ExecutorShutdownError);
  EXPECT_THROW(
      this->executor().map([](int x) { return x; }, std::vector<int>{1, 2}),
      ExecutorShutdownError);
  // Idempotent.
  this->executor().shutdown();
  this->executor().shutdown(false, true);
}

TYPED_TEST(ExecutorContractTest, ShutdownWaitRunsEveryAcceptedTask) {
  std::atomic<int> ran{0};
  std::vector<Future<int>> fs;
  for (int i = 0; i < 50; ++i) {
    fs.push_back(this->executor().submit([&ran, i] {
      ran.fetch_add(1);
      return i;
    }));
  }
  this->executor().shutdown(/*wait=*/true);
  EXPECT_EQ(ran.load(), 50);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(fs[i].done());
    EXPECT_EQ(fs[i].result(), i);
  }
}

TYPED_TEST(ExecutorContractTest, DestructorWaitsForEveryAcceptedTask) {
  std::atomic<int> ran{0};
  std::vector<Future<void>> fs;
  {
    auto executor = TestFixture::Traits::make();
    for (int i = 0; i < 20; ++i) {
      fs.push_back(executor->submit([&ran] { ran.fetch_add(1); }));
    }
  }
  EXPECT_EQ(ran.load(), 20);
  for (const Future<void>& f : fs) EXPECT_TRUE(f.done());
}

TYPED_TEST(ExecutorContractTest, ShutdownCancelFuturesCancelsQueuedTasks) {
  if (!TestFixture::Traits::kCanHold) {
    GTEST_SKIP() << "this executor runs tasks inside submit()";
  }
  std::atomic<int> ran{0};
  std::vector<Future<void>> fs;
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    for (int i = 0; i < 10; ++i) {
      fs.push_back(this->executor().submit([&ran] { ran.fetch_add(1); }));
    }
    this->executor().shutdown(/*wait=*/false, /*cancel_futures=*/true);
    hold.release();
  }
  this->executor().shutdown(/*wait=*/true);
  EXPECT_EQ(ran.load(), 0);
  for (const Future<void>& f : fs) {
    EXPECT_TRUE(f.cancelled());
    EXPECT_THROW(f.result(), CancelledError);
  }
}

TYPED_TEST(ExecutorContractTest, CancelledBeforeRunNeverRuns) {
  if (!TestFixture::Traits::kCanHold) {
    GTEST_SKIP() << "this executor runs tasks inside submit()";
  }
  std::atomic<int> ran{0};
  Future<int> cancelled;
  Future<int> kept;
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    cancelled = this->executor().submit([&ran] { return ran.fetch_add(1); });
    kept = this->executor().submit([] { return 5; });
    EXPECT_TRUE(cancelled.cancel());
    EXPECT_TRUE(cancelled.cancelled());
    hold.release();
  }
  this->drive();
  EXPECT_EQ(kept.result(), 5);
  this->executor().shutdown();
  EXPECT_EQ(ran.load(), 0);
  EXPECT_THROW(cancelled.result(), CancelledError);
}

TYPED_TEST(ExecutorContractTest, CallbacksRunOnceBeforeAndAfterDone) {
  std::atomic<int> before{0};
  std::atomic<int> after{0};
  Future<int> f;
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    f = this->executor().submit([] { return 3; });
    f.add_done_callback([&before](const Future<int>& done) {
      before.fetch_add(done.result());
    });
    hold.release();
  }
  this->drive();
  EXPECT_EQ(f.result(), 3);
  // Added to a done future: runs at once, in this thread.
  f.add_done_callback(
      [&after](const Future<int>& done) { after.fetch_add(done.result()); });
  EXPECT_EQ(after.load(), 3);
  this->executor().shutdown();
  EXPECT_EQ(before.load(), 3);
}

TYPED_TEST(ExecutorContractTest, ThrowingCallbackLeavesTheExecutorUsable) {
  static std::atomic<int> reported{0};
  reported = 0;
  CallbackExceptionHandler previous = set_callback_exception_handler(
      [](std::exception_ptr, std::string_view) { reported.fetch_add(1); });
  Future<int> f;
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    f = this->executor().submit([] { return 1; });
    f.add_done_callback(
        [](const Future<int>&) { throw std::runtime_error("callback"); });
    hold.release();
  }
  this->drive();
  EXPECT_EQ(f.result(), 1);
  Future<int> g = this->executor().submit([] { return 2; });
  this->drive();
  EXPECT_EQ(g.result(), 2);
  this->executor().shutdown();
  set_callback_exception_handler(previous);
  EXPECT_EQ(reported.load(), 1);
}

TYPED_TEST(ExecutorContractTest, TasksMaySubmitTasks) {
  TypeParam* const e = &this->executor();
  Future<Future<int>> outer =
      e->submit([e] { return e->submit([] { return 9; }); });
  this->drive();
  EXPECT_EQ(outer.result().result(), 9);
}

TYPED_TEST(ExecutorContractTest, ThenOnTheExecutorRunsTheContinuation) {
  Future<int> f = this->executor().submit([] { return 20; });
  Future<int> g = f.then(this->executor(), [](int v) { return v + 1; });
  this->drive();
  EXPECT_EQ(g.result(), 21);
}

TYPED_TEST(ExecutorContractTest, ThenOnAShutDownExecutorFailsTheResult) {
  Future<int> f = this->executor().submit([] { return 20; });
  this->executor().shutdown(/*wait=*/true);
  Future<int> g = f.then(this->executor(), [](int v) { return v + 1; });
  EXPECT_THROW(g.result(), ExecutorShutdownError);
}

TYPED_TEST(ExecutorContractTest, MapYieldsResultsInInputOrder) {
  typename TestFixture::Traits::DriveOnWait drive(this->executor());
  std::vector<int> inputs;
  for (int i = 0; i < 100; ++i) inputs.push_back(i);
  std::vector<int> out;
  for (int y : this->executor().map([](int x) { return x * x; }, inputs)) {
    out.push_back(y);
  }
  ASSERT_EQ(out.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i], i * i);
}

TYPED_TEST(ExecutorContractTest, MapWithChunksKeepsOrder) {
  typename TestFixture::Traits::DriveOnWait drive(this->executor());
  std::vector<std::string> out;
  for (std::string& y :
       this->executor().map([](int x) { return std::to_string(x); },
                            std::views::iota(0, 23), {.chunksize = 5})) {
    out.push_back(std::move(y));
  }
  ASSERT_EQ(out.size(), 23u);
  for (int i = 0; i < 23; ++i) EXPECT_EQ(out[i], std::to_string(i));
}

TYPED_TEST(ExecutorContractTest, MapOfNothingIsEmpty) {
  int n = 0;
  for (int y :
       this->executor().map([](int x) { return x; }, std::vector<int>{})) {
    n += y + 1;
  }
  EXPECT_EQ(n, 0);
}

TYPED_TEST(ExecutorContractTest, MapRethrowsAtTheFailingItem) {
  for (std::size_t chunksize : {1, 3}) {
    typename TestFixture::Traits::DriveOnWait drive(this->executor());
    std::vector<int> seen;
    auto results = this->executor().map(
        [](int x) {
          if (x == 5) throw TaskError(x);
          return x;
        },
        std::views::iota(0, 10), {.chunksize = chunksize});
    try {
      for (int y : results) seen.push_back(y);
      ADD_FAILURE() << "iteration did not throw";
    } catch (const TaskError& e) {
      EXPECT_EQ(e.item, 5);
    }
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4})) << chunksize;
  }
}

TYPED_TEST(ExecutorContractTest, MapRejectsBadOptions) {
  auto fn = [](int x) { return x; };
  std::vector<int> in = {1};
  EXPECT_THROW(this->executor().map(fn, in, {.chunksize = 0}),
               std::invalid_argument);
  EXPECT_THROW(this->executor().map(fn, in, {.buffersize = 0}),
               std::invalid_argument);
}

TYPED_TEST(ExecutorContractTest, MapTimeoutIsMeasuredFromTheCall) {
  if (!TestFixture::Traits::kCanHold) {
    GTEST_SKIP() << "this executor runs tasks inside submit()";
  }
  std::atomic<int> ran{0};
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    auto results = this->executor().map(
        [&ran](int x) {
          ran.fetch_add(1);
          return x;
        },
        std::vector<int>{1, 2, 3}, {.timeout = absl::ZeroDuration()});
    // No task can have run: the deadline (the call) has passed.
    EXPECT_THROW(results.begin(), TimeoutError);
    hold.release();
  }
  // The timed-out map cancelled its tasks, as Python's map() does.
  this->executor().shutdown(/*wait=*/true);
  EXPECT_EQ(ran.load(), 0);
}

TYPED_TEST(ExecutorContractTest, MapBuffersizeBoundsInFlightItems) {
  typename TestFixture::Traits::DriveOnWait drive(this->executor());
  constexpr std::size_t kBuffer = 3;
  std::size_t consumed = 0;
  auto endless = std::views::iota(0) | std::views::transform([&](int i) {
                   ++consumed;
                   return i;
                 });
  auto results = this->executor().map([](int x) { return 2 * x; }, endless,
                                      {.buffersize = kBuffer});
  EXPECT_LE(consumed, kBuffer);
  std::size_t yielded = 0;
  for (int y : results) {
    EXPECT_EQ(y, 2 * static_cast<int>(yielded));
    ++yielded;
    EXPECT_LE(consumed, yielded + kBuffer);
    if (yielded == 50) break;
  }
  EXPECT_EQ(yielded, 50u);
}

TYPED_TEST(ExecutorContractTest, DroppingAMapCancelsItsPendingTasks) {
  if (!TestFixture::Traits::kCanHold) {
    GTEST_SKIP() << "this executor runs tasks inside submit()";
  }
  std::atomic<int> ran{0};
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    {
      auto results = this->executor().map(
          [&ran](int x) {
            ran.fetch_add(1);
            return x;
          },
          std::views::iota(0, 10));
    }
    hold.release();
  }
  this->executor().shutdown(/*wait=*/true);
  EXPECT_EQ(ran.load(), 0);
}

}  // namespace
}  // namespace concurrent
