// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/promise.h
// -----------------------------------------------------------------------------
//
// `concurrent::Promise<T>` is the producer side of a `Future<T>`: the object
// an executor keeps while it runs a task, and through which it moves the
// future to running and then completes it with a value or an exception.
//
// Promises are for executor authors and tests. User code gets its futures
// from an executor's `submit()` (Python's rule: "you should not create
// futures"), and never needs this header.
//
// Example (what an executor does with each task):
//
//   concurrent::Promise<int> promise;
//   concurrent::Future<int> future = promise.get_future();  // to the caller
//   ...                                                     // later, a worker:
//   if (promise.set_running_or_notify_cancel()) {            // not cancelled
//     try {
//       promise.set_result(task());
//     } catch (...) {
//       promise.set_exception(std::current_exception());
//     }
//   }
//
// Thread-safety: thread-compatible. A Promise is a move-only owner: do not
// call its methods from two threads at once. They may race freely with any
// method of its futures (cancel(), result(), add_done_callback()...).
//
// Memory ordering: set_result() and set_exception() release: everything this
// thread did before them (building the value included) happens before any
// call that observes the future done (see futures/future.h). A true return of
// set_running_or_notify_cancel() happens after every earlier cancel() attempt
// failed; a false one after the cancel() that won.
//
// Errors: completing a finished or cancelled future throws InvalidStateError
// (so a worker that lost a race with cancel() finds out). A Promise destroyed
// (or assigned over) without completing its future completes it with
// BrokenPromise, so waiters get a clear error instead of waiting forever.

#ifndef CONCURRENT_FUTURES_PROMISE_H_
#define CONCURRENT_FUTURES_PROMISE_H_

#include <exception>
#include <utility>

#include "futures/errors.h"
#include "futures/future.h"
#include "futures/internal/shared_state.h"

namespace concurrent {

template <typename T>
class Promise {
 public:
  // A promise with a new, pending future (one allocation).
  Promise() : state_(new internal::SharedState<T>()) {}

  Promise(Promise&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)) {}
  Promise& operator=(Promise&& other) noexcept {
    if (this != &other) {
      abandon();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  Promise(const Promise&) = delete;
  Promise& operator=(const Promise&) = delete;

  // Completes a still-pending or running future with BrokenPromise.
  ~Promise() { abandon(); }

  // False for a moved-from promise; every other method then throws
  // InvalidStateError.
  bool valid() const noexcept { return state_ != nullptr; }

  // A handle on this promise's future. May be called any number of times;
  // all handles share the one state.
  Future<T> get_future() const {
    return internal::FutureAccess::share(&checked());
  }

  // Python's Future.set_running_or_notify_cancel(). Returns false if the
  // future was cancelled: the task must then not run (waiters were already
  // woken by cancel()). Returns true after moving a pending future to
  // running; from then on cancel() returns false. Throws InvalidStateError if
  // the future is already running or finished.
  [[nodiscard]] bool set_running_or_notify_cancel() {
    return checked().set_running_or_notify_cancel();
  }

  // Completes the future with a value built from `args` (no arguments for
  // Promise<void>), waking every waiter and running the done callbacks in
  // this thread. Throws InvalidStateError if the future is already finished
  // or cancelled; if building the value throws, that exception propagates and
  // the future is unchanged.
  template <typename... Args>
  void set_result(Args&&... args) {
    checked().set_value(std::forward<Args>(args)...);
  }

  // Completes the future with `exception`, which result() will rethrow.
  // Throws InvalidStateError as set_result() does, std::invalid_argument if
  // `exception` is null.
  void set_exception(std::exception_ptr exception) {
    checked().set_exception(std::move(exception));
  }

 private:
  friend struct internal::FutureAccess;
  explicit Promise(internal::SharedState<T>* state) noexcept : state_(state) {}

  internal::SharedState<T>& checked() const {
    if (state_ == nullptr) internal::ThrowInvalidHandle();
    return *state_;
  }

  void abandon() noexcept {
    if (state_ == nullptr) return;
    // Even with no other handle left, callbacks and then() continuations
    // registered on the future must learn that it will never complete.
    internal::BreakPromise(
        *state_, "its Promise was destroyed without setting a result");
    std::exchange(state_, nullptr)->unref();
  }

  internal::SharedState<T>* state_;
};

}  // namespace concurrent

#endif  // CONCURRENT_FUTURES_PROMISE_H_
