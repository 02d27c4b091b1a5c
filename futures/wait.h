// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/wait.h
// -----------------------------------------------------------------------------
//
// Waiting on many futures, as Python's `concurrent.futures.wait()` and
// `as_completed()` do, and combining them into one future (`when_all()`,
// `when_any()`).
//
//   * `wait(futures, timeout, return_when)` blocks until the first future
//     completes (kFirstCompleted), the first one fails (kFirstException), or
//     all are done (kAllCompleted), or the timeout passes, and returns the
//     futures split into `done` and `not_done`. It never throws TimeoutError.
//   * `as_completed(futures, timeout)` is an input range that yields each
//     future as it finishes (those already done first) and throws TimeoutError
//     when `timeout`, measured from the call, passes with futures outstanding.
//   * `when_all(futures)` / `when_any(futures)` return a future that completes
//     when all / the first of them are done.
//
// `futures` is any range of Future<T> or AnyFuture; mix types by converting to
// AnyFuture (`wait({AnyFuture(a), AnyFuture(b)})`). A future listed twice
// appears once in the results. A cancelled future counts as done at once
// (unlike CPython, where a future cancelled before a worker picked it up could
// leave wait()/as_completed() blocked: gh-92001, gh-87893).
//
// Example:
//
//   std::vector<concurrent::Future<int>> fs = ...;
//   for (const concurrent::Future<int>& f :
//        concurrent::as_completed(fs, absl::Seconds(10))) {
//     std::printf("%d\n", f.result());
//   }
//   auto [done, not_done] = concurrent::wait(
//       fs, absl::Seconds(1), concurrent::ReturnWhen::kFirstCompleted);
//
// Thread-safety: thread-safe: any number of threads may wait on the same
// futures at once, while other threads complete or cancel them. An
// `as_completed` range is thread-compatible (iterate it from one thread).
//
// wait() and as_completed() only wait: they never run a pending task inline,
// not even inside a worker of the thread pool that owns it (only an untimed
// result()/exception() on one future does that: see
// executors/thread_pool_executor.h). Inside a task run with hold_gil(), the
// GIL is released while they sleep. Timeouts run on the monotonic clock.
//
// Errors: `as_completed` throws TimeoutError ("2 (of 4) futures unfinished",
// CPython's words); `when_any()` of no futures throws std::invalid_argument;
// an invalid future handle throws InvalidStateError. Without a timeout, a
// wait whose remaining futures are all tasks that the calling thread is
// itself running (a task waiting on its own future) would never end: wait()
// and as_completed() then throw DeadlockError. None of these rethrow the
// futures' own exceptions: read them from the futures.

#ifndef CONCURRENT_FUTURES_WAIT_H_
#define CONCURRENT_FUTURES_WAIT_H_

#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "futures/future.h"
#include "futures/promise.h"

namespace concurrent {

// When wait() returns (Python's FIRST_COMPLETED, FIRST_EXCEPTION,
// ALL_COMPLETED).
enum class ReturnWhen {
  // As soon as any future is done (finished or cancelled).
  kFirstCompleted,
  // As soon as any future finishes with an exception; if none does, when all
  // are done. (A cancelled future is done, not failed.)
  kFirstException,
  // When all futures are done.
  kAllCompleted,
};

// wait()'s result: the distinct input futures, in input order, split by
// whether they were done when wait() returned.
template <typename F>
struct DoneAndNotDone {
  std::vector<F> done;
  std::vector<F> not_done;
};

namespace internal {

template <typename F>
concept FutureHandle = std::same_as<F, AnyFuture> || IsFuture<F>::value;

// The distinct futures of a range, in order of first appearance.
template <typename F>
struct Distinct {
  std::vector<F> futures;
  std::vector<StateBase*> states;
};

void Deduplicate(std::vector<StateBase*>& states, std::vector<bool>& keep);

template <typename F, typename R>
Distinct<F> MakeDistinct(const R& range) {
  Distinct<F> d;
  for (const auto& f : range) {
    StateBase* s = FutureAccess::state(f);
    if (s == nullptr) ThrowInvalidHandle();
    d.futures.push_back(f);
    d.states.push_back(s);
  }
  std::vector<bool> keep;
  Deduplicate(d.states, keep);
  if (d.states.size() != d.futures.size()) {
    std::vector<F> kept;
    kept.reserve(d.states.size());
    for (std::size_t i = 0; i < keep.size(); ++i) {
      if (keep[i]) kept.push_back(std::move(d.futures[i]));
    }
    d.futures = std::move(kept);
  }
  return d;
}

// Blocks per `when` until `deadline`.
void WaitStates(const std::vector<StateBase*>& states, const Deadline& deadline,
                ReturnWhen when);

// The engine of as_completed(): listeners on every pending state push their
// index into a queue; next() pops, in O(1) per completion.
class CompletionQueue {
 public:
  CompletionQueue(std::vector<StateBase*> states, const Deadline& deadline);
  ~CompletionQueue();
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  // The index of the next done state; -1 when all were yielded. Throws
  // TimeoutError if the deadline passes first.
  std::ptrdiff_t next();

