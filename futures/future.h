// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/future.h
// -----------------------------------------------------------------------------
//
// `concurrent::Future<T>` is a handle on a deferred computation, with the
// semantics of Python's `concurrent.futures.Future`. Futures are created by the
// framework (an executor's `submit()` returns one); client code queries them
// (`done()`, `running()`, `cancelled()`), waits on them (`result(timeout)`,
// `exception(timeout)`), cancels them (`cancel()`) or asks to be called back
// (`add_done_callback()`). Beyond Python, `then()` chains a continuation.
//
// A Future is a cheap, copyable handle, like a Python object reference: copies
// see the same state. A default-constructed or moved-from handle is invalid:
// `valid()` says so and every other method throws `InvalidStateError`.
//
// `AnyFuture` is a type-erased handle on the same state (everything but the
// value), so that one `wait()` call can take futures of different types.
//
// Example:
//
//   concurrent::Future<int> f = pool.submit([] { return 6 * 7; });
//   f.add_done_callback([](const concurrent::Future<int>& done) {
//     std::printf("callback sees %d\n", done.result());
//   });
//   try {
//     int v = f.result(absl::Seconds(5));   // blocks up to 5 s
//   } catch (const concurrent::TimeoutError&) {
//     f.cancel();                           // false if already running
//   }
//   concurrent::Future<std::string> s =
//       f.then([](int v) { return std::to_string(v); });
//
// Thread-safety: thread-safe. Any method of any handle may be called from any
// thread at any time, concurrently with the completion of the future. (A
// single handle object is like an int: assigning to it while another thread
// reads it is a race; copy the handle instead.)
//
// Memory ordering: completing a future (the producer's set_result() or
// set_exception(), or cancel()) synchronizes with every call that observes it
// done. Everything the task did before it completed its future happens before
//   * a done(), running(), cancelled() that returns the new status,
//   * a result() or exception() that returns (or throws the task's
//     exception), and a wait()/as_completed() that reports the future done,
//   * the done callbacks and then() continuations of the future (which run
//     in the completing thread, or in the thread that adds them to a done
//     future, or on the executor given to then()).
// Everything a thread did before add_done_callback() or then() happens before
// the callback or continuation runs.
// What a callback or continuation did happens before a move of the value out
// (`std::move(f).result()` waits for the callbacks), not before result().
//
// Errors (all derive from `concurrent::Error`, see futures/errors.h):
//   * `result()` rethrows the task's own exception object;
//   * `CancelledError` from `result()`/`exception()` of a cancelled future;
//   * `TimeoutError` when a timeout passes before the future is done;
//   * `InvalidStateError` for an invalid handle, or a result moved out;
//   * `DeadlockError` from a wait without a timeout on the future of the task
//     that the calling thread is itself running (it would never end).
//
// Timeouts are `absl::Duration`s measured on the monotonic clock; a wait that
// is about to sleep tells the thread's blocking observer, through which a
// thread pool may run the awaited task inline (executors/) and hold_gil()
// releases the GIL (gil/).
//
// Callbacks run exactly once, in the thread that completes (or cancels) the
// future, in the order they were added, outside any lock of the future: they
// may call any method of the future, including `add_done_callback()`. A
// callback added to a done future runs at once in the calling thread. A
// callback that throws is reported to the callback exception handler (by
// default one line on stderr) and the remaining callbacks still run.

#ifndef CONCURRENT_FUTURES_FUTURE_H_
#define CONCURRENT_FUTURES_FUTURE_H_

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"
#include "futures/errors.h"
#include "futures/internal/shared_state.h"

