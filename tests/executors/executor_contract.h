// Copyright 2026 The concurrent Authors.
//
// The contract every Executor honours, as a type-parameterized GoogleTest
// suite (as folly's ThreadPoolExecutorTypedTest): instantiate it over an
// executor type E for which testing::ExecutorTraits<E>
// (tests/executors/executor_test_support.h) is defined:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(Mine, ExecutorContractTest,
//                                  ::testing::Types<MyExecutor>);
//
// tests/executors/executor_contract_test.cc runs it over the in-process
// executors, tests/ipc/process_pool_contract_test.cc over the process pool.
// The tasks are free functions (tests/executors/contract_tasks.h), so that
// the process pool runs them too (it registers them), and their side
// effects are files. Tests that need a closure (a lambda that captures, a
// task that submits tasks, then() on the executor) run only for executors
// whose traits do not say `kRunsClosures = false`.

#ifndef CONCURRENT_TESTS_EXECUTORS_EXECUTOR_CONTRACT_H_
#define CONCURRENT_TESTS_EXECUTORS_EXECUTOR_CONTRACT_H_

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
#include "futures/promise.h"
#include "gtest/gtest.h"
#include "tests/executors/contract_tasks.h"
#include "tests/executors/executor_test_support.h"

namespace concurrent {
namespace testing {

// Whether the executor runs arbitrary callables (false for the process pool,
// which runs registered functions only).
template <typename Traits>
constexpr bool RunsClosures() {
  if constexpr (requires { Traits::kRunsClosures; }) {
    return Traits::kRunsClosures;
  } else {
    return true;
  }
}

template <typename E>
class ExecutorContractTest : public ::testing::Test {
 protected:
  using Traits = ExecutorTraits<E>;
  static constexpr bool kRunsClosures = RunsClosures<Traits>();
  std::unique_ptr<E> executor_ = Traits::make();
  E& executor() { return *executor_; }
  void drive() { Traits::drive(*executor_); }
};

TYPED_TEST_SUITE_P(ExecutorContractTest);

namespace contract_test {
using contract::Exists;
using contract::TaskError;
using contract::TempPath;
}  // namespace contract_test

TYPED_TEST_P(ExecutorContractTest, SubmitReturnsTheResultOfFnOfArgs) {
  Future<int> f = this->executor().submit(contract::Multiply, 6, 7);
  this->drive();
  EXPECT_EQ(f.result(), 42);
}

TYPED_TEST_P(ExecutorContractTest, ArgumentsAreDecayCopied) {
  std::string s = "before";
  typename TestFixture::Traits::Hold hold(this->executor());
  Future<std::string> f = this->executor().submit(contract::Identity, s);
  s = "after";
  hold.release();
  this->drive();
  EXPECT_EQ(f.result(), "before");
}

TYPED_TEST_P(ExecutorContractTest, MoveOnlyCallableAndArguments) {
  if constexpr (!TestFixture::kRunsClosures) {
    GTEST_SKIP() << "this executor runs registered functions only";
  } else {
    auto p = std::make_unique<int>(5);
    Future<int> f =
        this->executor().submit([q = std::make_unique<int>(2)](
                                    std::unique_ptr<int> v) { return *q * *v; },
                                std::move(p));
    this->drive();
    EXPECT_EQ(f.result(), 10);
  }
}

TYPED_TEST_P(ExecutorContractTest, VoidTask) {
  const std::string path = contract_test::TempPath("void");
  Future<void> f = this->executor().submit(contract::TouchVoid, path);
  this->drive();
  f.result();
  EXPECT_TRUE(contract_test::Exists(path));
}

TYPED_TEST_P(ExecutorContractTest, TaskExceptionIsStoredAndRethrownAsIs) {
  using contract_test::TaskError;
  Future<int> f = this->executor().submit(contract::ThrowTaskError, 7);
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

TYPED_TEST_P(ExecutorContractTest, SubmitAfterShutdownThrows) {
  this->executor().shutdown();
  EXPECT_THROW(this->executor().submit(contract::ReturnOne),
               ExecutorShutdownError);
  EXPECT_THROW(
      this->executor().map(contract::IntIdentity, std::vector<int>{1, 2}),
      ExecutorShutdownError);
  // Idempotent.
  this->executor().shutdown();
  this->executor().shutdown(false, true);
}

TYPED_TEST_P(ExecutorContractTest, ShutdownWaitRunsEveryAcceptedTask) {
  std::vector<Future<int>> fs;
  for (int i = 0; i < 50; ++i) {
    fs.push_back(this->executor().submit(contract::IntIdentity, i));
  }
  this->executor().shutdown(/*wait=*/true);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(fs[i].done());
    EXPECT_EQ(fs[i].result(), i);
  }
}

TYPED_TEST_P(ExecutorContractTest, DestructorWaitsForEveryAcceptedTask) {
  std::vector<std::string> paths;
  std::vector<Future<void>> fs;
  {
    auto executor = TestFixture::Traits::make();
    for (int i = 0; i < 20; ++i) {
      paths.push_back(contract_test::TempPath("destructor"));
      fs.push_back(executor->submit(contract::TouchVoid, paths.back()));
    }
  }
  for (const std::string& path : paths) {
    EXPECT_TRUE(contract_test::Exists(path)) << path;
  }
  for (const Future<void>& f : fs) EXPECT_TRUE(f.done());
}

TYPED_TEST_P(ExecutorContractTest, ShutdownCancelFuturesCancelsQueuedTasks) {
  if (!TestFixture::Traits::kCanHold) {
    GTEST_SKIP() << "this executor runs tasks inside submit()";
  }
  std::vector<std::string> paths;
  std::vector<Future<void>> fs;
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    for (int i = 0; i < 10; ++i) {
      paths.push_back(contract_test::TempPath("cancel"));
      fs.push_back(this->executor().submit(contract::TouchVoid, paths.back()));
    }
    this->executor().shutdown(/*wait=*/false, /*cancel_futures=*/true);
    hold.release();
  }
  this->executor().shutdown(/*wait=*/true);
  for (const std::string& path : paths) {
    EXPECT_FALSE(contract_test::Exists(path)) << path;
  }
  for (const Future<void>& f : fs) {
    EXPECT_TRUE(f.cancelled());
    EXPECT_THROW(f.result(), CancelledError);
  }
}

TYPED_TEST_P(ExecutorContractTest, CancelledBeforeRunNeverRuns) {
  if (!TestFixture::Traits::kCanHold) {
    GTEST_SKIP() << "this executor runs tasks inside submit()";
  }
  const std::string path = contract_test::TempPath("cancelled");
  Future<int> cancelled;
  Future<int> kept;
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    cancelled = this->executor().submit(contract::Touch, path);
    kept = this->executor().submit(contract::ReturnFive);
    EXPECT_TRUE(cancelled.cancel());
    EXPECT_TRUE(cancelled.cancelled());
    hold.release();
  }
  this->drive();
  EXPECT_EQ(kept.result(), 5);
  this->executor().shutdown();
  EXPECT_FALSE(contract_test::Exists(path));
  EXPECT_THROW(cancelled.result(), CancelledError);
}