  struct Hub;  // shared with the listeners (wait.cc)

 private:
  void unregister_all() noexcept;

  std::shared_ptr<Hub> hub_;
  std::vector<StateBase*> states_;
  std::vector<Listener*> registered_;  // null where not registered
  Deadline deadline_;
  std::size_t yielded_ = 0;
};

}  // namespace internal

// Waits as described at the top of this file. `timeout` is measured from the
// call; a zero or negative timeout does not block. Throws InvalidStateError
// for an invalid handle, DeadlockError as described at the top of this file.
template <std::ranges::input_range R>
requires internal::FutureHandle<std::ranges::range_value_t<R>>
    DoneAndNotDone<std::ranges::range_value_t<R>> wait(
        const R& futures, absl::Duration timeout = absl::InfiniteDuration(),
        ReturnWhen return_when = ReturnWhen::kAllCompleted) {
  using F = std::ranges::range_value_t<R>;
  const internal::Deadline deadline = internal::Deadline::After(timeout);
  internal::Distinct<F> d = internal::MakeDistinct<F>(futures);
  internal::WaitStates(d.states, deadline, return_when);
  DoneAndNotDone<F> result;
  for (std::size_t i = 0; i < d.futures.size(); ++i) {
    (d.states[i]->done() ? result.done : result.not_done)
        .push_back(std::move(d.futures[i]));
  }
  return result;
}

// wait() over futures of different types: `wait({a, b}, ...)`.
inline DoneAndNotDone<AnyFuture> wait(
    std::initializer_list<AnyFuture> futures,
    absl::Duration timeout = absl::InfiniteDuration(),
    ReturnWhen return_when = ReturnWhen::kAllCompleted) {
  return wait(std::vector<AnyFuture>(futures), timeout, return_when);
}

// The range returned by as_completed(). Move-only; iterate it once.
template <typename F>
class AsCompleted {
 public:
  class iterator {
   public:
    using value_type = F;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::input_iterator_tag;

    iterator() = default;
    const F& operator*() const { return owner_->current(); }
    const F* operator->() const { return &owner_->current(); }
    // Blocks for the next completion; throws TimeoutError.
    iterator& operator++() {
      owner_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) {
      return it.at_end();
    }

   private:
    friend class AsCompleted;
    explicit iterator(AsCompleted* owner) : owner_(owner) {}
    bool at_end() const { return owner_ == nullptr || owner_->at_end(); }
    AsCompleted* owner_ = nullptr;
  };

  // Blocks for the first completion (throws TimeoutError). Call once.
  iterator begin() {
    advance();
    return iterator(this);
  }
  std::default_sentinel_t end() const { return {}; }

 private:
  template <std::ranges::input_range R>
  requires internal::FutureHandle<std::ranges::range_value_t<R>>
  friend AsCompleted<std::ranges::range_value_t<R>> as_completed(
      const R& futures, absl::Duration timeout);

  AsCompleted(std::vector<F> futures,
              std::unique_ptr<internal::CompletionQueue> queue)
      : futures_(std::move(futures)), queue_(std::move(queue)) {}

  const F& current() const {
    return futures_[static_cast<std::size_t>(index_)];
  }
  bool at_end() const { return index_ < 0; }
  void advance() { index_ = queue_->next(); }