namespace concurrent {

template <typename T>
class Future;
template <typename T>
class Promise;

// The handler that receives exceptions thrown by done callbacks: the
// exception, and how the future is named in messages ("future@0x...").
using CallbackExceptionHandler = internal::CallbackExceptionHandlerFn;

// Installs `handler` for every future of the process and returns the previous
// one; nullptr restores the default, which prints one line on stderr.
// Thread-safe; the handler may be called from any thread, concurrently.
inline CallbackExceptionHandler set_callback_exception_handler(
    CallbackExceptionHandler handler) {
  return internal::ExchangeCallbackExceptionHandler(handler);
}

namespace internal {

template <typename T>
struct IsFuture : std::false_type {};
template <typename T>
struct IsFuture<Future<T>> : std::true_type {};

// Future<Future<U>> is flattened to Future<U> by then().
template <typename R>
struct Unwrap {
  using type = R;
};
template <typename U>
struct Unwrap<Future<U>> {
  using type = U;
};

// How a continuation takes its input: the done future itself, the value by
// const reference, the value moved out (for callables that want T&&), or
// nothing (for Future<void>).
enum class ContinuationArg { kFuture, kConstRef, kMove, kNone };

template <typename T, typename F>
constexpr ContinuationArg ContinuationArgOf() {
  if constexpr (std::is_void_v<T>) {
    if constexpr (std::is_invocable_v<F&>) {
      return ContinuationArg::kNone;
    } else {
      static_assert(std::is_invocable_v<F&, const Future<void>&>,
                    "then(fn) on Future<void>: fn must be callable as fn() "
                    "or fn(const Future<void>&)");
      return ContinuationArg::kFuture;
    }
  } else if constexpr (std::is_invocable_v<F&, const T&>) {
    return ContinuationArg::kConstRef;
  } else if constexpr (std::is_invocable_v<F&, T&&>) {
    return ContinuationArg::kMove;
  } else {
    static_assert(std::is_invocable_v<F&, const Future<T>&>,
                  "then(fn) on Future<T>: fn must be callable as fn(const T&), "
                  "fn(T&&) or fn(const Future<T>&)");
    return ContinuationArg::kFuture;
  }
}

template <typename T, typename F>
auto ContinuationResultHelper() {
  constexpr ContinuationArg arg = ContinuationArgOf<T, F>();
  if constexpr (arg == ContinuationArg::kNone) {
    return std::type_identity<std::invoke_result_t<F&>>{};
  } else if constexpr (arg == ContinuationArg::kConstRef) {
    return std::type_identity<std::invoke_result_t<F&, const T&>>{};
  } else if constexpr (arg == ContinuationArg::kMove) {
    return std::type_identity<std::invoke_result_t<F&, T&&>>{};
  } else {
    return std::type_identity<std::invoke_result_t<F&, const Future<T>&>>{};
  }
}

template <typename T, typename F>
using ContinuationResult = std::remove_cvref_t<
    typename decltype(ContinuationResultHelper<T, F>())::type>;

// Anything with `submit(callable)`, such as concurrent::Executor.
template <typename E>
concept SubmitsTasks = requires(E& e) {
  e.submit([] {});
};

// Runs a done callback, reporting what it throws.
template <typename Fn, typename Arg>
void InvokeCallback(Fn& fn, const Arg& arg, const StateBase& state) noexcept {
  try {
    std::invoke(fn, arg);
  } catch (...) {
    report_callback_exception(std::current_exception(), state);
  }
}

// Runs the done callback `fn` of the done `state` with a handle of type H
// (Future<T> or AnyFuture) that borrows the caller's reference to `state`:
// the caller holds one throughout (the completing thread, or the thread that
// adds a callback to a done future through its own handle).
template <typename H, typename Fn>
void RunCallback(Fn& fn, StateBase& state) noexcept;

// A done callback too large for the first-listener slot, or added after
// another listener took it.
template <typename H, typename Fn>
class CallbackListener final : public Listener {
 public:
  explicit CallbackListener(Fn&& fn) : fn_(std::move(fn)) {}
  void on_done(StateBase& state) noexcept override {
    RunCallback<H>(fn_, state);
  }

 private:
  Fn fn_;
};

// A done callback stored in the first-listener slot itself.
template <typename H, typename Fn>
struct ListenerSlotCallback {
  static Fn& fn(void* slot) noexcept {
    return *std::launder(static_cast<Fn*>(slot));
  }
  static void run(void* slot, StateBase& state) noexcept {
    RunCallback<H>(fn(slot), state);
    fn(slot).~Fn();
  }
  static void drop(void* slot) noexcept { fn(slot).~Fn(); }
  static constexpr ListenerSlotOps kOps{&run, &drop};
};

// add_done_callback() of a handle `self` of type H on `state`: registers
// `fn` (in the first-listener slot if it fits and is free: no allocation),
// or runs it at once if the future is done.
template <typename H, typename Fn>
void AddDoneCallback(const H& self, StateBase& state, Fn& fn) {
  if (!state.done()) {
    if constexpr (kFitsListenerSlot<Fn>) {
      switch (state.add_to_slot(fn, ListenerSlotCallback<H, Fn>::kOps)) {
        case ListenerSlotResult::kAdded:
          return;
        case ListenerSlotResult::kDone:
          InvokeCallback(fn, self, state);
          return;
        case ListenerSlotResult::kTaken:
          break;
      }
    }
    // Runs it at once if the future is done meanwhile.
    state.add_listener(new CallbackListener<H, Fn>(std::move(fn)));
    return;
  }
  InvokeCallback(fn, self, state);
}

}  // namespace internal

// Future<T>: see the top of this file. T may be void, a move-only type or any
// value type (not a reference).
template <typename T>
class Future {
  static_assert(!std::is_reference_v<T>, "Future<T&> is not supported");

