// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
//
// Python's Timeout state machine (Lib/asyncio/timeouts.py): CREATED ->
// ENTERED -> (EXPIRING -> EXPIRED) | EXITED. On expiry the scope cancels its
// task and records that it did; at exit, uncancel() withdraws that one
// request, and only if no other request is left (the count is back to what
// it was at entry) and a CancelledError is unwinding does the scope turn it
// into TimeoutError. A cancellation from outside during the scope therefore
// stays a cancellation.

#include "futures/aio/timeouts.h"

#include <exception>
#include <optional>
#include <string>

#include "futures/aio/event_loop.h"
#include "futures/aio/task.h"
#include "futures/errors.h"

namespace concurrent::aio {

Timeout Timeout::after(absl::Duration delay) {
  if (delay == absl::InfiniteDuration()) return Timeout(std::nullopt);
  return Timeout(get_running_loop().time() + delay);
}

void Timeout::enter() {
  if (state_ != State::kCreated) {
    throw InvalidStateError("Timeout has already been entered");
  }
  EventLoop& loop = get_running_loop();
  internal::TaskCore* task = loop.running_task();
  if (task == nullptr) {
    throw InvalidStateError("Timeout should be used inside a task");
  }
  state_ = State::kEntered;
  task_ = task;
  cancelling_ = task->cancelling();
  reschedule(when_);
}

void Timeout::reschedule(std::optional<absl::Duration> when) {
  if (state_ != State::kEntered) {
    if (state_ == State::kCreated) {
      throw InvalidStateError("Timeout has not been entered");
    }
    throw InvalidStateError(std::string("Cannot change state of ") +
                            (expired() ? "expired" : "finished") + " Timeout");
  }
  when_ = when;
  cancel_handles();
  if (when.has_value()) {
    EventLoop& loop = task_->loop();
    if (*when <= loop.time()) {
      soon_ = loop.call_soon([this] { on_timeout(); });
    } else {
      timer_ = loop.call_at(*when, [this] { on_timeout(); });
    }
  }
}

void Timeout::on_timeout() {
  task_->cancel("");
  state_ = State::kExpiring;
  soon_ = Handle();
  timer_ = TimerHandle();
}

void Timeout::exit(const std::exception_ptr& error) {
  cancel_handles();
  if (state_ == State::kExpiring) {
    state_ = State::kExpired;
    if (task_->uncancel() <= cancelling_ && error != nullptr &&
        internal::IsCancelledError(error)) {
      throw TimeoutError("timed out: " + task_->name() +
                         " was cancelled at its deadline");
    }
  } else if (state_ == State::kEntered) {
    state_ = State::kExited;
  }
}

}  // namespace concurrent::aio