TYPED_TEST_P(ExecutorContractTest, CallbacksRunOnceBeforeAndAfterDone) {
  std::atomic<int> before{0};
  std::atomic<int> after{0};
  Future<int> f;
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    f = this->executor().submit(contract::ReturnThree);
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

TYPED_TEST_P(ExecutorContractTest, ThrowingCallbackLeavesTheExecutorUsable) {
  static std::atomic<int> reported{0};
  reported = 0;
  CallbackExceptionHandler previous = set_callback_exception_handler(
      [](std::exception_ptr, std::string_view) { reported.fetch_add(1); });
  Future<int> f;
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    f = this->executor().submit(contract::ReturnOne);
    f.add_done_callback(
        [](const Future<int>&) { throw std::runtime_error("callback"); });
    hold.release();
  }
  this->drive();
  EXPECT_EQ(f.result(), 1);
  Future<int> g = this->executor().submit(contract::IntIdentity, 2);
  this->drive();
  EXPECT_EQ(g.result(), 2);
  this->executor().shutdown();
  set_callback_exception_handler(previous);
  EXPECT_EQ(reported.load(), 1);
}

TYPED_TEST_P(ExecutorContractTest, TasksMaySubmitTasks) {
  if constexpr (!TestFixture::kRunsClosures) {
    GTEST_SKIP() << "a task in another process cannot reach this executor";
  } else {
    TypeParam* const e = &this->executor();
    Future<Future<int>> outer =
        e->submit([e] { return e->submit([] { return 9; }); });
    this->drive();
    EXPECT_EQ(outer.result().result(), 9);
  }
}

