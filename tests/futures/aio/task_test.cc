// Copyright 2026 The concurrent Authors.
//
// aio::Coroutine and aio::Task: the translatable behaviours of CPython's
// Lib/test/test_asyncio/test_tasks.py (results, exceptions across awaits,
// cancellation and its messages, uncancel/cancelling, current_task), plus
// this library's own rules: constant stack for a million synchronous awaits,
// 10,000 concurrent tasks, cancellation in the middle of a co_await, pending
// tasks reported at close.

#include "futures/aio/task.h"

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "futures/aio/event_loop.h"
#include "futures/aio/future.h"
#include "futures/errors.h"
#include "gtest/gtest.h"
#include "tests/futures/aio/test_support.h"

namespace concurrent::aio {
namespace {

using testing::RunBriefly;
using testing::What;

class TaskTest : public ::testing::Test {
 protected:
  EventLoop loop_;
};

Coroutine<std::string> NotMuch() { co_return "ok"; }

TEST_F(TaskTest, TaskBasics) {
  Task<std::string> t = loop_.create_task(NotMuch());
  EXPECT_FALSE(t.done());
  EXPECT_EQ(loop_.run_until_complete(t), "ok");
  EXPECT_TRUE(t.done());
  EXPECT_EQ(t.result(), "ok");
  EXPECT_FALSE(t.cancel());
}

TEST_F(TaskTest, NamesCountUpAndCanBeSet) {
  Task<std::string> a = loop_.create_task(NotMuch());
  Task<std::string> b = loop_.create_task(NotMuch());
  EXPECT_NE(a.get_name(), b.get_name());
  EXPECT_EQ(a.get_name().rfind("Task-", 0), 0u);
  b.set_name("fetcher");
  EXPECT_EQ(b.get_name(), "fetcher");
  loop_.run_until_complete(b);
  loop_.run_until_complete(a);
}

TEST_F(TaskTest, SetResultOnTaskIsRefused) {
  Task<std::string> t = loop_.create_task(NotMuch());
  EXPECT_THROW(t.set_result("x"), InvalidStateError);
  EXPECT_THROW(
      t.set_exception(std::make_exception_ptr(std::runtime_error("x"))),
      InvalidStateError);
  EXPECT_EQ(loop_.run_until_complete(t), "ok");
}

Coroutine<int> Thrower() {
  co_await sleep(absl::ZeroDuration());
  throw std::out_of_range("inner");
}

Coroutine<std::string> CatchInner() {
  try {
    co_await Thrower();
  } catch (const std::out_of_range& e) {
    co_return std::string("caught ") + e.what();
  }
  co_return "not reached";
}

TEST_F(TaskTest, ExceptionsCrossCoAwait) {
  EXPECT_EQ(loop_.run_until_complete(CatchInner()), "caught inner");
  Task<int> t = loop_.create_task(Thrower());
  EXPECT_THROW(loop_.run_until_complete(t), std::out_of_range);
  EXPECT_FALSE(t.cancelled());
  EXPECT_THROW(t.result(), std::out_of_range);
}

Coroutine<int> AwaitTask(Task<int> t) {
  const int& v = co_await t;
  co_return v * 2;
}
Coroutine<int> Sleepy(int v) {
  co_await sleep(absl::Milliseconds(1));
  co_return v;
}

TEST_F(TaskTest, AwaitingATaskFromAnotherTask) {
  Task<int> inner = loop_.create_task(Sleepy(21));
  EXPECT_EQ(loop_.run_until_complete(AwaitTask(inner)), 42);
  EXPECT_EQ(inner.result(), 21);
}

Coroutine<int> SleepLong() {
  co_await sleep(absl::Seconds(10));
  co_return 12;
}

TEST_F(TaskTest, Cancel) {
  Task<int> t = loop_.create_task(SleepLong());
  loop_.call_soon([t]() mutable { t.cancel(); });
  EXPECT_THROW(loop_.run_until_complete(t), CancelledError);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(t.cancel());
}

TEST_F(TaskTest, CancelWithMessageBeforeStartingTask) {
  Task<int> t = loop_.create_task(SleepLong());
  EXPECT_TRUE(t.cancel("my message"));
  try {
    loop_.run_until_complete(t);
    FAIL();
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "my message");
  }
  EXPECT_TRUE(t.cancelled());
}

Coroutine<void> NeverStarts(bool* ran) {
  *ran = true;
  co_return;
}

TEST_F(TaskTest, TaskCancelledBeforeItsFirstStepNeverRuns) {
  bool ran = false;
  Task<void> t = loop_.create_task(NeverStarts(&ran));
  t.cancel();
  EXPECT_THROW(loop_.run_until_complete(t), CancelledError);
  EXPECT_FALSE(ran);
}

Coroutine<void> CancelThenReadResult(std::string* what) {
  Task<int> task = create_task(SleepLong());
  co_await sleep(absl::ZeroDuration());
  task.cancel("my message");
  // Wait until it is done without awaiting it (Python awaits wait([task])).
  while (!task.done()) co_await sleep(absl::ZeroDuration());
  try {
    task.result();
  } catch (const CancelledError& e) {
    *what = e.what();
    throw;
  }
}

TEST_F(TaskTest, CancelWithMessageThenFutureResult) {
  std::string what;
  EXPECT_THROW(loop_.run_until_complete(CancelThenReadResult(&what)),
               CancelledError);
  EXPECT_EQ(what, "my message");
}

Coroutine<int> TwoYields() {
  co_await sleep(absl::ZeroDuration());
  co_await sleep(absl::ZeroDuration());
  co_return 12;
}

TEST_F(TaskTest, CancelYield) {
  Task<int> t = loop_.create_task(TwoYields());
  RunBriefly(loop_);  // start the coroutine
  EXPECT_TRUE(t.cancel());
  EXPECT_THROW(loop_.run_until_complete(t), CancelledError);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(t.cancel());
}

Coroutine<int> AwaitAndReturn12(Future<void> f) {
  co_await f;
  co_return 12;
}

TEST_F(TaskTest, CancelInnerFuture) {
  Future<void> f = loop_.create_future();
  Task<int> t = loop_.create_task(AwaitAndReturn12(f));
  RunBriefly(loop_);
  f.cancel();
  EXPECT_THROW(loop_.run_until_complete(t), CancelledError);
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(t.cancelled());
}

TEST_F(TaskTest, CancelBothTaskAndInnerFuture) {
  Future<void> f = loop_.create_future();
  Task<int> t = loop_.create_task(AwaitAndReturn12(f));
  RunBriefly(loop_);
  f.cancel();
  t.cancel();
  EXPECT_THROW(loop_.run_until_complete(t), CancelledError);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(f.cancelled());
  EXPECT_TRUE(t.cancelled());
}

TEST_F(TaskTest, CancellingTheTaskCancelsTheAwaitedFutureWithTheMessage) {
  Future<void> f = loop_.create_future();
  Task<int> t = loop_.create_task(AwaitAndReturn12(f));
  RunBriefly(loop_);
  EXPECT_TRUE(t.cancel("from outside"));
  EXPECT_TRUE(f.cancelled());  // at once: Task.cancel() cancels _fut_waiter
  try {
    loop_.run_until_complete(t);
    FAIL();
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "from outside");
  }
}

