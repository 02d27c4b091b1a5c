// Copyright 2026 The concurrent Authors.
//
// An executor written the way a user (or ipc/, or the event loop) writes one:
// only through the public extension point (executors/executor.h and
// executors/task_node.h). One thread of its own runs the tasks in FIFO order.
// The typed contract suite runs over it, which checks that the extension
// point is enough to build a conforming executor.

#ifndef CONCURRENT_TESTS_EXECUTORS_ONE_THREAD_EXECUTOR_H_
#define CONCURRENT_TESTS_EXECUTORS_ONE_THREAD_EXECUTOR_H_

#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "executors/executor.h"
#include "executors/task_node.h"
#include "futures/errors.h"

namespace concurrent {
namespace testing {

class OneThreadExecutor final : public Executor {
 public:
  OneThreadExecutor() : thread_([this] { loop(); }) {}
  ~OneThreadExecutor() override { OneThreadExecutor::shutdown(); }

  void shutdown(bool wait = true, bool cancel_futures = false) override {
    TaskQueue cancelled;
    {
      absl::MutexLock lock(&mu_);
      stopped_ = true;
      if (cancel_futures) cancelled = std::move(queue_);
      ready_.SignalAll();
    }
    if (wait) {
      absl::MutexLock lock(&join_mu_);
      if (thread_.joinable()) thread_.join();
    }
    // Last, outside every lock: the futures' done callbacks run here, and
    // one of them may destroy this executor. (Simpler than the thread pool,
    // which cancels before it joins, keeping its state alive with a
    // shared_ptr.)
    cancelled.cancel_all();
  }

 private:
  void execute(TaskNode* task) override {
    absl::MutexLock lock(&mu_);
    if (stopped_) {
      throw ExecutorShutdownError("OneThreadExecutor was shut down");
    }
    queue_.push_back(task);
    ready_.Signal();
  }

  void loop() {
    for (;;) {
      TaskNode* task;
      {
        absl::MutexLock lock(&mu_);
        while (!stopped_ && queue_.empty()) ready_.Wait(&mu_);
        task = queue_.pop_front();
        if (task == nullptr) return;  // stopped and drained
      }
      task->run();
    }
  }

  absl::Mutex mu_;
  absl::CondVar ready_;
  TaskQueue queue_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex join_mu_;
  std::thread thread_;
};

}  // namespace testing
}  // namespace concurrent

#endif  // CONCURRENT_TESTS_EXECUTORS_ONE_THREAD_EXECUTOR_H_
