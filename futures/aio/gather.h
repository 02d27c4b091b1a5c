// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/aio/gather.h
// -----------------------------------------------------------------------------
//
// `aio::gather(...)` runs awaitables concurrently and returns a future of all
// their results, in argument order, with the semantics of CPython 3.12's
// `asyncio.gather`:
//
//   * coroutines are wrapped in tasks at once (futures and tasks are used as
//     they are); the same future given twice is waited for once;
//   * without return_exceptions, the first exception (or CancelledError of a
//     cancelled child) is set on the gather's future at once; the other
//     children are NOT cancelled and go on running;
//   * with `aio::return_exceptions` first, every child's outcome is collected:
//     a value, or the exception (a cancelled child: its CancelledError);
//   * cancelling the gather's future (or the task awaiting it) cancels every
//     child that is not done; the gather then fails with CancelledError (even
//     with return_exceptions); if all children were already done, cancel()
//     returns false (bpo-26923).
//
// Two forms: variadic, for awaitables of any types (`Future<std::tuple<...>>`),
// and a range of awaitables of one type (`Future<std::vector<...>>`). A void
// result is std::monostate. Results are copied out of the children (moved,
// for a move-only type).
//
// Example:
//
//   aio::Coroutine<void> amain() {
//     std::tuple<int, std::string> r =
//         co_await aio::gather(fetch_int(), fetch_string());
//     std::vector<aio::Outcome<int>> all =
//         co_await aio::gather(aio::return_exceptions, tasks);
//   }
//
// Thread-safety: thread-hostile, as futures/aio/future.h.
//
// Errors: std::invalid_argument if the children belong to different loops;
// InvalidStateError without a running loop (for coroutines, or no
// arguments). The children's exceptions are delivered as described above.

// The core headers first (see the note in future.h).
#include "futures/aio/event_loop.h"  // IWYU pragma: keep

#ifndef CONCURRENT_FUTURES_AIO_GATHER_H_
#define CONCURRENT_FUTURES_AIO_GATHER_H_

#include <cstddef>
#include <exception>
#include <ranges>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "futures/aio/future.h"
#include "futures/aio/internal/core.h"
#include "futures/aio/internal/watch.h"
#include "futures/aio/task.h"

namespace concurrent::aio {

// The tag that asks gather() for every outcome (Python's
// return_exceptions=True).
struct ReturnExceptions {
  explicit ReturnExceptions() = default;
};
inline constexpr ReturnExceptions return_exceptions{};

// One child's outcome with return_exceptions: its value, or its exception.
template <typename T>
using Outcome = std::variant<internal::Stored<T>, std::exception_ptr>;

namespace internal {

template <typename T>
Outcome<T> OutcomeOf(const Future<T>& f) {
  FutureBase& s = *FutureAccess::state(f);
  s.mark_retrieved();
  if (s.cancelled() || s.error() != nullptr) return s.error();
  return Outcome<T>(std::in_place_index<0>, CopyValue(f));
}

[[noreturn]] inline void ThrowMixedLoops() {
  throw std::invalid_argument(
      "gather(): the futures and tasks belong to different loops");
}

// The gathering future: Python's _GatheringFuture plus gather()'s
// _done_callback. `Children` is a std::tuple or std::vector of Future<T>.
template <typename R, typename Children, bool kReturnExceptions>
class GatherState final : public FutureState<R> {
 public:
  GatherState(EventLoop* loop, Children children)
      : FutureState<R>(loop), children_(std::move(children)) {}

  // Registers the callbacks (after the handle to this state exists).
  void start() {
    for_each_child([this](FutureBase& child) {
      for (FutureBase* u : unique_) {
        if (u == &child) return;
      }
      if (&child.loop() != &this->loop()) ThrowMixedLoops();
      unique_.push_back(&child);
    });
    for (FutureBase* u : unique_) {
      watches_.add(*u, [this](FutureBase& done) noexcept { child_done(done); });
    }
  }

  bool cancel(std::string_view msg) override {
    if (this->done()) return false;
    bool ret = false;
    for (FutureBase* u : unique_) {
      if (u->cancel(msg)) ret = true;
    }
    // Propagate the cancellation even with return_exceptions (bpo-32684).
    if (ret) cancel_requested_ = true;
    return ret;
  }

 private:
  ~GatherState() override = default;

  template <typename F>
  void for_each_child(F&& fn) {
    if constexpr (requires { std::tuple_size<Children>::value; }) {
      std::apply([&](auto&... f) { (fn(*FutureAccess::state(f)), ...); },
                 children_);
    } else {
      for (auto& f : children_) fn(*FutureAccess::state(f));
    }
  }

