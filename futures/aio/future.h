// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/aio/future.h
// -----------------------------------------------------------------------------
//
// `concurrent::aio::Future<T>` is the asyncio flavour's future, with the
// semantics of CPython 3.12's `asyncio.Future`: it is bound to one event loop,
// it never blocks, and it is awaited. Beside `concurrent::Future<T>` (the
// blocking one of futures/future.h):
//
//   |                     | concurrent::Future     | aio::Future |
//   |---------------------|------------------------|---------------------------|
//   | result() if pending | blocks (with timeout)  | throws InvalidStateError |
//   | wait for it         | result(timeout), wait  | co_await fut | | done
//   callbacks run  | inline, in the thread  | via call_soon(), on the   | | |
//   that completes it      | loop, never inline        | | cancel() twice |
//   true both times        | true, then false          | | cancel message |
//   none                   | cancel(msg) reaches the   | | | | CancelledError |
//   | thread-safety       | thread-safe            | loop thread only |
//
// A Future is a cheap copyable handle, like a Python reference: copies see the
// same state. A default-constructed or moved-from handle is invalid
// (`valid()` is false; other methods throw InvalidStateError).
//
// Example:
//
//   aio::Coroutine<void> amain() {
//     aio::EventLoop& loop = aio::get_running_loop();
//     aio::Future<int> fut = loop.create_future<int>();
//     loop.call_later(absl::Milliseconds(5), [fut]() mutable {
//       fut.set_result(42);
//     });
//     int v = co_await fut;  // suspends this task until the result is set
//   }
//
// Thread-safety: thread-hostile: use a future on its loop's thread (copying
// or destroying a handle is safe from any thread). To complete a future from
// another thread, post the completion with `loop.call_soon_threadsafe()`, or
// use wrap_future() (futures/aio/wrap_future.h).
//
// Errors: `CancelledError` from result()/exception()/co_await of a cancelled
// future (its message is the cancel message); `InvalidStateError` from
// result()/exception() of a pending future, from set_result()/
// set_exception() of a done one or of a task, and from any method of an
// invalid handle; result() and co_await rethrow the stored exception itself.

// The core headers include each other through event_loop.h, which includes
// this one at its end: included first, it must let event_loop.h define the
// loop before its own guard.
#include "futures/aio/event_loop.h"  // IWYU pragma: keep

#ifndef CONCURRENT_FUTURES_AIO_FUTURE_H_
#define CONCURRENT_FUTURES_AIO_FUTURE_H_

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <variant>

#include "futures/aio/internal/core.h"
#include "futures/errors.h"

namespace concurrent::aio {

namespace internal {

// What a future stores for T (std::monostate for void).
template <typename T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// Throws InvalidStateError naming what was moved out.
[[noreturn]] void ThrowTaken(const FutureBase& state);
[[noreturn]] void ThrowInvalidHandle();

template <typename T>
class FutureState : public FutureBase {
 public:
  using FutureBase::FutureBase;

  // Python's set_result(): throws InvalidStateError if done (or a task).
  template <typename... A>
  void set_value(A&&... args) {
    check_settable("set_result");
    store_value(std::forward<A>(args)...);
  }
  // Requires pending. Stores the value, marks finished, schedules callbacks.
  template <typename... A>
  void store_value(A&&... args) {
    value_.emplace(std::forward<A>(args)...);
    mark_finished();
  }
  // Requires finished with a value.
  const Stored<T>& value() const {
    if (!value_.has_value()) ThrowTaken(*this);
    return *value_;
  }
  Stored<T> take_value() {
    if (!value_.has_value()) ThrowTaken(*this);
    Stored<T> v = std::move(*value_);
    value_.reset();
    return v;
  }

 protected:
  ~FutureState() override = default;

 private:
  std::optional<Stored<T>> value_;
};

// A done callback added with add_done_callback(): registered on the pending
// future, then queued on the loop when the future completes.
class DoneCallbackBase : public FutureCallback, public ReadyNode {
 public:
  explicit DoneCallbackBase(std::uint64_t id) noexcept : id_(id) {}
  virtual ~DoneCallbackBase() {
    if (future_ != nullptr) future_->unref();
  }
  void on_future_done(FutureBase& future) noexcept override;
  void on_future_dropped() noexcept override { delete this; }
  void run_ready() noexcept override;
  void discard_ready() noexcept override { delete this; }

  std::uint64_t id() const noexcept { return id_; }
  // True if the callback is `fn` (same type, and equal).
  virtual bool matches(const std::type_info& type, const void* fn) const = 0;

