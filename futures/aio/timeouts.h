// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/aio/timeouts.h
// -----------------------------------------------------------------------------
//
// Timeouts, with the semantics of CPython 3.12's `asyncio.timeout()`,
// `asyncio.timeout_at()` (Lib/asyncio/timeouts.py) and `asyncio.wait_for()`:
//
//   * `co_await aio::timeout(delay, aw)` runs the awaitable `aw` in the
//     calling task (Python's `async with asyncio.timeout(delay): await aw`).
//     If `delay` passes first, the task is cancelled; the CancelledError that
//     unwinds `aw` is turned into TimeoutError when it leaves the scope
//     (unless someone else cancelled the task too: then CancelledError goes
//     on, as Python decides with cancelling()/uncancel());
//   * `aio::timeout(delay, fn)` with `fn(aio::Timeout&)` returning the
//     awaitable gives the body its Timeout, to `reschedule()` it or ask
//     `expired()`;
//   * `aio::timeout_at(when, ...)` takes a time of the loop's clock;
//   * `co_await aio::wait_for(aw, timeout)`: the same for one awaitable,
//     except that a timeout <= 0 first makes `aw` a task, returns its result
//     if it is already done, else cancels it, waits for it to finish and
//     throws TimeoutError (3.12).
//
// A delay of absl::InfiniteDuration() (Python's None) means no timeout.
//
// Example:
//
//   aio::Coroutine<void> amain() {
//     try {
//       std::string page = co_await aio::timeout(absl::Seconds(1), fetch());
//     } catch (const concurrent::TimeoutError&) {
//       // fetch() was cancelled at its current co_await, and unwound
//     }
//     auto body = [](aio::Timeout& t) -> aio::Coroutine<void> {
//       co_await step1();
//       t.reschedule(aio::get_running_loop().time() + absl::Seconds(5));
//       co_await step2();
//     };
//     co_await aio::timeout(absl::Seconds(1), body);
//   }
//
// (Name a lambda before passing it: see docs/style.md for g++ 12's bug with
// a capturing lambda temporary in a co_await expression.)
//
// Thread-safety: thread-hostile, as futures/aio/future.h.
//
// Errors: TimeoutError as above; InvalidStateError outside a running task,
// or reschedule() of a Timeout that is not active.

// The core headers first (see the note in future.h).
#include "futures/aio/event_loop.h"  // IWYU pragma: keep

#ifndef CONCURRENT_FUTURES_AIO_TIMEOUTS_H_
#define CONCURRENT_FUTURES_AIO_TIMEOUTS_H_

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"
#include "futures/aio/future.h"
#include "futures/aio/internal/core.h"
#include "futures/aio/internal/watch.h"
#include "futures/aio/task.h"
#include "futures/errors.h"

namespace concurrent::aio {

// The scope of a timeout (Python's asyncio.Timeout). timeout() and
// timeout_at() make one for their body; to keep it (for expired() and when()
// after the scope), make it yourself and `co_await scope.run(aw)`, Python's
// `async with scope: await aw`.
class Timeout {
 public:
  // `when`: a time of the loop's clock, or nullopt for none.
  explicit Timeout(std::optional<absl::Duration> when) noexcept : when_(when) {}
  // A deadline `delay` from now on the running loop (InfiniteDuration: none;
  // Python's asyncio.timeout(delay)). Throws InvalidStateError without a
  // running loop.
  static Timeout after(absl::Duration delay);
  Timeout(const Timeout&) = delete;
  Timeout& operator=(const Timeout&) = delete;
  ~Timeout() { cancel_handles(); }

  // Runs `body` under this scope in the calling task: an awaitable
  // (Coroutine, Future, Task, sleep()) or `fn(Timeout&)` returning one. A
  // scope is entered once (InvalidStateError: "already been entered").
  template <typename A>
  auto run(A body);

  // When the scope expires, in the loop's time(); nullopt if never.
  std::optional<absl::Duration> when() const noexcept { return when_; }
  // Moves the deadline (nullopt: none). Throws InvalidStateError unless the
  // scope is active (entered and neither expiring nor exited).
  void reschedule(std::optional<absl::Duration> when);
  // True once the deadline passed and the scope cancelled its task.
  bool expired() const noexcept {
    return state_ == State::kExpiring || state_ == State::kExpired;
  }

  // Python's __aenter__ (throws InvalidStateError outside a running task, or
  // if entered before) and __aexit__ (throws TimeoutError if this scope's
  // expiry caused `error`, a CancelledError). run() calls them.
  void enter();
  void exit(const std::exception_ptr& error);

 private:
  enum class State { kCreated, kEntered, kExpiring, kExpired, kExited };
  void on_timeout();
  void cancel_handles() noexcept {
    soon_.cancel();
    soon_ = Handle();
    timer_.cancel();
    timer_ = TimerHandle();
  }

