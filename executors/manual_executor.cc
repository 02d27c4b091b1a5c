// Copyright 2026 The concurrent Authors.

#include "executors/manual_executor.h"

#include <utility>

#include "futures/errors.h"

namespace concurrent {

ManualExecutor::~ManualExecutor() { ManualExecutor::shutdown(/*wait=*/true); }

void ManualExecutor::execute(TaskNode* task) {
  task->owner = this;
  task->next = nullptr;
  absl::MutexLock lock(&mu_);
  if (shutdown_) {
    throw ExecutorShutdownError(
        "cannot schedule new futures after shutdown of a ManualExecutor");
  }
  queue_.push_back(task);
}

bool ManualExecutor::run_one() {
  TaskNode* task;
  {
    absl::MutexLock lock(&mu_);
    task = queue_.pop_front();
  }
  if (task == nullptr) return false;
  task->run();
  return true;
}

std::size_t ManualExecutor::run_all() {
  std::size_t n = 0;
  while (run_one()) ++n;
  return n;
}

std::size_t ManualExecutor::pending() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void ManualExecutor::shutdown(bool wait, bool cancel_futures) {
  TaskQueue cancelled;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    if (cancel_futures) cancelled = std::move(queue_);
  }
  cancelled.cancel_all();
  if (wait) run_all();
}

void ManualExecutor::DriveOnWait::before_blocking(
    internal::StateBase& awaited) {
  while (!awaited.done() && executor_.run_one()) {
  }
}

}  // namespace concurrent