TYPED_TEST_P(ExecutorContractTest, ThenOnTheExecutorRunsTheContinuation) {
  if constexpr (!TestFixture::kRunsClosures) {
    GTEST_SKIP() << "then() runs a closure: not on this executor";
  } else {
    Future<int> f = this->executor().submit([] { return 20; });
    Future<int> g = f.then(this->executor(), [](int v) { return v + 1; });
    this->drive();
    EXPECT_EQ(g.result(), 21);
  }
}

TYPED_TEST_P(ExecutorContractTest, ThenOnAShutDownExecutorFailsTheResult) {
  if constexpr (!TestFixture::kRunsClosures) {
    GTEST_SKIP() << "then() runs a closure: not on this executor";
  } else {
    Future<int> f = this->executor().submit([] { return 20; });
    this->executor().shutdown(/*wait=*/true);
    Future<int> g = f.then(this->executor(), [](int v) { return v + 1; });
    EXPECT_THROW(g.result(), ExecutorShutdownError);
  }
}

// Issue 9: a then(executor, fn) continuation that shutdown(cancel_futures)
// cancels fails with CancelledError, as any cancelled task does (it was
// BrokenPromise: the continuation's promise died with its task).
TYPED_TEST_P(ExecutorContractTest,
             ContinuationCancelledByShutdownIsCancelled) {
  if (!TestFixture::Traits::kCanHold) {
    GTEST_SKIP() << "this executor runs tasks inside submit()";
  }
  if constexpr (!TestFixture::kRunsClosures) {
    GTEST_SKIP() << "then() runs a closure: not on this executor";
  } else {
    bool ran = false;
    Future<int> g;
    {
      typename TestFixture::Traits::Hold hold(this->executor());
      Future<int> f = this->executor().submit([] { return 1; });
      g = f.then(this->executor(), [&ran](int v) {
        ran = true;
        return v + 1;
      });
      this->executor().shutdown(/*wait=*/false, /*cancel_futures=*/true);
      hold.release();
    }
    this->executor().shutdown(/*wait=*/true);
    EXPECT_THROW(g.result(), CancelledError);
    EXPECT_FALSE(ran);
  }
}

TYPED_TEST_P(ExecutorContractTest,
             ContinuationQueuedThenCancelledIsCancelled) {
  if (!TestFixture::Traits::kCanHold) {
    GTEST_SKIP() << "this executor runs tasks inside submit()";
  }
  if constexpr (!TestFixture::kRunsClosures) {
    GTEST_SKIP() << "then() runs a closure: not on this executor";
  } else {
    Promise<int> p;
    Future<int> g =
        p.get_future().then(this->executor(), [](int v) { return v + 1; });
    {
      typename TestFixture::Traits::Hold hold(this->executor());
      p.set_result(1);  // queues the continuation behind the hold
      this->executor().shutdown(/*wait=*/false, /*cancel_futures=*/true);
      hold.release();
    }
    this->executor().shutdown(/*wait=*/true);
    EXPECT_THROW(g.result(), CancelledError);
  }
}

