// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/aio/wait.h
// -----------------------------------------------------------------------------
//
// Waiting on many aio futures or tasks, with the semantics of CPython 3.12's
// `asyncio.wait()` and `asyncio.as_completed()`, and `asyncio.shield()`:
//
//   * `co_await aio::wait(fs, timeout, return_when)` suspends until the first
//     future completes (ReturnWhen::kFirstCompleted), the first one fails
//     (kFirstException), all are done (kAllCompleted, the default), or the
//     timeout passes, and returns `{done, pending}`. It never throws
//     TimeoutError and never cancels anything;
//   * `aio::as_completed(fs, timeout)` returns an object whose `next()`
//     coroutines return the results in completion order (rethrowing a
//     failed future's exception); after the timeout, each remaining next()
//     throws TimeoutError;
//   * `aio::shield(aw)` returns a future that mirrors `aw` but whose
//     cancellation does not cancel `aw` (a task awaiting the shield is
//     cancelled; the shielded work goes on).
//
// `fs` is any range of Future<T> or Task<T> (not coroutines: Python 3.11+
// forbids them too); a future listed twice counts once. `done` and `pending`
// are vectors in the order of `fs`.
//
// Example:
//
//   aio::Coroutine<void> amain() {
//     std::vector<aio::Task<int>> tasks = ...;
//     aio::DoneAndPending<int> r = co_await aio::wait(
//         tasks, absl::Seconds(1), concurrent::ReturnWhen::kFirstCompleted);
//     aio::AsCompleted<int> ac = aio::as_completed(tasks);
//     for (std::size_t i = 0; i < ac.size(); ++i) {
//       int v = co_await ac.next();  // earliest first
//     }
//   }
//
// Thread-safety: thread-hostile, as futures/aio/future.h.
//
// Errors: wait() of no futures, or an invalid ReturnWhen, throws
// std::invalid_argument; as_completed()'s next() throws TimeoutError after the
// timeout, InvalidStateError when called more often than size(); futures of
// different loops: std::invalid_argument.

// The core headers first (see the note in future.h).
#include "futures/aio/event_loop.h"  // IWYU pragma: keep

#ifndef CONCURRENT_FUTURES_AIO_WAIT_H_
#define CONCURRENT_FUTURES_AIO_WAIT_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "futures/aio/future.h"
#include "futures/aio/internal/core.h"
#include "futures/aio/internal/watch.h"
#include "futures/aio/task.h"
#include "futures/errors.h"
#include "futures/wait.h"

namespace concurrent::aio {

using ::concurrent::ReturnWhen;

// What wait() returns (Python's (done, pending) pair of sets).
template <typename T>
struct DoneAndPending {
  std::vector<Future<T>> done;
  std::vector<Future<T>> pending;
};

namespace internal {

// Cancels a TimerHandle when the scope ends (Python's `finally:
// handle.cancel()`).
struct CancelTimerOnExit {
  TimerHandle& handle;
  ~CancelTimerOnExit() { handle.cancel(); }
};

template <typename R>
concept RangeOfFutures = std::ranges::input_range<R> &&
                         std::is_convertible_v < std::ranges::range_value_t<R>
*, Future<typename std::ranges::range_value_t<R>::value_type>* > ;

// The distinct futures of a range, in order; checks they share a loop.
template <typename T, typename Range>
std::vector<Future<T>> Distinct(Range&& fs, const char* who) {
  std::vector<Future<T>> out;
  for (const Future<T>& f : fs) {
    bool seen = false;
    for (const Future<T>& o : out) seen = seen || o == f;
    if (seen) continue;
    if (!out.empty() && &out.front().get_loop() != &f.get_loop()) {
      throw std::invalid_argument(std::string(who) +
                                  ": the futures belong to different loops");
    }
    out.push_back(f);
  }
  return out;
}

template <typename T>
Coroutine<DoneAndPending<T>> WaitImpl(std::vector<Future<T>> fs,
                                      absl::Duration timeout,
                                      ReturnWhen return_when) {
  EventLoop& loop = fs.front().get_loop();
  Future<void> waiter = loop.create_future();
  std::size_t counter = fs.size();
  TimerHandle timeout_handle;
  CancelTimerOnExit cancel_timer{timeout_handle};
  if (timeout != absl::InfiniteDuration()) {
    timeout_handle = loop.call_later(timeout, [waiter] {
      if (!waiter.done()) waiter.set_result();
    });
  }
  {
    WatchSet watches;
    auto on_completion = [&](FutureBase& f) noexcept {
      --counter;
      if (counter == 0 || return_when == ReturnWhen::kFirstCompleted ||
          (return_when == ReturnWhen::kFirstException && !f.cancelled() &&
           f.error() != nullptr)) {
        timeout_handle.cancel();
        if (!waiter.done()) waiter.set_result();
      }
    };
    for (Future<T>& f : fs) watches.add(*FutureAccess::state(f), on_completion);
    co_await waiter;
  }
  DoneAndPending<T> result;
  for (Future<T>& f : fs) {
    (f.done() ? result.done : result.pending).push_back(std::move(f));
  }
  co_return result;
}

}  // namespace internal

// wait(): see the top of this file. A timeout of InfiniteDuration (the
// default) means none.
template <typename Range>
requires internal::RangeOfFutures<Range>
auto wait(Range&& fs, absl::Duration timeout = absl::InfiniteDuration(),
          ReturnWhen return_when = ReturnWhen::kAllCompleted) {
  using T = typename std::ranges::range_value_t<Range>::value_type;
  if (return_when != ReturnWhen::kFirstCompleted &&
      return_when != ReturnWhen::kFirstException &&
      return_when != ReturnWhen::kAllCompleted) {
    throw std::invalid_argument("wait(): invalid return_when value");
  }
  std::vector<Future<T>> distinct =
      internal::Distinct<T>(std::forward<Range>(fs), "wait()");
  if (distinct.empty()) {
    throw std::invalid_argument("wait(): the set of Tasks/Futures is empty");
  }
  return internal::WaitImpl<T>(std::move(distinct), timeout, return_when);
}

// The results of as_completed(), in completion order.
template <typename T>
class AsCompleted {
 public:
  // How many results there are (calls of next() that return or throw).
  std::size_t size() const noexcept { return state_->todo.size(); }