  State state_ = State::kCreated;
  std::optional<absl::Duration> when_;
  // A deadline already passed is scheduled with call_soon() (Python does the
  // same: it must run before a task that yields with sleep(0) resumes).
  Handle soon_;
  TimerHandle timer_;
  internal::TaskCore* task_ = nullptr;
  int cancelling_ = 0;
};

namespace internal {

// What a scope awaits: fn(t) for a body function; a Coroutine or other
// one-shot awaitable (moved); a Future or Task by reference (its value is
// copied, as Python shares it), or moved if its value cannot be copied.
template <typename A>
decltype(auto) AwaitableOf(A& a, Timeout& t) {
  if constexpr (std::is_invocable_v<A&, Timeout&>) {
    return a(t);
  } else if constexpr (!std::is_convertible_v<A*, Future<ValueOf<A>>*> ||
                       !(std::is_void_v<ValueOf<A>> ||
                         std::is_copy_constructible_v<ValueOf<A>>)) {
    return std::move(a);
  } else {
    return static_cast<A&>(a);
  }
}

template <typename A>
struct TimeoutBodyOf {
  using type = A;
};
template <typename A>
requires std::is_invocable_v<A&, Timeout&>
struct TimeoutBodyOf<A> {
  using type = std::invoke_result_t<A&, Timeout&>;
};
template <typename A>
using TimeoutValue = ValueOf<typename TimeoutBodyOf<A>::type>;

// `async with scope: await body`.
template <typename T, typename A>
Coroutine<T> RunUnder(Timeout& scope, A body) {
  scope.enter();
  std::exception_ptr error;
  std::optional<Stored<T>> result;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await AwaitableOf(body, scope);
    } else {
      result.emplace(co_await AwaitableOf(body, scope));
    }
  } catch (...) {
    error = std::current_exception();
  }
  scope.exit(error);
  if (error != nullptr) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<T>) co_return std::move(*result);
}

// `when` is a time of the loop's clock, or (if `relative`) a delay from the
// moment the coroutine starts.
template <typename T, typename A>
Coroutine<T> RunWithTimeout(std::optional<absl::Duration> when, bool relative,
                            A body) {
  if (relative && when.has_value()) *when += get_running_loop().time();
  Timeout scope(when);
  if constexpr (std::is_void_v<T>) {
    co_await RunUnder<T>(scope, std::move(body));
  } else {
    co_return co_await RunUnder<T>(scope, std::move(body));
  }
}

inline std::optional<absl::Duration> DelayOrNone(absl::Duration delay) {
  if (delay == absl::InfiniteDuration()) return std::nullopt;
  return delay;
}

// Python's _cancel_and_wait(): cancels `fut` and waits until it is done,
// without awaiting it directly (so this wait stays cancellable itself).
template <typename T>
Coroutine<void> CancelAndWait(Future<T> fut) {
  Future<void> waiter = fut.get_loop().create_future();
  {
    WatchSet watches;
    watches.add(*FutureAccess::state(fut), [waiter](FutureBase&) noexcept {
      if (!waiter.done()) waiter.set_result();
    });
    fut.cancel();
    co_await waiter;
  }
}

template <typename A>
Coroutine<ValueOf<A>> WaitForNow(A awaitable) {
  using T = ValueOf<A>;
  Future<T> fut = AsFuture(std::move(awaitable), nullptr);
  if (!fut.done()) {
    co_await CancelAndWait(fut);
    if (fut.cancelled()) {
      try {
        fut.result();
      } catch (const CancelledError&) {
        throw TimeoutError("wait_for() timed out");
      }
    }
  }
  if constexpr (std::is_void_v<T>) {
    fut.result();
  } else {
    co_return T(CopyValue(fut));
  }
}

}  // namespace internal

template <typename A>
auto Timeout::run(A body) {
  return internal::RunUnder<internal::TimeoutValue<A>>(*this, std::move(body));
}

// timeout(delay, aw) / timeout(delay, fn): see the top of this file. `aw` is
// a Coroutine, Future, Task or sleep(); `fn(Timeout&)` returns one.
template <typename A>
auto timeout(absl::Duration delay, A body)
    -> Coroutine<internal::TimeoutValue<A>> {
  return internal::RunWithTimeout<internal::TimeoutValue<A>>(
      internal::DelayOrNone(delay), /*relative=*/true, std::move(body));
}

// timeout_at(when, ...): as timeout(), with a deadline of the loop's clock
// (nullopt: none).
template <typename A>
auto timeout_at(std::optional<absl::Duration> when, A body)
    -> Coroutine<internal::TimeoutValue<A>> {
  return internal::RunWithTimeout<internal::TimeoutValue<A>>(
      when, /*relative=*/false, std::move(body));
}

// wait_for(aw, timeout): see the top of this file.
template <typename A>
requires internal::ValuedAwaitable<A>
auto wait_for(A awaitable, absl::Duration timeout)
    -> Coroutine<internal::ValueOf<A>> {
  using T = internal::ValueOf<A>;
  if (timeout != absl::InfiniteDuration() && timeout <= absl::ZeroDuration()) {
    return internal::WaitForNow(std::move(awaitable));
  }
  return internal::RunWithTimeout<T>(internal::DelayOrNone(timeout),
                                     /*relative=*/true, std::move(awaitable));
}

}  // namespace concurrent::aio

#endif  // CONCURRENT_FUTURES_AIO_TIMEOUTS_H_