 protected:
  virtual void invoke(FutureBase& future) = 0;

 private:
  std::uint64_t id_;
  FutureBase* future_ = nullptr;  // referenced once queued
};

template <typename T, typename F>
class DoneCallback final : public DoneCallbackBase {
 public:
  template <typename G>
  DoneCallback(std::uint64_t id, G&& fn)
      : DoneCallbackBase(id), fn_(std::forward<G>(fn)) {}
  bool matches(const std::type_info& type, const void* fn) const override {
    if constexpr (std::equality_comparable<F>) {
      return type == typeid(F) && *static_cast<const F*>(fn) == fn_;
    } else {
      return false;
    }
  }

 private:
  void invoke(FutureBase& future) override;
  F fn_;
};

std::uint64_t NextCallbackId() noexcept;

// co_await of a Future<T> (kMove: of an rvalue handle, which moves the value
// out). Python's Future.__await__ plus the task's wake-up. The common case, a
// future already done, touches only `state_`: the registration (FutureWait)
// is built in the frame only when the task suspends.
template <typename T, bool kMove>
class FutureAwaiter {
 public:
  explicit FutureAwaiter(FutureState<T>* state) noexcept : state_(state) {}
  FutureAwaiter(const FutureAwaiter&) = delete;
  FutureAwaiter& operator=(const FutureAwaiter&) = delete;

  bool await_ready() const noexcept { return state_->done(); }
  template <typename P>
  void await_suspend(std::coroutine_handle<P> h) {
    TaskCore* task = h.promise().task();
    wait_.emplace(state_, task);
    task->suspend_on(h, &*wait_);
  }
  decltype(auto) await_resume() {
    if (wait_.has_value()) [[unlikely]]
      wait_->resumed();
    if (!state_->has_value()) [[unlikely]] {
      state_->mark_retrieved();
      state_->throw_result();
    }
    if constexpr (std::is_void_v<T>) {
      return;
    } else if constexpr (kMove) {
      return T(state_->take_value());
    } else {
      return static_cast<const T&>(state_->value());
    }
  }

 private:
  FutureState<T>* state_;
  std::optional<FutureWait> wait_;
};

struct FutureAccess;

}  // namespace internal

// Identifies a callback added with add_done_callback(), for
// remove_done_callback().
struct CallbackId {
  std::uint64_t value = 0;
  friend bool operator==(CallbackId, CallbackId) = default;
};

// Future<T>: see the top of this file. T may be void, move-only, or any
// value type (not a reference).
template <typename T>
class Future {
  static_assert(!std::is_reference_v<T>, "aio::Future<T&> is not supported");

 public:
  using value_type = T;
  using aio_awaitable_tag = void;

  Future() noexcept = default;

  bool valid() const noexcept { return static_cast<bool>(state_); }
  // The loop the future is bound to.
  EventLoop& get_loop() const { return checked().loop(); }

  // Never block.
  bool done() const { return checked().done(); }
  bool cancelled() const { return checked().cancelled(); }

  // If the future is pending, cancels it (its done callbacks are scheduled)
  // and returns true; otherwise returns false (a second cancel() too).
  // `msg` becomes the what() of the CancelledError that result() and
  // co_await throw (a default message names the future). For a Task, this is
  // Task::cancel().
  bool cancel(std::string_view msg = {}) { return checked().cancel(msg); }