Coroutine<int> CatchingTask(Future<void> fut1, Future<void> fut2) {
  co_await fut1;
  try {
    co_await fut2;
  } catch (const CancelledError&) {
    co_return 42;
  }
  co_return 0;
}

TEST_F(TaskTest, CancelTaskCatching) {
  Future<void> fut1 = loop_.create_future();
  Future<void> fut2 = loop_.create_future();
  Task<int> t = loop_.create_task(CatchingTask(fut1, fut2));
  RunBriefly(loop_);
  fut1.set_result();
  RunBriefly(loop_);
  t.cancel();
  EXPECT_TRUE(fut2.cancelled());
  EXPECT_EQ(loop_.run_until_complete(t), 42);
  EXPECT_FALSE(t.cancelled());
}

Coroutine<int> IgnoringTask(Future<void> fut1, Future<void> fut2,
                            Future<int> fut3) {
  co_await fut1;
  try {
    co_await fut2;
  } catch (const CancelledError&) {
  }
  const int& res = co_await fut3;
  co_return res;
}

TEST_F(TaskTest, CancelTaskIgnoring) {
  Future<void> fut1 = loop_.create_future();
  Future<void> fut2 = loop_.create_future();
  Future<int> fut3 = loop_.create_future<int>();
  Task<int> t = loop_.create_task(IgnoringTask(fut1, fut2, fut3));
  RunBriefly(loop_);
  fut1.set_result();
  RunBriefly(loop_);
  t.cancel();
  EXPECT_TRUE(fut2.cancelled());
  RunBriefly(loop_);
  EXPECT_FALSE(t.done());
  fut3.set_result(42);
  EXPECT_EQ(loop_.run_until_complete(t), 42);
  EXPECT_FALSE(fut3.cancelled());
  EXPECT_FALSE(t.cancelled());
}