 public:
  using value_type = T;

  // An invalid handle (valid() is false). Copies share the state; a
  // moved-from handle is invalid.
  Future() noexcept = default;
  void swap(Future& other) noexcept { state_.swap(other.state_); }

  // True if this handle refers to a future; false if default-constructed or
  // moved-from. Every other method throws InvalidStateError on an invalid
  // handle.
  bool valid() const noexcept { return state_.get() != nullptr; }

  // Never block. done(): finished or cancelled. running(): a worker has
  // started it (set_running_or_notify_cancel()) and it is not finished.
  bool done() const { return checked().done(); }
  bool running() const { return checked().status() == internal::kRunning; }
  bool cancelled() const { return checked().status() == internal::kCancelled; }

  // If the future is pending, cancels it and returns true; returns true if
  // it was already cancelled; returns false if it is running or finished.
  // Cancelling wakes every waiter and runs the callbacks in this thread.
  bool cancel() { return checked().cancel(); }

  // Blocks until the future is done or `timeout` passes, then returns its
  // value (a reference into the shared state, valid while any handle lives).
  // Throws: the task's exception (the same object); CancelledError if it
  // was cancelled; TimeoutError if `timeout` passed first (a zero or negative
  // timeout does not wait); InvalidStateError if the value was moved out.
  decltype(auto) result(
      absl::Duration timeout = absl::InfiniteDuration()) const& {
    internal::SharedState<T>& s = checked();
    s.wait_for_result(timeout);
    if (s.stored_exception() != nullptr) {
      std::rethrow_exception(s.stored_exception());
    }
    s.check_not_taken();
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      return static_cast<const T&>(s.value());
    }
  }

  // As above, but moves the value out of the shared state (the way to take a
  // move-only value out): `T v = std::move(f).result();`. The value can be
  // moved out once; afterwards result() on any handle of this future throws
  // InvalidStateError. Leaves this handle valid. It waits until the done
  // callbacks have run (they may read the value), but like any move from a
  // shared object it requires that no other thread is reading the value
  // through a reference that result() returned earlier.
  T result(absl::Duration timeout = absl::InfiniteDuration()) && {
    internal::SharedState<T>& s = checked();
    s.wait_for_result(timeout);
    if (s.stored_exception() != nullptr) {
      std::rethrow_exception(s.stored_exception());
    }
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      return s.take_value();
    }
  }

  // Blocks like result() and returns the task's exception, or null if it
  // finished with a value. Throws CancelledError if cancelled, TimeoutError
  // if `timeout` passed first.
  std::exception_ptr exception(
      absl::Duration timeout = absl::InfiniteDuration()) const {
    internal::SharedState<T>& s = checked();
    s.wait_for_result(timeout);
    return s.stored_exception();
  }

  // Calls `fn(const Future<T>&)` exactly once when the future is done (see
  // the top of this file). `fn` may be move-only. The handle `fn` receives is
  // valid during the call (copy it to keep it). Cost: the first callback (or
  // then()) of a future is stored in the future's own state, without an
  // allocation, if it is at most two pointers large and its move constructor
  // does not throw (a lambda capturing a pointer or two, a shared_ptr); any
  // other callback takes one allocation. Throws std::bad_alloc if that
  // allocation fails (`fn` is then not registered).
  template <typename F>
  requires std::invocable < std::decay_t<F>
  &, const Future<T>& > void add_done_callback(F&& fn) const {
    internal::SharedState<T>& s = checked();
    std::decay_t<F> local(std::forward<F>(fn));
    internal::AddDoneCallback(*this, s, local);
  }

  // Returns a future of what `fn` makes of this future's outcome. `fn` is
  // called inline, in the thread that completes this future (or at once if
  // it is done), with:
  //   * the value: fn(const T&), or fn(T&&) for callables that only take an
  //     rvalue (the value is then moved out, as by std::move(f).result());
  //     fn() for Future<void>. If this future failed or was cancelled, fn is
  //     not called and the returned future fails with the same exception
  //     (CancelledError for a cancelled one);
  //   * or the done future itself, fn(const Future<T>&), to handle errors.
  //     A callable that accepts both forms gets the value: give a generic
  //     lambda meant for the future form its parameter type
  //     (`[](const Future<int>& f) {...}`).
  // An exception thrown by `fn` fails the returned future. If `fn` returns a
  // Future<U>, the result is a Future<U> that completes with it (for a
  // move-only U, by moving the value out of the future `fn` returned).
  // Cancelling the returned future before `fn` runs means `fn` never runs.
  template <typename F>
  auto then(F&& fn) const;

  // As then(fn), but `fn` runs as a task of `executor` (a
  // concurrent::Executor, or anything with `submit(callable)`) when this
  // future is done. The executor must outlive this future's completion. If
  // the executor refuses the task (say, it was shut down), the returned
  // future fails with that exception; if it cancels it (shutdown with
  // cancel_futures), with CancelledError. On a concurrent::Executor the
  // returned future is the task: one allocation per link, and a worker of a
  // thread pool that waits on it runs it inline like any task of the pool.
  template <typename E, typename F>
  requires internal::SubmitsTasks<E>
  auto then(E& executor, F&& fn) const;

  friend bool operator==(const Future& a, const Future& b) noexcept {
    return a.state_.get() == b.state_.get();
  }
  template <typename H>
  friend H AbslHashValue(H h, const Future& f) {
    return H::combine(std::move(h), f.state_.get());
  }

 private:
  friend struct internal::FutureAccess;
  friend class AnyFuture;
  explicit Future(internal::SharedState<T>* state) noexcept : state_(state) {}

  internal::SharedState<T>& checked() const { return state_.checked(); }

  internal::StateRef<internal::SharedState<T>> state_;
};

