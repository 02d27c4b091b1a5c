// Copyright 2026 The concurrent Authors.

#include "executors/manual_executor.h"

#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "executors/internal/cancellations.h"
#include "futures/errors.h"

namespace concurrent {
namespace internal {

// The executor's state, shared with the calls in progress (a task or a done
// callback they run may destroy the ManualExecutor).
class ManualQueue {
 public:
  void push(TaskNode* task) {
    absl::MutexLock lock(&mu_);
    if (shutdown_) {
      throw ExecutorShutdownError(
          "cannot schedule new futures after shutdown of a ManualExecutor");
    }
    task->owner.store(this, std::memory_order_relaxed);
    queue_.push_back(task);
  }

  bool run_one() {
    TaskNode* task;
    {
      absl::MutexLock lock(&mu_);
      task = queue_.pop_front();
    }
    if (task == nullptr) return false;
    task->run();
    return true;
  }

  std::size_t pending() const {
    absl::MutexLock lock(&mu_);
    return queue_.size();
  }

  void shutdown(bool wait, bool cancel_futures) {
    TaskQueue cancelled;
    {
      absl::MutexLock lock(&mu_);
      shutdown_ = true;
      if (cancel_futures && !queue_.empty()) {
        cancelled = std::move(queue_);
        cancellations_.begin();
      }
    }
    if (!cancelled.empty()) cancellations_.cancel(std::move(cancelled));
    if (!wait) return;
    while (run_one()) {
    }
    cancellations_.wait_for_others();
  }

 private:
  mutable absl::Mutex mu_;
  TaskQueue queue_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  ShutdownCancellations cancellations_;
};

}  // namespace internal

ManualExecutor::ManualExecutor()
    : queue_(std::make_shared<internal::ManualQueue>()) {}

ManualExecutor::~ManualExecutor() { ManualExecutor::shutdown(/*wait=*/true); }

void ManualExecutor::execute(TaskNode* task) { queue_->push(task); }

bool ManualExecutor::run_one() { return queue_->run_one(); }

std::size_t ManualExecutor::run_all() {
  const std::shared_ptr<internal::ManualQueue> queue = queue_;  // see queue_
  std::size_t n = 0;
  while (queue->run_one()) ++n;
  return n;
}

std::size_t ManualExecutor::pending() const { return queue_->pending(); }

void ManualExecutor::shutdown(bool wait, bool cancel_futures) {
  const std::shared_ptr<internal::ManualQueue> queue = queue_;  // see queue_
  queue->shutdown(wait, cancel_futures);
}

void ManualExecutor::DriveOnWait::before_blocking(
    const internal::BlockingWait& wait) {
  while (!wait.satisfied() && queue_->run_one()) {
  }
}

}  // namespace concurrent
