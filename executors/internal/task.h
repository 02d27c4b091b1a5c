// Copyright 2026 The concurrent Authors.
//
// The unit of work that an Executor queues: a task fused with the shared state
// of its future. Private: executors see it as a TaskNode
// (executors/task_node.h).
//
// `TaskState<R, Fn, Args...>` derives from both `SharedState<R>` (what the
// caller's Future<R> points to) and `TaskNode` (what the executor queues), so
// `submit()` costs one allocation. The state is reference-counted: the
// caller's future owns one reference and the executor's queue owns another,
// which `run()`, `fail_and_release()` and `cancel_and_release()` each drop
// exactly once.
//
// Claiming: a task runs only after `StateBase::try_set_running()` succeeded,
// so it runs at most once even when two threads race for it (a worker that
// pops it from the queue, and a worker of the same pool that waits on its
// future and runs it inline), and never after it was cancelled.

#ifndef CONCURRENT_EXECUTORS_INTERNAL_TASK_H_
#define CONCURRENT_EXECUTORS_INTERNAL_TASK_H_

#include <exception>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "executors/task_node.h"
#include "futures/future.h"
#include "futures/internal/shared_state.h"

namespace concurrent {

class Executor;

namespace internal {

// Calls Executor::execute() (protected) for the tasks below; defined in
// executors/executor.h.
struct ExecutorAccess {
  static void execute(Executor& executor, TaskNode* task);
};

// The task `std::invoke(std::move(fn), std::move(args)...)` and the state of
// its Future<R>.
template <typename R, typename Fn, typename... Args>
class TaskState final : public SharedState<R>, public TaskNode {
 public:
  template <typename F, typename... A>
  explicit TaskState(F&& fn, A&&... args)
      : call_(std::in_place, std::forward<F>(fn), std::forward<A>(args)...) {}

  void run() noexcept override {
    if (this->try_set_running()) {
      run_claimed();
    } else {
      release_if_cancelled();
    }
    this->unref();
  }

  void run_claimed() noexcept override {
    // This thread runs the task: waiting on its own future would deadlock.
    const RunningScope running(*this);
    try {
      if constexpr (std::is_void_v<R>) {
        std::apply(Invoke{}, std::move(*call_));
        call_.reset();
        this->set_value();
      } else {
        // The value is built in place in the state: no extra move.
        this->set_value(std::apply(Invoke{}, std::move(*call_)));
        call_.reset();
      }
    } catch (...) {
      call_.reset();
      try {
        this->set_exception(std::current_exception());
      } catch (...) {
        // Only this thread completes a claimed task: unreachable.
      }
    }
  }

  void fail_and_release(std::exception_ptr error) noexcept override {
    if (this->try_set_running()) {
      call_.reset();
      try {
        this->set_exception(std::move(error));
      } catch (...) {
      }
    }
    this->unref();
  }

  void cancel_and_release() noexcept override {
    try {
      StateBase::cancel();
    } catch (...) {
      // cancel() only throws from a done callback, which reports its own.
    }
    release_if_cancelled();
    this->unref();
  }

  StateBase& state() noexcept override { return *this; }

 private:
  // A cancelled task never runs: drop the callable and its arguments now (as
  // Python drops the work item), not when the last Future handle goes, so
  // that what they own (say, a Promise) is released. Only the executor's
  // single release path calls this, and a cancelled task has no runner.
  void release_if_cancelled() noexcept {
    if (this->status() == kCancelled) call_.reset();
  }

  struct Invoke {
    template <typename F, typename... A>
    decltype(auto) operator()(F&& f, A&&... a) const {
      return std::invoke(std::forward<F>(f), std::forward<A>(a)...);
    }
  };

  std::optional<std::tuple<Fn, Args...>> call_;
};

// then(executor, fn) on a concurrent::Executor: the state of the returned
// future, the listener that learns that the source is done, and the task
// that the executor runs, in one object (one allocation per link). When the
// source is done, the task executes itself on the executor; the executor
// runs, fails or cancels it like any task (so shutdown(cancel_futures)
// cancels it: CancelledError). References: the result handle, the source's
// listener list (dropped by dispose()), and the executor (from execute()).
template <typename U, typename T, typename F>
class ContinuationTask final : public SharedState<U>,
                               public Listener,
                               public TaskNode {
 public:
  ContinuationTask(Executor& executor, F&& fn)
      : executor_(&executor), fn_(std::in_place, std::move(fn)) {}

  // Listener: the source is done; hand the task to the executor.
  void on_done(StateBase& source) noexcept override {
    notified_ = true;
    auto& typed = static_cast<SharedState<T>&>(source);
    if (this->done() || ContinuationSkipsFn<T, F>(typed)) {
      // Cancelled: `fn` never runs. Or `fn` takes a value that the source
      // does not have: forward its error (CancelledError for a cancelled
      // source) here, without the executor.
      RunContinuation(*this, *fn_, typed);
      fn_.reset();
      return;
    }
    source_ = &typed;
    source_->ref();
    this->ref();  // the executor's
    try {
      ExecutorAccess::execute(*executor_, this);
    } catch (...) {
      // Refused (say, shut down): fail the result with that error.
      this->unref();  // not accepted (the result handle keeps it alive)
      fail(std::current_exception());
    }
  }
  void dispose() noexcept override {
    if (!notified_) {  // the source died without completing
      fn_.reset();
      BreakPromise(*this, "the future it continues was abandoned");
    }
    this->unref();
  }

  // TaskNode.
  void run() noexcept override {
    if (this->try_set_running()) {
      run_claimed();
    } else if (this->status() == kCancelled) {
      release();  // nobody runs a cancelled task
    }
    this->unref();
  }
  void run_claimed() noexcept override {
    RunClaimedContinuation(*this, *fn_, *source_);
    release();
  }
  void fail_and_release(std::exception_ptr error) noexcept override {
    fail(std::move(error));
    this->unref();
  }
  void cancel_and_release() noexcept override {
    try {
      StateBase::cancel();
    } catch (...) {
      // cancel() only throws from a done callback, which reports its own.
    }
    if (this->status() == kCancelled) release();
    this->unref();
  }
  StateBase& state() noexcept override { return *this; }

 protected:
  ~ContinuationTask() override { release(); }

 private:
  // If unclaimed, claims the task and fails it with `error`.
  void fail(std::exception_ptr error) noexcept {
    if (!this->try_set_running()) return;
    release();
    try {
      this->set_exception(std::move(error));
    } catch (...) {
    }
  }
  // Drops `fn` and the source once the task ran or never will.
  void release() noexcept {
    fn_.reset();
    if (source_ != nullptr) std::exchange(source_, nullptr)->unref();
  }

  Executor* const executor_;
  std::optional<F> fn_;
  SharedState<T>* source_ = nullptr;  // referenced from on_done() on
  bool notified_ = false;             // on_done() ran (dispose() follows it)
};

// The result type of a submitted task, as std::async computes it.
template <typename F, typename... Args>
using TaskResult = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_EXECUTORS_INTERNAL_TASK_H_