  // The result. Never blocks: throws InvalidStateError("Result is not
  // ready.") while pending, CancelledError if cancelled, the stored exception
  // (the same object) if the future failed. Returns a reference into the
  // shared state, valid while any handle lives.
  decltype(auto) result() const& {
    internal::FutureState<T>& s = checked();
    s.mark_retrieved();
    s.check_result();
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      return static_cast<const T&>(s.value());
    }
  }
  // As above, but moves the value out (once; later result() calls on any
  // handle throw InvalidStateError).
  T result() && {
    internal::FutureState<T>& s = checked();
    s.mark_retrieved();
    s.check_result();
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      return T(s.take_value());
    }
  }

  // The stored exception, or null if the future has a value. Throws
  // InvalidStateError while pending, CancelledError if cancelled.
  std::exception_ptr exception() const {
    internal::FutureState<T>& s = checked();
    s.mark_retrieved();
    return s.checked_exception();
  }

  // Schedules `fn(const Future<T>&)` with the loop's call_soon() when the
  // future is done (at once if it already is): never runs it inline.
  // Callbacks run in the order they were added. What `fn` throws goes to
  // the loop's exception handler. Returns an id for remove_done_callback().
  template <typename F>
  requires std::invocable < std::decay_t<F>
  &, const Future<T>& > CallbackId add_done_callback(F&& fn) const {
    internal::FutureState<T>& s = checked();
    const std::uint64_t id = internal::NextCallbackId();
    auto* cb =
        new internal::DoneCallback<T, std::decay_t<F>>(id, std::forward<F>(fn));
    if (s.done()) {
      cb->on_future_done(s);
    } else {
      s.add_callback(cb);
    }
    return CallbackId{id};
  }

  // Removes the callbacks not yet scheduled that were added as `fn` (for
  // equality-comparable callables, such as function pointers) or that
  // `id` names; returns how many were removed (Python's count).
  template <typename F>
  requires std::equality_comparable<F> && std::invocable < F&, const Future<T>
  & > std::size_t remove_done_callback(const F& fn) const {
    return checked().remove_callbacks_if(
        [&fn](internal::FutureCallback* cb) {
          auto* d = dynamic_cast<internal::DoneCallbackBase*>(cb);
          return d != nullptr && d->matches(typeid(F), &fn);
        },
        [](internal::FutureCallback* cb) {
          delete static_cast<internal::DoneCallbackBase*>(cb);
        });
  }
  std::size_t remove_done_callback(CallbackId id) const {
    return checked().remove_callbacks_if(
        [id](internal::FutureCallback* cb) {
          auto* d = dynamic_cast<internal::DoneCallbackBase*>(cb);
          return d != nullptr && d->id() == id.value;
        },
        [](internal::FutureCallback* cb) {
          delete static_cast<internal::DoneCallbackBase*>(cb);
        });
  }

  // Completes the future and schedules its callbacks. Throw
  // InvalidStateError if it is done, or is a Task.
  template <typename U = T>
  requires(!std::is_void_v<T> &&
           std::constructible_from<T, U&&>) void set_result(U&& value) const {
    checked().set_value(std::forward<U>(value));
  }
  void set_result() const requires std::is_void_v<T> { checked().set_value(); }
  void set_exception(std::exception_ptr e) const {
    checked().set_exception(std::move(e));
  }

  // co_await fut: suspends the awaiting task until the future is done, then
  // returns what result() returns (a const reference for an lvalue handle;
  // the value moved out for an rvalue one) or throws what it throws. Does
  // not suspend if the future is already done. Cancelling the awaiting task
  // cancels the future (Task.cancel()'s rule).
  internal::FutureAwaiter<T, false> operator co_await() const& {
    return internal::FutureAwaiter<T, false>(&checked());
  }
  internal::FutureAwaiter<T, true> operator co_await() && {
    return internal::FutureAwaiter<T, true>(&checked());
  }

  friend bool operator==(const Future& a, const Future& b) noexcept {
    return a.state_.get() == b.state_.get();
  }
  template <typename H>
  friend H AbslHashValue(H h, const Future& f) {
    return H::combine(std::move(h), f.state_.get());
  }

 private:
  friend struct internal::FutureAccess;
  explicit Future(internal::Ref<internal::FutureState<T>> state) noexcept
      : state_(std::move(state)) {}
  internal::FutureState<T>& checked() const {
    if (!state_) internal::ThrowInvalidHandle();
    return *state_;
  }

  internal::Ref<internal::FutureState<T>> state_;
};

namespace internal {

// Builds handles from states (for tasks and combinators).
struct FutureAccess {
  template <typename T>
  static Future<T> adopt(FutureState<T>* s) noexcept {
    return Future<T>(Ref<FutureState<T>>::adopt(s));
  }
  template <typename T>
  static Future<T> share(FutureState<T>* s) noexcept {
    return Future<T>(Ref<FutureState<T>>::share(s));
  }
  template <typename T>
  static FutureState<T>* state(const Future<T>& f) noexcept {
    return f.state_.get();
  }
};

template <typename T, typename F>
void DoneCallback<T, F>::invoke(FutureBase& future) {
  const Future<T> f =
      FutureAccess::share(static_cast<FutureState<T>*>(&future));
  fn_(f);
}

// A pending state of type T on `loop` (for create_future and combinators).
template <typename T>
class PlainFutureState final : public FutureState<T> {
 public:
  using FutureState<T>::FutureState;
};

}  // namespace internal

template <typename T>
Future<T> EventLoop::create_future() {
  check_open();
  return internal::FutureAccess::adopt<T>(
      new internal::PlainFutureState<T>(this));
}

}  // namespace concurrent::aio

#endif  // CONCURRENT_FUTURES_AIO_FUTURE_H_