  void child_done(FutureBase& fut) noexcept {
    ++nfinished_;
    if (this->done()) {
      if (!fut.cancelled()) fut.mark_retrieved();
      return;
    }
    if constexpr (!kReturnExceptions) {
      if (fut.cancelled() || fut.error() != nullptr) {
        fut.mark_retrieved();
        this->store_exception(fut.error());
        return;
      }
    }
    if (nfinished_ < unique_.size()) return;
    if (cancel_requested_) {
      this->store_exception(fut.cancelled()
                                ? fut.error()
                                : MakeCancelledError("", this->short_name()));
      return;
    }
    try {
      this->store_value(collect());
    } catch (...) {
      this->store_exception(std::current_exception());
    }
  }

  R collect() {
    if constexpr (requires { std::tuple_size<Children>::value; }) {
      return std::apply([](auto&... f) { return R(element(f)...); }, children_);
    } else {
      R out;
      out.reserve(children_.size());
      for (auto& f : children_) out.push_back(element(f));
      return out;
    }
  }

  template <typename T>
  static auto element(const Future<T>& f) {
    if constexpr (kReturnExceptions) {
      return OutcomeOf(f);
    } else {
      return CopyValue(f);
    }
  }

  Children children_;
  std::vector<FutureBase*> unique_;
  std::size_t nfinished_ = 0;
  bool cancel_requested_ = false;
  WatchSet watches_;
};

template <bool kReturnExceptions, typename... A>
auto GatherVariadic(A&&... aws) {
  using R =
      std::conditional_t<kReturnExceptions, std::tuple<Outcome<ValueOf<A>>...>,
                         std::tuple<Stored<ValueOf<A>>...>>;
  using Children = std::tuple<Future<ValueOf<A>>...>;
  if constexpr (sizeof...(A) == 0) {
    Future<R> done = get_running_loop().create_future<R>();
    done.set_result(R());
    return done;
  } else {
    Children children(AsFuture(std::forward<A>(aws), nullptr)...);
    EventLoop& loop = std::get<0>(children).get_loop();
    auto* state = new GatherState<R, Children, kReturnExceptions>(
        &loop, std::move(children));
    Future<R> outer = FutureAccess::adopt<R>(state);
    state->start();
    return outer;
  }
}

template <bool kReturnExceptions, typename Range>
auto GatherRange(Range&& range) {
  using A = std::ranges::range_value_t<Range>;
  using T = ValueOf<A>;
  using R = std::conditional_t<kReturnExceptions, std::vector<Outcome<T>>,
                               std::vector<Stored<T>>>;
  using Children = std::vector<Future<T>>;
  Children children;
  for (auto&& a : range) {
    // Coroutines are moved out of the range (they run once).
    children.push_back(AsFuture(std::move(a), nullptr));
  }
  if (children.empty()) {
    Future<R> done = get_running_loop().create_future<R>();
    done.set_result(R());
    return done;
  }
  EventLoop& loop = children.front().get_loop();
  auto* state = new GatherState<R, Children, kReturnExceptions>(
      &loop, std::move(children));
  Future<R> outer = FutureAccess::adopt<R>(state);
  state->start();
  return outer;
}

template <typename R>
concept RangeOfAwaitables = std::ranges::input_range<R> &&
    ValuedAwaitable<std::ranges::range_value_t<R>>;

}  // namespace internal

// gather(aws...): see the top of this file.
template <typename... A>
requires(internal::ValuedAwaitable<A>&&...) auto gather(A&&... aws) {
  return internal::GatherVariadic<false>(std::forward<A>(aws)...);
}
template <typename... A>
requires(internal::ValuedAwaitable<A>&&...) auto gather(ReturnExceptions,
                                                        A&&... aws) {
  return internal::GatherVariadic<true>(std::forward<A>(aws)...);
}
// gather(range): every awaitable of a range (a Coroutine element is moved
// out of it).
template <typename Range>
requires internal::RangeOfAwaitables<Range>
auto gather(Range&& range) {
  return internal::GatherRange<false>(std::forward<Range>(range));
}
template <typename Range>
requires internal::RangeOfAwaitables<Range>
auto gather(ReturnExceptions, Range&& range) {
  return internal::GatherRange<true>(std::forward<Range>(range));
}

}  // namespace concurrent::aio

#endif  // CONCURRENT_FUTURES_AIO_GATHER_H_
