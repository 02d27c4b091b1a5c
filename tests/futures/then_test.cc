// Future<T>::then() continuations, inline and on an executor.

#include <deque>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "futures/promise.h"
#include "gtest/gtest.h"

namespace concurrent {
namespace {

struct TaskError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A minimal executor for then(executor, fn): runs tasks only when cranked.
// (The real deterministic executors live in executors/, which depends on
// futures/; this test cannot use them.)
class CrankExecutor {
 public:
  Future<void> submit(absl::AnyInvocable<void() &&> task) {
    if (closed_) throw ExecutorShutdownError("CrankExecutor is closed");
    Promise<void> p;
    Future<void> f = p.get_future();
    tasks_.push_back([task = std::move(task), p = std::move(p)]() mutable {
      if (!p.set_running_or_notify_cancel()) return;
      std::move(task)();
      p.set_result();
    });
    return f;
  }
  int run_all() {
    int n = 0;
    while (!tasks_.empty()) {
      auto t = std::move(tasks_.front());
      tasks_.pop_front();
      std::move(t)();
      ++n;
    }
    return n;
  }
  void drop_all() { tasks_.clear(); }
  void close() { closed_ = true; }

 private:
  std::deque<absl::AnyInvocable<void() &&>> tasks_;
  bool closed_ = false;
};

TEST(ThenTest, ValueForm) {
  Promise<int> p;
  Future<std::string> s =
      p.get_future().then([](int v) { return std::to_string(v * 2); });
  EXPECT_FALSE(s.done());
  p.set_result(21);
  EXPECT_EQ(s.result(), "42");
}

TEST(ThenTest, OnDoneFutureRunsAtOnce) {
  Promise<int> p;
  p.set_result(1);
  Future<int> g = p.get_future().then([](int v) { return v + 1; });
  EXPECT_TRUE(g.done());
  EXPECT_EQ(g.result(), 2);
}

TEST(ThenTest, VoidToValueAndValueToVoid) {
  Promise<void> p;
  int side = 0;
  Future<int> a = p.get_future().then([] { return 5; });
  Future<void> b = a.then([&](int v) { side = v; });
  p.set_result();
  b.result();
  EXPECT_EQ(side, 5);
}

TEST(ThenTest, ExceptionSkipsValueContinuationAndFlowsThrough) {
  Promise<int> p;
  bool called = false;
  Future<int> g = p.get_future()
                      .then([&](int v) {
                        called = true;
                        return v;
                      })
                      .then([&](int v) {
                        called = true;
                        return v;
                      });
  p.set_exception(std::make_exception_ptr(TaskError("root cause")));
  EXPECT_FALSE(called);
  EXPECT_THROW(g.result(), TaskError);
}

TEST(ThenTest, ContinuationExceptionFailsTheResult) {
  Promise<int> p;
  Future<int> g =
      p.get_future().then([](int) -> int { throw TaskError("in then"); });
  p.set_result(1);
  try {
    g.result();
    FAIL();
  } catch (const TaskError& e) {
    EXPECT_STREQ(e.what(), "in then");
  }
}

TEST(ThenTest, FutureFormSeesErrorsAndCanRecover) {
  Promise<int> p;
  Future<int> g = p.get_future().then([](const Future<int>& f) {
    if (f.exception() != nullptr) return -1;
    return f.result();
  });
  p.set_exception(std::make_exception_ptr(TaskError("x")));
  EXPECT_EQ(g.result(), -1);
}

TEST(ThenTest, CancelledSourceFailsResultWithCancelledError) {
  Promise<int> p;
  bool called = false;
  Future<int> g = p.get_future().then([&](int v) {
    called = true;
    return v;
  });
  p.get_future().cancel();
  EXPECT_FALSE(called);
  EXPECT_THROW(g.result(), CancelledError);
}

TEST(ThenTest, CancellingTheResultMeansTheContinuationNeverRuns) {
  Promise<int> p;
  bool called = false;
  Future<int> g = p.get_future().then([&](int v) {
    called = true;
    return v;
  });
  EXPECT_TRUE(g.cancel());
  p.set_result(1);
  EXPECT_FALSE(called);
  EXPECT_TRUE(g.cancelled());
}

TEST(ThenTest, ContinuationReleasesItsCapturesOnceRun) {
  auto captured = std::make_shared<int>(1);
  Promise<int> p;
  Future<int> g = p.get_future().then([captured](int v) { return v; });
  EXPECT_EQ(captured.use_count(), 2);
  p.set_result(1);
  EXPECT_EQ(g.result(), 1);
  EXPECT_EQ(captured.use_count(), 1);  // g lives on; the lambda does not
}

TEST(ThenTest, CancelledContinuationReleasesItsCapturesWhenSourceCompletes) {
  auto captured = std::make_shared<int>(1);
  Promise<int> p;
  Future<int> g = p.get_future().then([captured](int v) { return v; });
  g.cancel();
  p.set_result(1);
  EXPECT_EQ(captured.use_count(), 1);
}

TEST(ThenTest, ConstRefContinuationAfterValueWasMovedOutFails) {
  Promise<std::unique_ptr<int>> p;
  Future<std::unique_ptr<int>> f = p.get_future();
  Future<int> taker = f.then([](std::unique_ptr<int>&& v) { return *v; });
  Future<int> reader =
      f.then([](const std::unique_ptr<int>& v) { return v ? *v : -1; });
  p.set_result(std::make_unique<int>(4));
  EXPECT_EQ(taker.result(), 4);
  EXPECT_THROW(reader.result(), InvalidStateError);  // not a moved-from value
}

TEST(ThenTest, ChainOfTen) {
  Promise<int> p;
  Future<int> f = p.get_future();
  for (int i = 0; i < 10; ++i) f = f.then([](int v) { return v + 1; });
  p.set_result(0);
  EXPECT_EQ(f.result(), 10);
}

TEST(ThenTest, ReturningAFutureFlattens) {
  Promise<int> outer;
  Promise<std::string> inner;
  Future<std::string> inner_future = inner.get_future();
  Future<std::string> g =
      outer.get_future().then([&](int) { return inner_future; });
  outer.set_result(1);
  EXPECT_FALSE(g.done());
  inner.set_result("inner");
  EXPECT_EQ(g.result(), "inner");
}

TEST(ThenTest, FlattenedInnerFailureFlows) {
  Promise<int> outer;
  Promise<int> inner;
  Future<int> inner_future = inner.get_future();
  Future<int> g = outer.get_future().then([&](int) { return inner_future; });
  outer.set_result(1);
  inner.set_exception(std::make_exception_ptr(TaskError("inner failed")));
  EXPECT_THROW(g.result(), TaskError);
}

TEST(ThenTest, MoveOnlyValueTakenByRvalueContinuation) {
  Promise<std::unique_ptr<int>> p;
  Future<std::unique_ptr<int>> f = p.get_future();
  Future<int> g = f.then([](std::unique_ptr<int>&& v) { return *v + 1; });
  p.set_result(std::make_unique<int>(1));
  EXPECT_EQ(g.result(), 2);
  EXPECT_THROW(f.result(), InvalidStateError);  // moved out by then()
}

TEST(ThenTest, MoveOnlyResult) {
  Promise<int> p;
  Future<std::unique_ptr<int>> g =
      p.get_future().then([](int v) { return std::make_unique<int>(v); });
  p.set_result(3);
  EXPECT_EQ(*std::move(g).result(), 3);
}

TEST(ThenOnExecutorTest, RunsOnlyOnTheExecutor) {
  CrankExecutor ex;
  Promise<int> p;
  Future<int> g = p.get_future().then(ex, [](int v) { return v * 3; });
  p.set_result(2);
  EXPECT_FALSE(g.done());  // queued, not run inline
  EXPECT_EQ(ex.run_all(), 1);
  EXPECT_EQ(g.result(), 6);
}

TEST(ThenOnExecutorTest, SubmitFailureFailsTheResult) {
  CrankExecutor ex;
  ex.close();
  Promise<int> p;
  Future<int> g = p.get_future().then(ex, [](int v) { return v; });
  p.set_result(2);
  EXPECT_THROW(g.result(), ExecutorShutdownError);
}

TEST(ThenOnExecutorTest, DroppedTaskBreaksThePromise) {
  CrankExecutor ex;
  Promise<int> p;
  Future<int> g = p.get_future().then(ex, [](int v) { return v; });
  p.set_result(2);
  ex.drop_all();
  EXPECT_THROW(g.result(), BrokenPromise);
}

TEST(ThenOnExecutorTest, ValueContinuationOfAFailedSourceNeedsNoExecutor) {
  CrankExecutor ex;
  Promise<int> p;
  Future<int> g = p.get_future().then(ex, [](int v) { return v; });
  p.set_exception(std::make_exception_ptr(TaskError("upstream")));
  EXPECT_TRUE(g.done());  // forwarded at once; nothing was submitted
  EXPECT_EQ(ex.run_all(), 0);
  EXPECT_THROW(g.result(), TaskError);
}

TEST(ThenOnExecutorTest, FutureFormContinuationOfAFailedSourceRunsThere) {
  CrankExecutor ex;
  Promise<int> p;
  Future<bool> g = p.get_future().then(
      ex, [](const Future<int>& f) { return f.exception() != nullptr; });
  p.set_exception(std::make_exception_ptr(TaskError("upstream")));
  EXPECT_FALSE(g.done());
  EXPECT_EQ(ex.run_all(), 1);
  EXPECT_TRUE(g.result());
}

}  // namespace
}  // namespace concurrent