  // The next result to complete (a copy, or the value moved out for a
  // move-only T); rethrows the exception of a failed future, CancelledError
  // for a cancelled one, TimeoutError once the timeout passed.
  Coroutine<T> next() { return Next(state_); }

 private:
  template <typename U, typename Range>
  friend AsCompleted<U> MakeAsCompleted(Range&& fs, absl::Duration timeout);

  struct State {
    std::vector<Future<T>> todo;
    std::vector<bool> finished;
    std::deque<std::optional<std::size_t>> done;  // nullopt: timed out
    std::size_t remaining = 0;
    std::size_t handed_out = 0;
    Future<void> waiter;
    TimerHandle timeout;
    internal::WatchSet watches;
    ~State() { timeout.cancel(); }

    void wake() {
      if (waiter.valid() && !waiter.done()) waiter.set_result();
    }
    void on_completion(std::size_t i) {
      if (remaining == 0) return;  // the timeout was first
      finished[i] = true;
      --remaining;
      done.push_back(i);
      if (remaining == 0) timeout.cancel();
      wake();
    }
    void on_timeout() {
      for (std::size_t i = 0; i < todo.size(); ++i) {
        if (!finished[i]) done.push_back(std::nullopt);
      }
      remaining = 0;
      watches.clear();
      wake();
    }
  };

  static Coroutine<T> Next(std::shared_ptr<State> s) {
    if (s->handed_out >= s->todo.size()) {
      throw InvalidStateError("as_completed(): every result was handed out");
    }
    ++s->handed_out;
    while (s->done.empty()) {
      s->waiter = s->todo.front().get_loop().create_future();
      Future<void> w = s->waiter;
      co_await w;
    }
    const std::optional<std::size_t> i = s->done.front();
    s->done.pop_front();
    if (!i.has_value()) throw TimeoutError("as_completed() timed out");
    if constexpr (std::is_void_v<T>) {
      s->todo[*i].result();
    } else {
      co_return T(internal::CopyValue(s->todo[*i]));
    }
  }

  explicit AsCompleted(std::shared_ptr<State> s) : state_(std::move(s)) {}
  std::shared_ptr<State> state_;
};

template <typename T, typename Range>
AsCompleted<T> MakeAsCompleted(Range&& fs, absl::Duration timeout) {
  using State = typename AsCompleted<T>::State;
  auto s = std::make_shared<State>();
  s->todo = internal::Distinct<T>(std::forward<Range>(fs), "as_completed()");
  s->finished.assign(s->todo.size(), false);
  s->remaining = s->todo.size();
  State* raw = s.get();
  for (std::size_t i = 0; i < s->todo.size(); ++i) {
    s->watches.add(
        *internal::FutureAccess::state(s->todo[i]),
        [raw, i](internal::FutureBase&) noexcept { raw->on_completion(i); });
  }
  if (!s->todo.empty() && timeout != absl::InfiniteDuration()) {
    s->timeout = s->todo.front().get_loop().call_later(
        timeout, [raw] { raw->on_timeout(); });
  }
  return AsCompleted<T>(std::move(s));
}

// as_completed(): see the top of this file. The timeout (InfiniteDuration:
// none) is measured from this call.
template <typename Range>
requires internal::RangeOfFutures<Range>
auto as_completed(Range&& fs,
                  absl::Duration timeout = absl::InfiniteDuration()) {
  using T = typename std::ranges::range_value_t<Range>::value_type;
  return MakeAsCompleted<T>(std::forward<Range>(fs), timeout);
}

// shield(aw): see the top of this file. A Coroutine is wrapped in a task
// first; a future that is already done is returned as it is.
template <typename A>
requires internal::ValuedAwaitable<A> Future<internal::ValueOf<A>> shield(
    A&& awaitable) {
  using T = internal::ValueOf<A>;
  Future<T> inner = internal::AsFuture(std::forward<A>(awaitable), nullptr);
  if (inner.done()) return inner;
  Future<T> outer = inner.get_loop().template create_future<T>();
  const CallbackId inner_cb =
      inner.add_done_callback([outer](const Future<T>& in) mutable {
        if (outer.cancelled()) {
          if (!in.cancelled()) in.exception();  // mark it retrieved
          return;
        }
        if (in.cancelled()) {
          outer.cancel();
        } else if (std::exception_ptr e = in.exception()) {
          outer.set_exception(e);
        } else if constexpr (std::is_void_v<T>) {
          outer.set_result();
        } else {
          outer.set_result(internal::CopyValue(in));
        }
      });
  outer.add_done_callback([inner, inner_cb](const Future<T>&) {
    if (!inner.done()) inner.remove_done_callback(inner_cb);
  });
  return outer;
}

}  // namespace concurrent::aio

#endif  // CONCURRENT_FUTURES_AIO_WAIT_H_
