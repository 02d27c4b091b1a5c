// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/aio/task_group.h
// -----------------------------------------------------------------------------
//
// Structured concurrency, with the semantics of CPython 3.12's
// `asyncio.TaskGroup` (Lib/asyncio/taskgroups.py):
//
//   * `co_await aio::task_group(body)` runs `body(group)` in the calling task
//     (Python's `async with asyncio.TaskGroup() as group:` block), then waits
//     for every task the body created with `group.create_task(coro)`;
//   * the first task that fails (with anything but CancelledError) cancels
//     every other task of the group and the body itself (at its current
//     co_await); all the errors, the body's included, are thrown together as
//     one `aio::ExceptionGroup` once every task is done;
//   * cancelling the calling task cancels the group's tasks too; the
//     CancelledError goes on once they are done (unless errors came up:
//     those win, as in Python);
//   * task_group() returns what the body returns.
//
// Example:
//
//   aio::Coroutine<void> amain() {
//     auto body = [](aio::TaskGroup& group) -> aio::Coroutine<void> {
//       group.create_task(fetch("a"));
//       group.create_task(fetch("b"));
//       co_return;
//     };
//     try {
//       co_await aio::task_group(body);  // both fetched, or both stopped
//     } catch (const aio::ExceptionGroup& eg) {
//       for (const std::exception_ptr& e : eg.exceptions()) { ... }
//     }
//   }
//
// Name the body first, as above: g++ 12 mishandles a capturing lambda
// temporary in a co_await expression (docs/style.md). task_group() keeps its
// own copy of `body` until every task of the group is done, and the calling
// coroutine's locals outlive the co_await: the body and its tasks may
// capture either.
//
// Thread-safety: thread-hostile, as futures/aio/future.h.
//
// Errors: ExceptionGroup as above; InvalidStateError from create_task() once
// the group is shutting down (after a failure) or finished, and from
// task_group() outside a running task.

// The core headers first (see the note in future.h).
#include "futures/aio/event_loop.h"  // IWYU pragma: keep

#ifndef CONCURRENT_FUTURES_AIO_TASK_GROUP_H_
#define CONCURRENT_FUTURES_AIO_TASK_GROUP_H_

#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "futures/aio/future.h"
#include "futures/aio/internal/core.h"
#include "futures/aio/internal/watch.h"
#include "futures/aio/task.h"
#include "futures/errors.h"

namespace concurrent::aio {

// The errors of a task group, carried together (Python's ExceptionGroup).
// what(): "unhandled errors in a TaskGroup (2 sub-exceptions)".
class ExceptionGroup : public Error {
 public:
  ExceptionGroup(const std::string& message,
                 std::vector<std::exception_ptr> exceptions);
  ~ExceptionGroup() override;
  // The errors, in the order they happened (the body's last).
  const std::vector<std::exception_ptr>& exceptions() const noexcept {
    return exceptions_;
  }

 private:
  std::vector<std::exception_ptr> exceptions_;
};

// The group a task_group() body adds tasks to. Not constructible by users.
class TaskGroup {
 public:
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  ~TaskGroup();

  // Creates a task in the group (Python's TaskGroup.create_task). Throws
  // InvalidStateError if the group is shutting down or finished.
  template <typename T>
  Task<T> create_task(Coroutine<T> coro) {
    check_can_create();
    Task<T> task = loop_->create_task(std::move(coro));
    add(AnyTask(task));
    return task;
  }

  // --- For task_group() ---
  TaskGroup() = default;
  // Python's __aenter__: throws InvalidStateError outside a running task.
  void enter();
  // Python's __aexit__ with the body's outcome (`error`, or null).
  Coroutine<void> exit(std::exception_ptr error);

 private:
  void check_can_create() const;
  void add(AnyTask task);
  void on_task_done(internal::FutureBase& task) noexcept;
  void abort() noexcept;

  EventLoop* loop_ = nullptr;
  internal::TaskCore* parent_ = nullptr;
  bool entered_ = false;
  bool exiting_ = false;
  bool aborting_ = false;
  bool parent_cancel_requested_ = false;
  absl::flat_hash_map<internal::FutureBase*, AnyTask> tasks_;
  std::vector<std::exception_ptr> errors_;
  Future<void> on_completed_;
  internal::WatchSet watches_;
};

namespace internal {
template <typename F>
using TaskGroupBody = std::invoke_result_t<F&, TaskGroup&>;
}  // namespace internal

// task_group(body): see the top of this file. `body(TaskGroup&)` returns a
// Coroutine<R>; task_group() returns R.
template <typename F>
requires std::is_invocable_v<F&, TaskGroup&>
auto task_group(F body)
    -> Coroutine<internal::ValueOf<internal::TaskGroupBody<F>>> {
  using R = internal::ValueOf<internal::TaskGroupBody<F>>;
  TaskGroup group;
  group.enter();
  std::exception_ptr error;
  std::optional<internal::Stored<R>> result;
  try {
    if constexpr (std::is_void_v<R>) {
      co_await body(group);
    } else {
      result.emplace(co_await body(group));
    }
  } catch (...) {
    error = std::current_exception();
  }
  co_await group.exit(error);
  if (error != nullptr) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<R>) co_return std::move(*result);
}

}  // namespace concurrent::aio

#endif  // CONCURRENT_FUTURES_AIO_TASK_GROUP_H_