// A type-erased handle on any Future<T>'s state: everything but the value.
// Implicitly constructible from any Future<T>; compares equal to another
// AnyFuture on the same future. Thread-safe, like Future.
class AnyFuture {
 public:
  AnyFuture() noexcept = default;
  template <typename T>
  AnyFuture(const Future<T>& f) noexcept  // NOLINT: implicit by design.
      : state_(f.state_) {}
  void swap(AnyFuture& other) noexcept { state_.swap(other.state_); }

  // As Future<T>'s methods of the same names.
  bool valid() const noexcept { return state_.get() != nullptr; }
  bool done() const { return checked().done(); }
  bool running() const { return checked().status() == internal::kRunning; }
  bool cancelled() const { return checked().status() == internal::kCancelled; }
  bool cancel() { return checked().cancel(); }
  std::exception_ptr exception(
      absl::Duration timeout = absl::InfiniteDuration()) const {
    internal::StateBase& s = checked();
    s.wait_for_result(timeout);
    return s.stored_exception();
  }
  // Calls `fn(const AnyFuture&)` once the future is done.
  template <typename F>
  requires std::invocable < std::decay_t<F>
  &, const AnyFuture& > void add_done_callback(F&& fn) const {
    internal::StateBase& s = checked();
    std::decay_t<F> local(std::forward<F>(fn));
    internal::AddDoneCallback(*this, s, local);
  }

  friend bool operator==(const AnyFuture& a, const AnyFuture& b) noexcept {
    return a.state_.get() == b.state_.get();
  }
  template <typename H>
  friend H AbslHashValue(H h, const AnyFuture& f) {
    return H::combine(std::move(h), f.state_.get());
  }

 private:
  friend struct internal::FutureAccess;
  // Takes a new reference to `state`.
  explicit AnyFuture(internal::StateBase* state) noexcept
      : state_((state->ref(), state)) {}
  // Adopts `state`.
  explicit AnyFuture(internal::StateRef<internal::StateBase> state) noexcept
      : state_(std::move(state)) {}
  internal::StateBase& checked() const { return state_.checked(); }

  internal::StateRef<internal::StateBase> state_;
};

