// Copyright 2026 The concurrent Authors.

#include "executors/manual_executor.h"

#include "futures/errors.h"

namespace concurrent {

ManualExecutor::~ManualExecutor() { ManualExecutor::shutdown(/*wait=*/true); }

void ManualExecutor::execute(internal::TaskNode* task) {
  task->owner = this;
  task->next = nullptr;
  absl::MutexLock lock(&mu_);
  if (shutdown_) {
    throw ExecutorShutdownError(
        "cannot schedule new futures after shutdown of a ManualExecutor");
  }
  if (tail_ != nullptr) {
    tail_->next = task;
  } else {
    head_ = task;
  }
  tail_ = task;
  ++size_;
}

bool ManualExecutor::run_one() {
  internal::TaskNode* task;
  {
    absl::MutexLock lock(&mu_);
    task = head_;
    if (task == nullptr) return false;
    head_ = task->next;
    if (head_ == nullptr) tail_ = nullptr;
    --size_;
  }
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
  return size_;
}

void ManualExecutor::shutdown(bool wait, bool cancel_futures) {
  internal::TaskNode* cancelled = nullptr;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    if (cancel_futures) {
      cancelled = head_;
      head_ = tail_ = nullptr;
      size_ = 0;
    }
  }
  while (cancelled != nullptr) {
    internal::TaskNode* next = cancelled->next;
    cancelled->cancel_and_release();
    cancelled = next;
  }
  if (wait) run_all();
}

void ManualExecutor::DriveOnWait::before_blocking(
    internal::StateBase& awaited) {
  while (!awaited.done() && executor_.run_one()) {
  }
}

}  // namespace concurrent
