// Copyright 2026 The concurrent Authors.
//
// The public extension point: TaskQueue's order and ownership, and TaskNode's
// claim/future accessors, seen through an executor that only keeps nodes.

#include "executors/task_node.h"

#include <utility>
#include <vector>

#include "executors/executor.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "gtest/gtest.h"

namespace concurrent {
namespace {

// Keeps every node it is given; the test decides what happens to them.
class KeepingExecutor final : public Executor {
 public:
  ~KeepingExecutor() override { KeepingExecutor::shutdown(); }
  void shutdown(bool /*wait*/ = true,
                bool /*cancel_futures*/ = false) override {
    queue.cancel_all();
  }
  TaskQueue queue;

 private:
  void execute(TaskNode* task) override { queue.push_back(task); }
};

TEST(TaskQueueTest, IsFifo) {
  KeepingExecutor e;
  std::vector<Future<int>> fs;
  for (int i = 0; i < 3; ++i) fs.push_back(e.submit([i] { return i; }));
  EXPECT_EQ(e.queue.size(), 3u);
  std::vector<int> order;
  while (TaskNode* t = e.queue.pop_front()) {
    t->run();
    order.push_back(fs[order.size()].result());
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(e.queue.empty());
}

TEST(TaskQueueTest, DestroyingANonEmptyQueueCancelsItsTasks) {
  KeepingExecutor e;
  Future<int> f = e.submit([] { return 1; });
  {
    TaskQueue moved = std::move(e.queue);
    EXPECT_TRUE(e.queue.empty());
    EXPECT_EQ(moved.size(), 1u);
  }
  EXPECT_TRUE(f.cancelled());
  EXPECT_THROW(f.result(), CancelledError);
}

TEST(TaskNodeTest, ClaimRunsOnceAndRunThenOnlyReleases) {
  KeepingExecutor e;
  int runs = 0;
  Future<int> f = e.submit([&runs] { return ++runs; });
  TaskNode* t = e.queue.pop_front();
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(t->future().done());
  ASSERT_TRUE(t->try_claim());
  EXPECT_FALSE(t->try_claim());
  EXPECT_TRUE(f.running());
  t->run_claimed();
  EXPECT_EQ(f.result(), 1);
  t->run();  // finds it claimed: only drops the executor's reference
  EXPECT_EQ(runs, 1);
}

TEST(TaskNodeTest, FailAndReleaseFailsAPendingTask) {
  KeepingExecutor e;
  Future<int> f = e.submit([] { return 1; });
  e.queue.pop_front()->fail_and_release(
      std::make_exception_ptr(BrokenExecutor("gone")));
  EXPECT_THROW(f.result(), BrokenExecutor);
}

TEST(TaskNodeTest, RunSkipsACancelledTask) {
  KeepingExecutor e;
  bool ran = false;
  Future<void> f = e.submit([&ran] { ran = true; });
  EXPECT_TRUE(f.cancel());
  e.queue.pop_front()->run();
  EXPECT_FALSE(ran);
  EXPECT_TRUE(f.cancelled());
}

}  // namespace
}  // namespace concurrent