namespace internal {

inline StateBase* FutureAccess::state(const AnyFuture& f) noexcept {
  return f.state_.get();
}

inline AnyFuture FutureAccess::share_any(StateBase* state) noexcept {
  return AnyFuture(state);
}

template <typename H>
H FutureAccess::borrow(StateBase& state) noexcept {
  if constexpr (std::is_same_v<H, AnyFuture>) {
    return AnyFuture(StateRef<StateBase>(&state));
  } else {
    using T = typename H::value_type;
    return Future<T>(static_cast<SharedState<T>*>(&state));
  }
}

template <typename H, typename Fn>
void RunCallback(Fn& fn, StateBase& state) noexcept {
  H handle = FutureAccess::borrow<H>(state);
  InvokeCallback(fn, std::as_const(handle), state);  // noexcept
  FutureAccess::forget(handle);
}

// Completes `target` with `future`'s outcome (used to flatten then()).
template <typename U>
void Forward(SharedState<U>& target, const Future<U>& future) noexcept {
  try {
    if (future.cancelled()) {
      FutureAccess::state(future)->throw_cancelled();
    } else if (std::exception_ptr e = future.exception()) {
      target.set_exception(std::move(e));
    } else if constexpr (std::is_void_v<U>) {
      target.set_value();
    } else if constexpr (std::is_copy_constructible_v<U>) {
      target.set_value(future.result());
    } else {
      target.set_value(Future<U>(future).result());  // moves the value out
    }
  } catch (...) {
    try {
      target.set_exception(std::current_exception());
    } catch (...) {
      // `target` was cancelled meanwhile.
    }
  }
}

// Completes `target`, which the caller claimed (try_set_running()), with
// what `fn` makes of the done `source` (see Future<T>::then).
template <typename U, typename T, typename F>
void RunClaimedContinuation(SharedState<U>& target, F& fn,
                            SharedState<T>& source) noexcept {
  using R = ContinuationResult<T, F>;
  constexpr ContinuationArg arg = ContinuationArgOf<T, F>();
  const RunningScope running(target);  // waiting on it here: deadlock
  try {
    if constexpr (arg != ContinuationArg::kFuture) {
      if (source.status() == kCancelled) source.throw_cancelled();
      if (source.stored_exception() != nullptr) {
        target.set_exception(source.stored_exception());
        return;
      }
    }
    auto call = [&]() -> decltype(auto) {
      if constexpr (arg == ContinuationArg::kNone) {
        return std::invoke(fn);
      } else if constexpr (arg == ContinuationArg::kConstRef) {
        source.check_not_taken();
        return std::invoke(fn, static_cast<const T&>(source.value()));
      } else if constexpr (arg == ContinuationArg::kMove) {
        return std::invoke(fn, source.take_value());
      } else {
        return std::invoke(fn, FutureAccess::share(&source));
      }
    };
    if constexpr (IsFuture<R>::value) {
      R inner = call();
      inner.add_done_callback(
          [keep = FutureAccess::share(&target)](const R& done) {
            Forward(*FutureAccess::state(keep), done);
          });
    } else if constexpr (std::is_void_v<R>) {
      call();
      target.set_value();
    } else {
      target.set_value(call());
    }
  } catch (...) {
    try {
      target.set_exception(std::current_exception());
    } catch (...) {
      // Cancelled meanwhile.
    }
  }
}

// Whether a continuation `fn` of the done `source` will not be called: it
// takes the value, and `source` has none (it failed or was cancelled). Its
// result then only forwards the error, which needs no executor.
template <typename T, typename F>
bool ContinuationSkipsFn(const SharedState<T>& source) noexcept {
  if constexpr (ContinuationArgOf<T, F>() == ContinuationArg::kFuture) {
    return false;
  } else {
    return source.status() == kCancelled ||
           source.stored_exception() != nullptr;
  }
}

// As RunClaimedContinuation, claiming `target` first; skips `fn` if `target`
// was cancelled.
template <typename U, typename T, typename F>
void RunContinuation(SharedState<U>& target, F& fn,
                     SharedState<T>& source) noexcept {
  if (!target.try_set_running()) return;  // the result was cancelled
  RunClaimedContinuation(target, fn, source);
}

// The state of then()'s result future, fused with the listener that computes
// it: one allocation per link of a chain. The source state holds one
// reference (released by dispose()), each result handle another.
template <typename U, typename T, typename F>
class ContinuationState final : public SharedState<U>, public Listener {
 public:
  explicit ContinuationState(F&& fn) : fn_(std::move(fn)) {}

  void on_done(StateBase& source) noexcept override {
    RunContinuation(*this, *fn_, static_cast<SharedState<T>&>(source));
    fn_.reset();  // its captures must not live as long as the result does
  }
  void dispose() noexcept override {
    // Disposed unrun: the source died without completing (it cannot while a
    // Promise lives: the Promise breaks it first). Never leave it pending.
    if (fn_.has_value()) {
      fn_.reset();
      BreakPromise(*this, "the future it continues was abandoned");
    }
    this->unref();
  }