  std::vector<F> futures_;
  std::unique_ptr<internal::CompletionQueue> queue_;
  std::ptrdiff_t index_ = -1;
};

// Yields the distinct futures of `futures` as they complete (see the top of
// this file). `timeout` is measured from this call.
template <std::ranges::input_range R>
requires internal::FutureHandle<std::ranges::range_value_t<R>>
    AsCompleted<std::ranges::range_value_t<R>> as_completed(
        const R& futures, absl::Duration timeout = absl::InfiniteDuration()) {
  using F = std::ranges::range_value_t<R>;
  const internal::Deadline deadline = internal::Deadline::After(timeout);
  internal::Distinct<F> d = internal::MakeDistinct<F>(futures);
  auto queue = std::make_unique<internal::CompletionQueue>(std::move(d.states),
                                                           deadline);
  return AsCompleted<F>(std::move(d.futures), std::move(queue));
}

inline AsCompleted<AnyFuture> as_completed(
    std::initializer_list<AnyFuture> futures,
    absl::Duration timeout = absl::InfiniteDuration()) {
  return as_completed(std::vector<AnyFuture>(futures), timeout);
}

// A future that completes when every future of `futures` is done, with those
// futures (each holding its own value or exception). It does not fail because
// an input failed: inspect the futures. (If registering on the inputs runs out
// of memory midway, it throws std::bad_alloc.) Thread-safe.
template <typename T>
Future<std::vector<Future<T>>> when_all(std::vector<Future<T>> futures) {
  struct Join {
    explicit Join(std::vector<Future<T>> fs)
        : futures(std::move(fs)), remaining(futures.size()) {}
    std::vector<Future<T>> futures;
    std::atomic<std::size_t> remaining;
    Promise<std::vector<Future<T>>> promise;
  };
  for (const Future<T>& f : futures) {
    if (!f.valid()) internal::ThrowInvalidHandle();
  }
  // The last callback moves join->futures out, possibly while this thread is
  // still registering: register on the caller's copy.
  auto join = std::make_shared<Join>(futures);
  Future<std::vector<Future<T>>> result = join->promise.get_future();
  if (futures.empty()) {
    join->promise.set_result();
    return result;
  }
  for (const Future<T>& f : futures) {
    f.add_done_callback([join](const Future<T>&) {
      if (join->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        try {
          join->promise.set_result(std::move(join->futures));
        } catch (const InvalidStateError&) {
          // The result future was cancelled.
        }
      }
    });
  }
  return result;
}

// when_all() over futures of different types: a future of the tuple of the
// (done) futures.
template <typename... T>
requires(sizeof...(T) >
         0) Future<std::tuple<Future<T>...>> when_all(Future<T>... futures) {
  struct Join {
    explicit Join(Future<T>... fs) : futures(std::move(fs)...) {}
    std::tuple<Future<T>...> futures;
    std::atomic<std::size_t> remaining{sizeof...(T)};
    Promise<std::tuple<Future<T>...>> promise;
  };
  if (!(futures.valid() && ...)) internal::ThrowInvalidHandle();
  auto join = std::make_shared<Join>(std::move(futures)...);
  Future<std::tuple<Future<T>...>> result = join->promise.get_future();
  auto on_done = [join](const AnyFuture&) {
    if (join->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      try {
        join->promise.set_result(std::move(join->futures));
      } catch (const InvalidStateError&) {
        // The result future was cancelled.
      }
    }
  };
  std::apply(
      [&](const auto&... f) { (AnyFuture(f).add_done_callback(on_done), ...); },
      join->futures);
  return result;
}

// when_any()'s value: the first future to be done, and its index in the
// input.
template <typename T>
struct WhenAnyResult {
  std::size_t index;
  Future<T> future;
};

// A future that completes with the first of `futures` to be done (finished or
// cancelled). Throws std::invalid_argument if `futures` is empty.
template <typename T>
Future<WhenAnyResult<T>> when_any(std::vector<Future<T>> futures) {
  if (futures.empty()) {
    throw std::invalid_argument("when_any() needs at least one future");
  }
  for (const Future<T>& f : futures) {
    if (!f.valid()) internal::ThrowInvalidHandle();
  }
  struct Race {
    std::atomic<bool> decided{false};
    Promise<WhenAnyResult<T>> promise;
  };
  auto race = std::make_shared<Race>();
  Future<WhenAnyResult<T>> result = race->promise.get_future();
  for (std::size_t i = 0; i < futures.size(); ++i) {
    futures[i].add_done_callback([race, i](const Future<T>& done) {
      if (!race->decided.exchange(true, std::memory_order_acq_rel)) {
        try {
          race->promise.set_result(WhenAnyResult<T>{i, done});
        } catch (const InvalidStateError&) {
          // The result future was cancelled.
        }
      }
    });
  }
  return result;
}

}  // namespace concurrent

#endif  // CONCURRENT_FUTURES_WAIT_H_
