// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/aio/wrap_future.h
// -----------------------------------------------------------------------------
//
// The bridge between the two futures (Python's asyncio.wrap_future and
// loop.run_in_executor): a blocking `concurrent::Future<T>`, completed by a
// thread or process pool, becomes an `aio::Future<T>` a coroutine awaits
// without blocking the loop.
//
//   * `wrap_future(cf)` returns an aio::Future<T> on the running loop that
//     completes like `cf`: when `cf` is done, its worker thread posts the
//     completion with the loop's call_soon_threadsafe(). Cancelling the aio
//     future cancels `cf` (which succeeds only if `cf` has not started).
//   * `loop.run_in_executor(executor, fn, args...)` is
//     `wrap_future(executor.submit(fn, args...))`.
//   * Inside an aio coroutine, `co_await cf` awaits any concurrent::Future<T>
//     directly (through wrap_future(); it does not suspend if `cf` is done).
//
// Example:
//
//   concurrent::ThreadPoolExecutor pool({.max_workers = 2});
//   aio::Coroutine<int> amain() {
//     aio::Future<int> f = aio::get_running_loop().run_in_executor(
//         pool, [] { return slow_sum(); });
//     int a = co_await f;                                   // loop keeps
//     running int b = co_await pool.submit([] { return 6 * 7; });  // the same,
//     directly co_return a + b;
//   }
//
// Thread-safety: call wrap_future() and run_in_executor() on the loop's
// thread; the concurrent future may complete in any thread. If the loop is
// closed before `cf` completes, the completion is dropped (the worker's
// post fails quietly; the aio future was already abandoned with the loop).
//
// Values: the aio future gets a copy of `cf`'s value (a move-only value is
// moved out of `cf`, as std::move(cf).result() would). co_await of an lvalue
// `cf` returns a copy; of an rvalue, the moved value.
//
// Errors: what `cf` failed with, rethrown by the aio future (the same
// exception object); CancelledError if either side was cancelled.

// The core headers include each other through event_loop.h, which includes
// this one at its end: included first, it must let event_loop.h define the
// loop before its own guard.
#include "futures/aio/event_loop.h"  // IWYU pragma: keep

#ifndef CONCURRENT_FUTURES_AIO_WRAP_FUTURE_H_
#define CONCURRENT_FUTURES_AIO_WRAP_FUTURE_H_

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "futures/aio/future.h"
#include "futures/aio/internal/callbacks.h"
#include "futures/aio/internal/inbox.h"
#include "futures/aio/task.h"
#include "futures/errors.h"
#include "futures/future.h"

namespace concurrent::aio {

namespace internal {

// Completes `dest` (on its loop) as `source` completed (Python's
// _copy_future_state). Does nothing if `dest` was cancelled meanwhile.
template <typename T>
void CopyConcurrentState(const ::concurrent::Future<T>& source,
                         Future<T> dest) {
  if (dest.done()) return;
  if (source.cancelled()) {
    dest.cancel();
    return;
  }
  if (std::exception_ptr e = source.exception()) {
    dest.set_exception(std::move(e));
  } else if constexpr (std::is_void_v<T>) {
    dest.set_result();
  } else if constexpr (std::is_copy_constructible_v<T>) {
    dest.set_result(source.result());
  } else {
    dest.set_result(::concurrent::Future<T>(source).result());  // moves out
  }
}

}  // namespace internal

// wrap_future: see the top of this file. `loop` defaults to the running loop
// (InvalidStateError if there is none). Throws InvalidStateError if `source`
// is an invalid handle or the loop is closed.
template <typename T>
Future<T> wrap_future(::concurrent::Future<T> source,
                      EventLoop* loop = nullptr) {
  EventLoop& l = loop != nullptr ? *loop : get_running_loop();
  if (!source.valid()) internal::ThrowInvalidHandle();
  Future<T> dest = l.create_future<T>();
  // Cancelling the aio future cancels the concurrent one (in a done
  // callback, on the loop, as Python's _call_check_cancel).
  dest.add_done_callback([source](const Future<T>& d) mutable {
    if (d.cancelled()) source.cancel();
  });
  // The completion crosses threads through the loop's inbox, which outlives
  // the loop if need be: a post to a closed loop throws and is dropped.
  source.add_done_callback([dest, inbox = l.inbox(), target = &l](
                               const ::concurrent::Future<T>& done) mutable {
    auto complete = [dest = std::move(dest), done]() {
      internal::CopyConcurrentState(done, dest);
    };
    auto* node = new internal::FnCallback<decltype(complete)>(
        target, std::move(complete));
    try {
      inbox->post(node);
    } catch (const InvalidStateError&) {
      // The loop is closed: nobody can await `dest` any more.
    }
    inbox.reset();
  });
  return dest;
}

// An aio::Future is returned as is (Python's wrap_future does the same).
template <typename T>
Future<T> wrap_future(Future<T> future) noexcept {
  return future;
}

template <typename E, typename F, typename... Args>
auto EventLoop::run_in_executor(E& executor, F&& fn, Args&&... args) {
  check_open();
  auto source =
      executor.submit(std::forward<F>(fn), std::forward<Args>(args)...);
  return wrap_future(std::move(source), this);
}

namespace internal {

// co_await of a concurrent::Future<T> in an aio coroutine.
template <typename T>
class ConcurrentFutureAwaiter {
 public:
  using aio_awaitable_tag = void;

  template <typename U>
  explicit ConcurrentFutureAwaiter(U&& source)
      : source_(std::forward<U>(source)),
        move_(std::is_rvalue_reference_v<U&&>) {}

  bool await_ready() const { return source_.done(); }
  template <typename P>
  void await_suspend(std::coroutine_handle<P> h) {
    wrapped_ = wrap_future(source_, &h.promise().task()->loop());
    awaiter_.emplace(FutureAccess::state(wrapped_));
    awaiter_->await_suspend(h);
  }
  T await_resume() {
    if (awaiter_.has_value()) return awaiter_->await_resume();
    if constexpr (std::is_void_v<T>) {
      source_.result();
    } else if constexpr (std::is_copy_constructible_v<T>) {
      if (!move_) return T(source_.result());
      return std::move(source_).result();
    } else {
      return std::move(source_).result();
    }
  }

 private:
  ::concurrent::Future<T> source_;
  bool move_;
  Future<T> wrapped_;
  std::optional<FutureAwaiter<T, true>> awaiter_;
};

}  // namespace internal
}  // namespace concurrent::aio

#endif  // CONCURRENT_FUTURES_AIO_WRAP_FUTURE_H_