Coroutine<int> CancelSelfThenSleep(Task<int>* self) {
  self->cancel();
  // The sleep is cancelled at once.
  co_await sleep(absl::Seconds(100));
  co_return 12;
}

TEST_F(TaskTest, CancelCurrentTask) {
  Task<int> t;
  t = loop_.create_task(CancelSelfThenSleep(&t));
  EXPECT_FALSE(t.cancelled());
  EXPECT_THROW(loop_.run_until_complete(t), CancelledError);
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(t.cancel());
}

Coroutine<int> CancelSelfThenReturn(Task<int>* self) {
  self->cancel();
  co_return 12;
}

TEST_F(TaskTest, CancelAtEnd) {
  Task<int> t;
  t = loop_.create_task(CancelSelfThenReturn(&t));
  EXPECT_THROW(loop_.run_until_complete(t), CancelledError);
  EXPECT_TRUE(t.cancelled());
  EXPECT_FALSE(t.cancel());
}

Coroutine<void> Nested(Future<void> fut) { co_await fut; }

Coroutine<void> CancelSelfThenAwaitNested(Task<void>* self,
                                          Task<void>* nested_task,
                                          Future<void> fut) {
  *nested_task = create_task(Nested(fut));
  co_await sleep(absl::ZeroDuration());
  self->cancel();
  // The nested task, awaited now, is cancelled at once (bpo-34872).
  co_await *nested_task;
}

TEST_F(TaskTest, CancelAwaitedTask) {
  Future<void> fut = loop_.create_future();
  Task<void> task, nested_task;
  task = loop_.create_task(CancelSelfThenAwaitNested(&task, &nested_task, fut));
  EXPECT_THROW(loop_.run_until_complete(task), CancelledError);
  EXPECT_TRUE(task.cancelled());
  EXPECT_TRUE(nested_task.cancelled());
  EXPECT_TRUE(fut.cancelled());
}

Coroutine<void> SleepForever() { co_await sleep(absl::Hours(1)); }

Coroutine<std::string> CancelSleeper() {
  Task<void> sleeper = create_task(SleepForever());
  get_running_loop().call_later(absl::Milliseconds(20),
                                [sleeper]() mutable { sleeper.cancel(); });
  try {
    co_await sleeper;
  } catch (const CancelledError&) {
    co_return "cancelled";
  }
  co_return "slept in";
}

TEST_F(TaskTest, TaskCancelSleepingTask) {
  const absl::Duration start = loop_.time();
  EXPECT_EQ(loop_.run_until_complete(CancelSleeper()), "cancelled");
  EXPECT_GE(loop_.time() - start, absl::Milliseconds(20));
}

Coroutine<int> CountTo10AndStopAt2(EventLoop* loop, int* x) {
  while (*x < 10) {
    co_await sleep(absl::Milliseconds(1));
    ++*x;
    if (*x == 2) loop->stop();
  }
  co_return *x;
}

TEST_F(TaskTest, StopWhileRunUntilComplete) {
  int x = 0;
  Task<int> t = loop_.create_task(CountTo10AndStopAt2(&loop_, &x));
  try {
    loop_.run_until_complete(t);
    FAIL();
  } catch (const InvalidStateError& e) {
    EXPECT_STREQ(e.what(), "Event loop stopped before Future completed.");
  }
  EXPECT_FALSE(t.done());
  EXPECT_EQ(x, 2);
  t.cancel();
  EXPECT_THROW(loop_.run_until_complete(t), CancelledError);
}

// --- cancelling() / uncancel() (3.11+) ---

Coroutine<std::vector<int>> CountCancels(Task<std::vector<int>>* self) {
  std::vector<int> seen;
  for (int i = 0; i < 2; ++i) {
    try {
      co_await sleep(absl::Seconds(10));
    } catch (const CancelledError&) {
      seen.push_back(self->cancelling());
      seen.push_back(self->uncancel());
    }
  }
  co_return seen;
}

