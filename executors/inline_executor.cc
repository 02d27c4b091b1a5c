// Copyright 2026 The concurrent Authors.

#include "executors/inline_executor.h"

#include "futures/errors.h"

namespace concurrent {

InlineExecutor::~InlineExecutor() { InlineExecutor::shutdown(/*wait=*/true); }

void InlineExecutor::shutdown(bool /*wait*/, bool /*cancel_futures*/) {
  shutdown_.store(true, std::memory_order_release);
}

void InlineExecutor::execute(TaskNode* task) {
  if (shutdown_.load(std::memory_order_acquire)) {
    throw ExecutorShutdownError(
        "cannot schedule new futures after shutdown of an InlineExecutor");
  }
  task->owner.store(this, std::memory_order_relaxed);
  task->run();
}

}  // namespace concurrent