TYPED_TEST_P(ExecutorContractTest, ContinuationsChainOnTheExecutor) {
  if constexpr (!TestFixture::kRunsClosures) {
    GTEST_SKIP() << "then() runs a closure: not on this executor";
  } else {
    typename TestFixture::Traits::DriveOnWait drive(this->executor());
    Future<std::string> g =
        this->executor()
            .submit([] { return 6; })
            .then(this->executor(), [](int v) { return v * 7; })
            .then(this->executor(), [](const Future<int>& f) {
              return std::to_string(f.result());
            });
    this->drive();
    EXPECT_EQ(g.result(), "42");
  }
}

TYPED_TEST_P(ExecutorContractTest, MapYieldsResultsInInputOrder) {
  typename TestFixture::Traits::DriveOnWait drive(this->executor());
  std::vector<int> inputs;
  for (int i = 0; i < 100; ++i) inputs.push_back(i);
  std::vector<int> out;
  for (int y : this->executor().map(contract::Square, inputs)) {
    out.push_back(y);
  }
  ASSERT_EQ(out.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i], i * i);
}

TYPED_TEST_P(ExecutorContractTest, MapWithChunksKeepsOrder) {
  typename TestFixture::Traits::DriveOnWait drive(this->executor());
  std::vector<std::string> out;
  for (std::string& y : this->executor().map(
           contract::ToString, std::views::iota(0, 23), {.chunksize = 5})) {
    out.push_back(std::move(y));
  }
  ASSERT_EQ(out.size(), 23u);
  for (int i = 0; i < 23; ++i) EXPECT_EQ(out[i], std::to_string(i));
}

TYPED_TEST_P(ExecutorContractTest, MapOfNothingIsEmpty) {
  int n = 0;
  for (int y :
       this->executor().map(contract::IntIdentity, std::vector<int>{})) {
    n += y + 1;
  }
  EXPECT_EQ(n, 0);
}

TYPED_TEST_P(ExecutorContractTest, MapRethrowsAtTheFailingItem) {
  for (std::size_t chunksize : {1, 3}) {
    typename TestFixture::Traits::DriveOnWait drive(this->executor());
    std::vector<int> seen;
    auto results =
        this->executor().map(contract::FailAtFive, std::views::iota(0, 10),
                             {.chunksize = chunksize});
    try {
      for (int y : results) seen.push_back(y);
      ADD_FAILURE() << "iteration did not throw";
    } catch (const contract_test::TaskError& e) {
      EXPECT_EQ(e.item, 5);
    }
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4})) << chunksize;
  }
}

TYPED_TEST_P(ExecutorContractTest, MapRejectsBadOptions) {
  std::vector<int> in = {1};
  EXPECT_THROW(
      this->executor().map(contract::IntIdentity, in, {.chunksize = 0}),
      std::invalid_argument);
  EXPECT_THROW(
      this->executor().map(contract::IntIdentity, in, {.buffersize = 0}),
      std::invalid_argument);
}

TYPED_TEST_P(ExecutorContractTest, MapTimeoutIsMeasuredFromTheCall) {
  if (!TestFixture::Traits::kCanHold) {
    GTEST_SKIP() << "this executor runs tasks inside submit()";
  }
  std::vector<std::string> paths = {contract_test::TempPath("timeout"),
                                    contract_test::TempPath("timeout"),
                                    contract_test::TempPath("timeout")};
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    auto results = this->executor().map(contract::Touch, paths,
                                        {.timeout = absl::ZeroDuration()});
    // No task can have run: the deadline (the call) has passed.
    EXPECT_THROW(results.begin(), TimeoutError);
    hold.release();
  }
  // The timed-out map cancelled its tasks, as Python's map() does.
  this->executor().shutdown(/*wait=*/true);
  for (const std::string& path : paths) {
    EXPECT_FALSE(contract_test::Exists(path)) << path;
  }
}