TEST_F(TaskTest, CancellingAndUncancelCountRequests) {
  Task<std::vector<int>> t;
  t = loop_.create_task(CountCancels(&t));
  RunBriefly(loop_);
  EXPECT_EQ(t.cancelling(), 0);
  EXPECT_TRUE(t.cancel());
  EXPECT_EQ(t.cancelling(), 1);
  // A second request before the task ran: still true, counted.
  EXPECT_TRUE(t.cancel());
  EXPECT_EQ(t.cancelling(), 2);
  RunBriefly(loop_);
  // The task caught one CancelledError, saw 2 requests, uncancelled to 1.
  EXPECT_FALSE(t.done());
  t.cancel();
  std::vector<int> seen = loop_.run_until_complete(t);
  EXPECT_EQ(seen, (std::vector<int>{2, 1, 2, 1}));
  EXPECT_FALSE(t.cancelled());
}

// --- current_task() ---

Coroutine<bool> IsCurrent(Task<bool>* self) {
  std::optional<AnyTask> cur = current_task();
  co_await sleep(absl::ZeroDuration());
  std::optional<AnyTask> again = current_task();
  co_return cur.has_value() && *cur == AnyTask(*self) && again.has_value() &&
      *again == *cur;
}

TEST_F(TaskTest, CurrentTask) {
  EXPECT_THROW(current_task(), InvalidStateError);  // no running loop
  Task<bool> t;
  t = loop_.create_task(IsCurrent(&t));
  EXPECT_TRUE(loop_.run_until_complete(t));
  std::optional<AnyTask> in_callback = AnyTask();
  loop_.call_soon([&] { in_callback = loop_.current_task(); });
  RunBriefly(loop_);
  EXPECT_FALSE(in_callback.has_value());
}

TEST_F(TaskTest, AllTasksListsPendingTasks) {
  Task<int> a = loop_.create_task(SleepLong());
  Task<std::string> b = loop_.create_task(NotMuch());
  EXPECT_EQ(loop_.all_tasks().size(), 2u);
  loop_.run_until_complete(b);
  std::vector<AnyTask> left = loop_.all_tasks();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0], AnyTask(a));
  a.cancel();
  EXPECT_THROW(loop_.run_until_complete(a), CancelledError);
  EXPECT_TRUE(loop_.all_tasks().empty());
}

// --- This library's own rules ---

Coroutine<int> One() { co_return 1; }

Coroutine<long> MillionSynchronousAwaits() {
  long sum = 0;
  for (int i = 0; i < 1'000'000; ++i) sum += co_await One();
  co_return sum;
}

TEST_F(TaskTest, MillionSynchronousAwaitsUseConstantStack) {
  // With unbounded recursion this overflows the default 8 MiB stack long
  // before a million (it does at -O0 and under ASan if the trampoline is
  // replaced by symmetric transfer: g++ 12 makes no tail call there).
  EXPECT_EQ(loop_.run_until_complete(MillionSynchronousAwaits()), 1'000'000);
}

Coroutine<int> Depth(int n) {
  if (n == 0) co_return 0;
  const int below = co_await Depth(n - 1);
  co_return below + 1;
}

