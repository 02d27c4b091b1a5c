// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: executors/inline_executor.h
// -----------------------------------------------------------------------------
//
// `concurrent::InlineExecutor` runs each task at once, in the thread that
// submits it, before submit() returns. It makes code written against
// `Executor` deterministic in tests: the future submit() returns is already
// done, and its done callbacks have run.
//
// Example:
//
//   concurrent::InlineExecutor inline_executor;
//   concurrent::Future<int> f = inline_executor.submit([] { return 42; });
//   assert(f.done() && f.result() == 42);
//
// Thread-safety: thread-safe. Tasks submitted from several threads run
// concurrently, each in its submitter's thread; a task may submit more tasks
// (they run nested, at once).
//
// Errors: submit() throws ExecutorShutdownError after shutdown(). What a task
// throws is stored in its future.
//
// Shutdown: nothing is ever queued, so shutdown(wait, cancel_futures) only
// refuses later submits; it returns at once (tasks running in other threads
// are not waited for, as they are part of those threads' submit() calls).

#ifndef CONCURRENT_EXECUTORS_INLINE_EXECUTOR_H_
#define CONCURRENT_EXECUTORS_INLINE_EXECUTOR_H_

#include <atomic>

#include "executors/executor.h"

namespace concurrent {

class InlineExecutor final : public Executor {
 public:
  InlineExecutor() = default;
  // shutdown(wait = true).
  ~InlineExecutor() override;

  // See the top of this file. Idempotent; never throws.
  void shutdown(bool wait = true, bool cancel_futures = false) override;

 private:
  void execute(TaskNode* task) override;

  std::atomic<bool> shutdown_{false};
};

}  // namespace concurrent

#endif  // CONCURRENT_EXECUTORS_INLINE_EXECUTOR_H_