TYPED_TEST_P(ExecutorContractTest, MapBuffersizeBoundsInFlightItems) {
  typename TestFixture::Traits::DriveOnWait drive(this->executor());
  constexpr std::size_t kBuffer = 3;
  std::size_t consumed = 0;
  auto endless = std::views::iota(0) | std::views::transform([&](int i) {
                   ++consumed;
                   return i;
                 });
  auto results =
      this->executor().map(contract::Double, endless, {.buffersize = kBuffer});
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

// Issue 9: as CPython's, a map() whose result is dropped without being
// iterated runs every task (it cancelled them all).
TYPED_TEST_P(ExecutorContractTest, DroppingAnUnstartedMapRunsItsTasks) {
  std::vector<std::string> paths;
  for (int i = 0; i < 10; ++i) {
    paths.push_back(contract_test::TempPath("dropped"));
  }
  {
    typename TestFixture::Traits::Hold hold(this->executor());
    { auto results = this->executor().map(contract::Touch, paths); }
    hold.release();
  }
  this->executor().shutdown(/*wait=*/true);  // runs what is still queued
  for (const std::string& path : paths) {
    EXPECT_TRUE(contract_test::Exists(path)) << path;
  }
}

// Once iteration has begun, abandoning the range cancels the tasks that have
// not started (CPython's iterator does this when it is closed). Item 0 runs
// at once; the others wait for a gate that opens after the range is gone.
// 200 items: more than a process pool queues ahead in its workers (CPython's
// too queues a few calls ahead that cancel() can no longer reach).
TYPED_TEST_P(ExecutorContractTest, AbandoningAStartedMapCancelsTheRest) {
  if (!TestFixture::Traits::kCanHold) {
    GTEST_SKIP() << "this executor runs tasks inside submit()";
  }
  typename TestFixture::Traits::DriveOnWait drive(this->executor());
  constexpr int kItems = 200;
  const std::string gate = contract_test::TempPath("gate");
  std::vector<std::pair<std::string, std::string>> items;
  for (int i = 0; i < kItems; ++i) {
    items.emplace_back(i == 0 ? "" : gate,
                       contract_test::TempPath("abandoned"));
  }
  {
    auto results = this->executor().map(contract::GatedTouch, items);
    EXPECT_EQ(*results.begin(), 1);
  }  // abandoned after one result
  contract::Touch(gate);
  this->executor().shutdown(/*wait=*/true);
  int ran = 0;
  for (const auto& [unused, path] : items) ran += contract_test::Exists(path);
  // Item 0, and at most the items that workers had started by then.
  EXPECT_TRUE(contract_test::Exists(items[0].second));
  EXPECT_LT(ran, kItems);
}

REGISTER_TYPED_TEST_SUITE_P(
    ExecutorContractTest, SubmitReturnsTheResultOfFnOfArgs,
    ArgumentsAreDecayCopied, MoveOnlyCallableAndArguments, VoidTask,
    TaskExceptionIsStoredAndRethrownAsIs, SubmitAfterShutdownThrows,
    ShutdownWaitRunsEveryAcceptedTask, DestructorWaitsForEveryAcceptedTask,
    ShutdownCancelFuturesCancelsQueuedTasks, CancelledBeforeRunNeverRuns,
    CallbacksRunOnceBeforeAndAfterDone, ThrowingCallbackLeavesTheExecutorUsable,
    TasksMaySubmitTasks, ThenOnTheExecutorRunsTheContinuation,
    ThenOnAShutDownExecutorFailsTheResult, MapYieldsResultsInInputOrder,
    MapWithChunksKeepsOrder, MapOfNothingIsEmpty, MapRethrowsAtTheFailingItem,
    MapRejectsBadOptions, MapTimeoutIsMeasuredFromTheCall,
    MapBuffersizeBoundsInFlightItems, ContinuationCancelledByShutdownIsCancelled,
    ContinuationQueuedThenCancelledIsCancelled, ContinuationsChainOnTheExecutor,
    DroppingAnUnstartedMapRunsItsTasks, AbandoningAStartedMapCancelsTheRest);

}  // namespace testing
}  // namespace concurrent

#endif  // CONCURRENT_TESTS_EXECUTORS_EXECUTOR_CONTRACT_H_