TEST_F(TaskTest, DeepChainOfNestedAwaits) {
  // 10,000 frames deep, each resumed by the trampoline, not by its child.
  EXPECT_EQ(loop_.run_until_complete(Depth(10'000)), 10'000);
}

Coroutine<void> ReadyFutures(int n, long* sum) {
  Future<int> f = get_running_loop().create_future<int>();
  f.set_result(1);
  for (int i = 0; i < n; ++i) *sum += co_await f;
}

TEST_F(TaskTest, MillionAwaitsOfADoneFutureDoNotSuspend) {
  long sum = 0;
  loop_.run_until_complete(ReadyFutures(1'000'000, &sum));
  EXPECT_EQ(sum, 1'000'000);
}

Coroutine<int> SleepThenReturn(int i) {
  co_await sleep(absl::Milliseconds(1 + i % 7));
  co_return i;
}

Coroutine<long> TenThousandTasks() {
  std::vector<Task<int>> tasks;
  tasks.reserve(10'000);
  for (int i = 0; i < 10'000; ++i)
    tasks.push_back(create_task(SleepThenReturn(i)));
  long sum = 0;
  for (Task<int>& t : tasks) sum += co_await t;
  co_return sum;
}

TEST_F(TaskTest, TenThousandConcurrentTasks) {
  EXPECT_EQ(loop_.run_until_complete(TenThousandTasks()), 10'000L * 9'999 / 2);
}

struct Cleanup {
  std::vector<std::string>* log;
  ~Cleanup() { log->push_back("frame cleaned up"); }
};

Coroutine<int> Level2(std::vector<std::string>* log) {
  Cleanup c{log};
  log->push_back("level2 waits");
  co_await sleep(absl::Hours(1));
  log->push_back("level2 resumed (wrong)");
  co_return 2;
}

Coroutine<int> Level1(std::vector<std::string>* log) {
  try {
    co_return co_await Level2(log);
  } catch (const CancelledError& e) {
    log->push_back(std::string("level1 caught: ") + e.what());
    throw;
  }
}

TEST_F(TaskTest, CancellationInTheMiddleOfANestedCoAwait) {
  std::vector<std::string> log;
  Task<int> t = loop_.create_task(Level1(&log));
  RunBriefly(loop_);
  ASSERT_EQ(log, (std::vector<std::string>{"level2 waits"}));
  t.cancel("shutdown");
  EXPECT_THROW(loop_.run_until_complete(t), CancelledError);
  EXPECT_EQ(log, (std::vector<std::string>{"level2 waits", "frame cleaned up",
                                           "level1 caught: shutdown"}));
  EXPECT_TRUE(t.cancelled());
  try {
    t.result();
  } catch (const CancelledError& e) {
    EXPECT_STREQ(e.what(), "shutdown");
  }
}

TEST_F(TaskTest, CoroutineAwaitedTwiceIsInvalidState) {
  struct Local {
    static Coroutine<int> Twice() {
      Coroutine<int> c = One();
      int a = co_await c;
      int b = co_await c;  // already run
      co_return a + b;
    }
  };
  EXPECT_THROW(loop_.run_until_complete(Local::Twice()), InvalidStateError);
}

TEST_F(TaskTest, CreateTaskWithoutRunningLoopThrows) {
  EXPECT_THROW(create_task(One()), InvalidStateError);
}

TEST_F(TaskTest, FailedTaskNobodyHoldsIsReported) {
  testing::ReportLog log;
  log.install(loop_);
  loop_.create_task(Thrower());  // handle dropped at once
  loop_.run_until_complete(sleep(absl::Milliseconds(1), 0));
  ASSERT_EQ(log.reports.size(), 1u);
  EXPECT_EQ(log.reports[0].message, "Task exception was never retrieved");
  EXPECT_EQ(What(log.reports[0].exception), "inner");
}

TEST(TaskLifetimeTest, LoopClosedWithPendingTaskSaysSo) {
  testing::ReportLog log;
  std::vector<std::string> events;
  Task<int> t;
  {
    EventLoop loop;
    log.install(loop);
    t = loop.create_task(Level2(&events));
    RunBriefly(loop);
    loop.close();
    ASSERT_EQ(log.reports.size(), 1u);
    EXPECT_EQ(log.reports[0].message, "Task was destroyed but it is pending!");
    EXPECT_NE(log.reports[0].future.find(t.get_name()), std::string::npos);
  }
  // The frame was destroyed (its locals too); the handle outlives the loop.
  EXPECT_EQ(events,
            (std::vector<std::string>{"level2 waits", "frame cleaned up"}));
  EXPECT_TRUE(t.done());
  EXPECT_TRUE(t.cancelled());
}

// --- aio::run ---

Coroutine<int> Main() {
  Task<int> background = create_task(SleepLong());
  (void)background;
  co_await sleep(absl::Milliseconds(1));
  co_return 7;
}

TEST(RunTest, RunReturnsTheResultAndCancelsLeftovers) {
  EXPECT_EQ(run(Main()), 7);
}

Coroutine<int> MainThrows() {
  co_await sleep(absl::ZeroDuration());
  throw std::logic_error("main failed");
}

TEST(RunTest, RunRethrows) {
  EXPECT_THROW(run(MainThrows()), std::logic_error);
}

Coroutine<void> NestedRun() {
  run(One());
  co_return;
}

TEST(RunTest, RunInsideARunningLoopIsRefused) {
  EXPECT_THROW(run(NestedRun()), InvalidStateError);
}

}  // namespace
}  // namespace concurrent::aio