 private:
  std::optional<F> fn_;  // reset once run (or abandoned)
};

// then(executor, fn) on an executor that is not a concurrent::Executor
// (anything with submit(callable)): the result's state, fused with the
// listener that submits `fn` to the executor when the source is done. The
// submitted task owns a Guard; if the executor drops it unrun, the result
// fails with BrokenPromise.
template <typename U, typename T, typename F, typename E>
class SubmittedContinuation final : public SharedState<U>, public Listener {
 public:
  SubmittedContinuation(E& executor, F&& fn)
      : executor_(&executor), fn_(std::move(fn)) {}

  void on_done(StateBase& source) noexcept override {
    notified_ = true;
    auto& typed = static_cast<SharedState<T>&>(source);
    if (this->done() || ContinuationSkipsFn<T, F>(typed)) {
      RunContinuation(*this, *fn_, typed);  // forwards the error, if any
      fn_.reset();
      return;
    }
    auto guard = std::make_shared<Guard>(this, &source);
    try {
      executor_->submit([guard] { guard->run(); });
    } catch (...) {
      try {
        this->set_exception(std::current_exception());
      } catch (const InvalidStateError&) {
        // It ran (and completed the future) before submit() threw.
      }
    }
    // If the executor dropped the task, `guard` dies here (or with the
    // task, later) and breaks the result.
  }
  void dispose() noexcept override {
    if (!notified_) {  // the source died without completing
      fn_.reset();
      BreakPromise(*this, "the future it continues was abandoned");
    }
    this->unref();
  }

 private:
  // Owns a reference to the result state and to the source until `fn` ran.
  class Guard {
   public:
    Guard(SubmittedContinuation* owner, StateBase* source)
        : owner_(owner), source_(static_cast<SharedState<T>*>(source)) {
      owner_->ref();
      source_->ref();
    }
    ~Guard() {
      BreakPromise(*owner_, "the executor dropped its task unrun");
      owner_->unref();
      source_->unref();
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    void run() noexcept {
      if (owner_->fn_.has_value()) {
        RunContinuation(*owner_, *owner_->fn_, *source_);
        owner_->fn_.reset();
      }
    }

   private:
    SubmittedContinuation* const owner_;
    SharedState<T>* const source_;
  };

  E* const executor_;
  std::optional<F> fn_;
  bool notified_ = false;  // on_done() ran (dispose() follows it)
};

// Whether `executor` has a ScheduleContinuation() found by argument-dependent
// lookup (concurrent::Executor has: executors/executor.h), which makes the
// continuation one task of the executor.
template <typename E, typename U, typename T, typename F>
concept SchedulesContinuations = requires(E& executor, SharedState<T>& source,
                                          F&& fn) {
  {
    ScheduleContinuation(executor, std::type_identity<U>{}, source,
                         std::move(fn))
    } -> std::same_as<Future<U>>;
};

}  // namespace internal

template <typename T>
template <typename F>
auto Future<T>::then(F&& fn) const {
  using Fn = std::decay_t<F>;
  using U =
      typename internal::Unwrap<internal::ContinuationResult<T, Fn>>::type;
  internal::SharedState<T>& source = checked();
  auto* state =
      new internal::ContinuationState<U, T, Fn>(Fn(std::forward<F>(fn)));
  Future<U> result = internal::FutureAccess::share<U>(state);
  source.add_listener(state);  // runs it at once if `source` is done
  return result;
}

template <typename T>
template <typename E, typename F>
requires internal::SubmitsTasks<E>
auto Future<T>::then(E& executor, F&& fn) const {
  using Fn = std::decay_t<F>;
  using U =
      typename internal::Unwrap<internal::ContinuationResult<T, Fn>>::type;
  internal::SharedState<T>& source = checked();
  if constexpr (internal::SchedulesContinuations<E, U, T, Fn>) {
    // A concurrent::Executor (found by argument-dependent lookup, see
    // executors/executor.h): the result's state is the task itself.
    return ScheduleContinuation(executor, std::type_identity<U>{}, source,
                                Fn(std::forward<F>(fn)));
  } else {
    auto* state = new internal::SubmittedContinuation<U, T, Fn, E>(
        executor, Fn(std::forward<F>(fn)));
    Future<U> result = internal::FutureAccess::share<U>(state);
    source.add_listener(state);  // submits at once if `source` is done
    return result;
  }
}

}  // namespace concurrent

#endif  // CONCURRENT_FUTURES_FUTURE_H_
