// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// TaskGroup follows Lib/asyncio/taskgroups.py of 3.12 with the 3.12.x fix
// that moved the parent's uncancel() after the wait for the tasks (so a
// failure that cancels the parent while __aexit__ waits is withdrawn too):
//
//   * a task's completion (a watch, run through the loop) removes it from the
//     group, wakes __aexit__'s wait when the group is empty, and records a
//     failure; the first failure aborts the group (cancels every task) and
//     cancels the parent task once (parent_cancel_requested_), so the body is
//     interrupted at its current co_await;
//   * exit() aborts the group if the body failed or was cancelled, waits until
//     no task is left (a CancelledError of the wait itself, the parent being
//     cancelled from outside, aborts the group and is propagated later),
//     withdraws its own cancellation of the parent, and then throws, in this
//     order of priority: the errors as one ExceptionGroup (keeping the
//     parent's outside cancellation requests counted), else the pending
//     CancelledError.

#include "futures/aio/task_group.h"

#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "futures/aio/event_loop.h"
#include "futures/aio/task.h"
#include "futures/errors.h"

namespace concurrent::aio {

ExceptionGroup::ExceptionGroup(const std::string& message,
                               std::vector<std::exception_ptr> exceptions)
    : Error(absl::StrCat(message, " (", exceptions.size(), " sub-exception",
                         exceptions.size() == 1 ? "" : "s", ")")),
      exceptions_(std::move(exceptions)) {}

ExceptionGroup::~ExceptionGroup() = default;

TaskGroup::~TaskGroup() = default;

void TaskGroup::enter() {
  if (entered_) throw InvalidStateError("TaskGroup has already been entered");
  loop_ = &get_running_loop();
  parent_ = loop_->running_task();
  if (parent_ == nullptr) {
    throw InvalidStateError("TaskGroup cannot determine the parent task");
  }
  entered_ = true;
}

void TaskGroup::check_can_create() const {
  if (!entered_) throw InvalidStateError("TaskGroup has not been entered");
  if (exiting_ && tasks_.empty()) {
    throw InvalidStateError("TaskGroup is finished");
  }
  if (aborting_) throw InvalidStateError("TaskGroup is shutting down");
}

void TaskGroup::add(AnyTask task) {
  internal::FutureBase* state = &task.core().future();
  tasks_.emplace(state, std::move(task));
  watches_.add(*state, [this](internal::FutureBase& done) noexcept {
    on_task_done(done);
  });
}

void TaskGroup::abort() noexcept {
  aborting_ = true;
  for (auto& [state, task] : tasks_) {
    if (!task.done()) task.cancel();
  }
}

void TaskGroup::on_task_done(internal::FutureBase& task) noexcept {
  tasks_.erase(&task);
  if (on_completed_.valid() && tasks_.empty() && !on_completed_.done()) {
    on_completed_.set_result();
  }
  if (task.cancelled()) return;
  task.mark_retrieved();
  if (task.error() == nullptr) return;
  errors_.push_back(task.error());
  if (parent_->future().done()) {
    loop_->call_exception_handler(
        {"a TaskGroup task failed after its parent task was done", task.error(),
         task.describe()});
    return;
  }
  if (!aborting_ && !parent_cancel_requested_) {
    // Interrupt the body (it may be awaiting something unrelated); exit()
    // withdraws this cancellation again.
    abort();
    parent_cancel_requested_ = true;
    parent_->cancel("");
  }
}

Coroutine<void> TaskGroup::exit(std::exception_ptr error) {
  exiting_ = true;
  const bool body_cancelled =
      error != nullptr && internal::IsCancelledError(error);
  std::exception_ptr propagate_cancellation = body_cancelled ? error : nullptr;
  if (error != nullptr && !aborting_) abort();

  std::exception_ptr pending_cancellation;
  while (!tasks_.empty()) {
    if (!on_completed_.valid()) on_completed_ = loop_->create_future();
    try {
      co_await on_completed_;
    } catch (const CancelledError&) {
      // The parent task is being cancelled while the group's tasks run.
      pending_cancellation = std::current_exception();
      if (!aborting_) {
        propagate_cancellation = pending_cancellation;
        abort();
      }
    }
    on_completed_ = Future<void>();
  }

  if (parent_cancel_requested_) {
    // We cancelled the parent: withdraw that request.
    if (parent_->uncancel() == 0) {
      propagate_cancellation = nullptr;
    } else if (propagate_cancellation == nullptr) {
      // The remaining requests are not ours: keep them.
      propagate_cancellation = pending_cancellation;
    }
  }
  if (propagate_cancellation != nullptr && errors_.empty()) {
    std::rethrow_exception(propagate_cancellation);
  }
  if (error != nullptr && !body_cancelled) errors_.push_back(error);
  if (!errors_.empty()) {
    if (parent_->cancelling() > 0) {
      // Cancelled from outside too: re-request it, keeping the count stable,
      // so the parent's next suspension point still sees it.
      parent_->uncancel();
      parent_->cancel("");
    }
    throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors_));
  }
}

}  // namespace concurrent::aio
