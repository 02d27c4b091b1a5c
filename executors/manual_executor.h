// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: executors/manual_executor.h
// -----------------------------------------------------------------------------
//
// `concurrent::ManualExecutor` queues tasks and runs them only when the test
// turns the crank (folly's ManualExecutor): `run_one()` runs the oldest
// queued task in the calling thread, `run_all()` runs until the queue is
// empty, `pending()` counts the queue. Tests of callbacks, continuations and
// executor-generic code use it to decide exactly when each task runs.
//
// Example:
//
//   concurrent::ManualExecutor manual;
//   concurrent::Future<int> f = manual.submit([] { return 42; });
//   assert(!f.done() && manual.pending() == 1);
//   manual.run_one();                 // runs the task here, now
//   assert(f.result() == 42);
//
// A thread that would block on a future of this executor (say, iterating
// map()) can let the executor run its tasks meanwhile:
//
//   concurrent::ManualExecutor::DriveOnWait drive(manual);
//   for (int y : manual.map(fn, xs)) ...   // runs queued tasks as needed
//
// Thread-safety: thread-safe: any method from any thread; tasks run in the
// thread that calls run_one()/run_all()/shutdown(wait = true), outside the
// executor's lock, so they may submit more tasks.
//
// Errors: submit() throws ExecutorShutdownError after shutdown().
//
// Shutdown: shutdown(wait = false) refuses later submits; queued tasks stay
// queued and still run when the crank is turned. shutdown(wait = true) also
// turns the crank itself, in the calling thread, until the queue is empty
// (it is the thread that waits). cancel_futures cancels every queued task
// first; a concurrent shutdown(wait = true) returns only after that
// cancellation is over. The destructor is shutdown(wait = true). Unlike a
// thread pool's, shutdown(wait = true) does not wait for a task that another
// thread took with run_one() and is still running: the crank-turner owns that
// task. A task or a done callback run by the crank may destroy the executor.

#ifndef CONCURRENT_EXECUTORS_MANUAL_EXECUTOR_H_
#define CONCURRENT_EXECUTORS_MANUAL_EXECUTOR_H_

#include <cstddef>
#include <memory>

#include "executors/executor.h"
#include "executors/task_node.h"
#include "futures/internal/blocking_observer.h"

namespace concurrent {

namespace internal {
class ManualQueue;
}  // namespace internal

class ManualExecutor final : public Executor {
 public:
  ManualExecutor();
  // shutdown(wait = true): runs what is still queued.
  ~ManualExecutor() override;

  // Pops the oldest queued task and runs it in the calling thread (a task
  // that was cancelled meanwhile is dropped without running). Returns false
  // if the queue was empty.
  bool run_one();

  // Runs tasks until the queue is empty, including tasks that those tasks
  // submit. Returns how many it popped.
  std::size_t run_all();

  // How many tasks are queued (cancelled ones included until popped).
  std::size_t pending() const;

  // See the top of this file. Idempotent.
  void shutdown(bool wait = true, bool cancel_futures = false) override;

  // While alive, makes the constructing thread run this executor's queued
  // tasks (oldest first) whenever it is about to block on futures (any
  // wait: result() with or without a timeout, wait(), as_completed()), until
  // the wait could return or the queue is empty (then it blocks as usual).
  // Scoped to one thread; not movable.
  class DriveOnWait final : private internal::BlockingObserver {
   public:
    explicit DriveOnWait(ManualExecutor& executor)
        : queue_(executor.queue_), scope_(this) {}
    DriveOnWait(const DriveOnWait&) = delete;
    DriveOnWait& operator=(const DriveOnWait&) = delete;

   private:
    void before_blocking(const internal::BlockingWait& wait) override;
    void after_blocking(const internal::BlockingWait&) noexcept override {}
    const std::shared_ptr<internal::ManualQueue> queue_;
    internal::ScopedBlockingObserver scope_;
  };

 private:
  void execute(TaskNode* task) override;

  // Shared with the calls in progress: a task or a done callback run by
  // run_one(), run_all() or shutdown() may destroy this executor.
  const std::shared_ptr<internal::ManualQueue> queue_;
};

}  // namespace concurrent

#endif  // CONCURRENT_EXECUTORS_MANUAL_EXECUTOR_H_
