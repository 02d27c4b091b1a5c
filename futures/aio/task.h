// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/aio/task.h
// -----------------------------------------------------------------------------
//
// Coroutines and tasks, with the semantics of CPython 3.12's `asyncio`:
//
//   * `aio::Coroutine<T>` is what a coroutine function returns (Python's
//     coroutine object): lazy, move-only, run by awaiting it once
//     (`co_await f()` runs f in the awaiting task, as `await f()` does) or by
//     wrapping it in a task;
//   * `aio::Task<T>` (Python's asyncio.Task) is a coroutine driven by the
//     loop, and a Future<T> of its result. `create_task(coro)` schedules it;
//     the loop owns it until it finishes, so a Task handle may be dropped.
//     `cancel(msg)` throws CancelledError(msg) inside the coroutine at its
//     next suspension point; the coroutine may catch it and clean up, and
//     `cancelling()`/`uncancel()` count the requests as in 3.11+;
//   * `aio::sleep(delay)` suspends the task (a delay <= 0 yields to the loop
//     once, as `await asyncio.sleep(0)`);
//   * `aio::run(coro)` is asyncio.run().
//
// Example:
//
//   aio::Coroutine<std::string> fetch(int i) {
//     co_await aio::sleep(absl::Milliseconds(10 * i));
//     co_return absl::StrCat("item ", i);
//   }
//   aio::Coroutine<void> amain() {
//     aio::Task<std::string> t = aio::create_task(fetch(1));
//     std::string direct = co_await fetch(2);  // runs in this task
//     const std::string& via_task = co_await t;
//     t.cancel();  // false: already done
//   }
//   int main() { aio::run(amain()); }
//
// Awaiting: inside an aio coroutine, `co_await` accepts aio awaitables only
// (Coroutine, Future, Task, sleep(), the combinators, socket and stream
// operations) and concurrent::Future<T> (see futures/aio/wrap_future.h);
// anything else does not compile. Awaiting a done future or task does not
// suspend. Exceptions cross co_await as they cross `await` in Python.
//
// Stack depth: every resumption goes through the task's trampoline, so a
// million synchronously completing co_awaits in a row use constant stack,
// in every build mode (see internal/core.h).
//
// Thread-safety: thread-hostile, as futures/aio/future.h.
//
// Errors: co_await of a Coroutine that was already awaited (or wrapped in a
// task) throws InvalidStateError; create_task() and sleep() outside a
// running loop throw InvalidStateError; the rest as futures/aio/future.h.
//
// g++ 12 rules for coroutine code (docs/style.md): never pass a capturing
// lambda temporary in the same full-expression as a co_await (name it
// first); no structured bindings of a co_await; a coroutine lambda must not
// outlive its captures.

// The core headers include each other through event_loop.h, which includes
// this one at its end: included first, it must let event_loop.h define the
// loop before its own guard.
#include "futures/aio/event_loop.h"  // IWYU pragma: keep

#ifndef CONCURRENT_FUTURES_AIO_TASK_H_
#define CONCURRENT_FUTURES_AIO_TASK_H_

#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"
#include "futures/aio/future.h"
#include "futures/aio/internal/core.h"
#include "futures/errors.h"
#include "futures/future.h"

namespace concurrent::aio {

namespace internal {

// Awaits a concurrent::Future<T> (futures/aio/wrap_future.h).
template <typename T>
class ConcurrentFutureAwaiter;

// Types a coroutine of this library may co_await. Aio awaitables declare
// `using aio_awaitable_tag = void;`.
template <typename A>
concept AioAwaitable = requires {
  typename A::aio_awaitable_tag;
};

template <typename A>
struct IsConcurrentFuture : std::false_type {};
template <typename T>
struct IsConcurrentFuture<::concurrent::Future<T>> : std::true_type {};

class PromiseBase {
 public:
  TaskCore* task() const noexcept { return task_; }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <typename P>
    void await_suspend(std::coroutine_handle<P> h) noexcept {
      PromiseBase& p = h.promise();
      // A child returns to its parent through the task's trampoline; the
      // task's own coroutine stops here and step() completes the task.
      if (p.continuation_) p.task_->set_next(p.continuation_);
    }
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { error_ = std::current_exception(); }

  template <typename A>
  decltype(auto) await_transform(A&& awaitable) {
    using D = std::remove_cvref_t<A>;
    if constexpr (IsConcurrentFuture<D>::value) {
      return ConcurrentFutureAwaiter<typename D::value_type>(
          std::forward<A>(awaitable));
    } else {
      static_assert(AioAwaitable<D>,
                    "an aio coroutine can co_await aio awaitables only "
                    "(aio::Coroutine, aio::Future, aio::Task, aio::sleep, "
                    "...) and concurrent::Future");
      return std::forward<A>(awaitable);
    }
  }

  const std::exception_ptr& error() const noexcept { return error_; }

 protected:
  template <typename T>
  friend class CoroutineAwaiter;
  template <typename T>
  friend class TaskState;

  TaskCore* task_ = nullptr;
  std::coroutine_handle<> continuation_;
  std::exception_ptr error_;
};

template <typename T>
class Promise;

template <typename T>
class CoroutineAwaiter;

}  // namespace internal

// Coroutine<T>: see the top of this file.
template <typename T>
class [[nodiscard]] Coroutine {
 public:
  using promise_type = internal::Promise<T>;
  using value_type = T;
  using aio_awaitable_tag = void;

  Coroutine(Coroutine&& other) noexcept
      : h_(std::exchange(other.h_, nullptr)) {}
  Coroutine& operator=(Coroutine other) noexcept {
    std::swap(h_, other.h_);
    return *this;
  }
  // Destroys the coroutine frame (a coroutine never awaited never runs).
  ~Coroutine() {
    if (h_) h_.destroy();
  }

  bool valid() const noexcept { return static_cast<bool>(h_); }

  // Runs the coroutine in the awaiting task and returns its result (or
  // rethrows its exception). Await once.
  internal::CoroutineAwaiter<T> operator co_await() && noexcept {
    return internal::CoroutineAwaiter<T>(h_);
  }
  internal::CoroutineAwaiter<T> operator co_await() & noexcept {
    return internal::CoroutineAwaiter<T>(h_);
  }

  // Gives up ownership of the frame (for tasks).
  std::coroutine_handle<promise_type> release() noexcept {
    return std::exchange(h_, nullptr);
  }

 private:
  friend class internal::Promise<T>;
  explicit Coroutine(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

namespace internal {

[[noreturn]] void ThrowAlreadyAwaited();

template <typename T>
class Promise final : public PromiseBase {
 public:
  Coroutine<T> get_return_object() noexcept {
    return Coroutine<T>(std::coroutine_handle<Promise>::from_promise(*this));
  }
  template <typename U = T>
  requires std::constructible_from<T, U&&>
  void return_value(U&& v) { value_.emplace(std::forward<U>(v)); }

  // The result, moved out; rethrows the coroutine's exception.
  T take_result() {
    if (error_) std::rethrow_exception(error_);
    return std::move(*value_);
  }
  std::optional<T>& value() noexcept { return value_; }

 private:
  std::optional<T> value_;
};

template <>
class Promise<void> final : public PromiseBase {
 public:
  Coroutine<void> get_return_object() noexcept {
    return Coroutine<void>(std::coroutine_handle<Promise>::from_promise(*this));
  }
  void return_void() noexcept {}
  void take_result() {
    if (error_) std::rethrow_exception(error_);
  }
};

template <typename T>
class CoroutineAwaiter {
 public:
  explicit CoroutineAwaiter(std::coroutine_handle<Promise<T>> child) noexcept
      : child_(child) {}

  bool await_ready() const noexcept { return false; }
  template <typename P>
  void await_suspend(std::coroutine_handle<P> parent) {
    if (!child_ || child_.promise().task_ != nullptr) ThrowAlreadyAwaited();
    Promise<T>& p = child_.promise();
    p.task_ = parent.promise().task();
    p.continuation_ = parent;
    p.task_->set_next(child_);
  }
  T await_resume() { return child_.promise().take_result(); }

 private:
  std::coroutine_handle<Promise<T>> child_;
};

bool IsCancelledError(const std::exception_ptr& e) noexcept;
std::string DescribeTask(const FutureBase& future, const TaskCore& task);

// A task's state: the future of its result fused with the task machinery.
template <typename T>
class TaskState final : public FutureState<T>, public TaskCore {
 public:
  TaskState(EventLoop* loop, std::coroutine_handle<Promise<T>> h) noexcept
      : FutureState<T>(loop), TaskCore(loop, h) {
    this->set_is_task();
    h.promise().task_ = this;
  }

  FutureBase& future() noexcept override { return *this; }
  bool cancel(std::string_view msg) override { return TaskCore::cancel(msg); }
  std::string describe() const override { return DescribeTask(*this, *this); }
  std::string short_name() const override { return name(); }

 private:
  ~TaskState() override = default;

  void complete(bool must_cancel, std::string_view message) noexcept override {
    auto h = std::coroutine_handle<Promise<T>>::from_address(top().address());
    Promise<T>& p = h.promise();
    if (p.error() != nullptr) {
      if (IsCancelledError(p.error())) {
        // The coroutine let a CancelledError out: the task is cancelled,
        // and result() rethrows that very error (with its message).
        this->mark_cancelled(p.error());
      } else {
        this->store_exception(p.error());
      }
    } else if (must_cancel) {
      this->mark_cancelled(MakeCancelledError(message, this->short_name()));
    } else if constexpr (std::is_void_v<T>) {
      this->store_value();
    } else {
      this->store_value(std::move(*p.value()));
    }
    release_frame();
  }
  void complete_unstarted(std::string_view message) noexcept override {
    this->mark_cancelled(MakeCancelledError(message, this->short_name()));
    release_frame();
  }
};

// co_await aio::sleep(delay): a timer in the coroutine frame wakes the task.
class SleepAwaiter final : public TimerNode, public Waiter {
 public:
  explicit SleepAwaiter(absl::Duration delay) noexcept
      : delay_ns_(absl::ToInt64Nanoseconds(delay)) {}
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  ~SleepAwaiter();

  bool await_ready() const noexcept { return false; }
  template <typename P>
  void await_suspend(std::coroutine_handle<P> h) {
    suspend(h.promise().task(), h);
  }
  void await_resume();

  void on_timer() noexcept override;
  bool cancel_wait(std::string_view msg) override;

 private:
  void suspend(TaskCore* task, std::coroutine_handle<> h);

  std::int64_t delay_ns_;
  TaskCore* task_ = nullptr;
  std::exception_ptr cancelled_;  // set by cancel_wait()
};

// What sleep() returns: the awaiter is built in the awaiting frame.
struct [[nodiscard]] Sleep {
  using aio_awaitable_tag = void;
  using value_type = void;
  absl::Duration delay;
  SleepAwaiter operator co_await() const noexcept {
    return SleepAwaiter(delay);
  }
};

}  // namespace internal

// Task<T>: see the top of this file. A Task is a Future<T> whose result
// comes from its coroutine: set_result()/set_exception() throw
// InvalidStateError.
template <typename T>
class Task : public Future<T> {
 public:
  Task() noexcept = default;

  // Requests cancellation (Python's Task.cancel(msg)): returns false if the
  // task is done; otherwise counts the request, cancels what the task
  // awaits (or, if it awaits nothing, arranges for CancelledError(msg) to be
  // thrown at its next suspension point; a task that never started never
  // runs) and returns true, even if a cancellation is already pending.
  bool cancel(std::string_view msg = {}) { return Future<T>::cancel(msg); }
  // The number of pending cancellation requests (3.11+).
  int cancelling() const { return core().cancelling(); }
  // Decrements the count of cancellation requests and returns it (3.12:
  // does not withdraw a pending CancelledError).
  int uncancel() { return core().uncancel(); }
  // "Task-<n>" unless set_name() gave one.
  std::string get_name() const { return core().name(); }
  void set_name(std::string name) { core().set_name(std::move(name)); }

 private:
  friend class EventLoop;
  friend class AnyTask;
  explicit Task(Future<T> f) noexcept : Future<T>(std::move(f)) {}
  internal::TaskCore& core() const {
    return static_cast<internal::TaskState<T>&>(
        *internal::FutureAccess::state(static_cast<const Future<T>&>(*this)));
  }
};

// A type-erased handle on any Task<T>: everything but the result (for
// current_task(), all_tasks()). Copyable.
class AnyTask {
 public:
  AnyTask() noexcept = default;
  template <typename T>
  AnyTask(const Task<T>& t)  // NOLINT: implicit by design.
      : state_(internal::Ref<internal::FutureBase>::share(
            internal::FutureAccess::state(static_cast<const Future<T>&>(t)))),
        core_(&t.core()) {}

  bool valid() const noexcept { return static_cast<bool>(state_); }
  bool done() const { return checked().done(); }
  bool cancelled() const { return checked().cancelled(); }
  bool cancel(std::string_view msg = {}) { return core().cancel(msg); }
  int cancelling() const { return core().cancelling(); }
  int uncancel() { return core().uncancel(); }
  std::string get_name() const { return core().name(); }
  // As Future::exception().
  std::exception_ptr exception() const;

  friend bool operator==(const AnyTask& a, const AnyTask& b) noexcept {
    return a.state_.get() == b.state_.get();
  }
  template <typename H>
  friend H AbslHashValue(H h, const AnyTask& t) {
    return H::combine(std::move(h), t.state_.get());
  }

  // Internal.
  explicit AnyTask(internal::TaskCore* core) noexcept
      : state_(internal::Ref<internal::FutureBase>::share(&core->future())),
        core_(core) {}
  internal::TaskCore& core() const {
    checked();
    return *core_;
  }

 private:
  internal::FutureBase& checked() const {
    if (!state_) internal::ThrowInvalidHandle();
    return *state_;
  }
  internal::Ref<internal::FutureBase> state_;
  internal::TaskCore* core_ = nullptr;
};

// Suspends the calling task for `delay` (Python's asyncio.sleep). A delay
// <= 0 yields to the loop for one iteration. Cancelling the task ends the
// sleep with CancelledError.
inline internal::Sleep sleep(absl::Duration delay) noexcept {
  return internal::Sleep{delay};
}
// As sleep(delay), then returns `result`.
template <typename T>
Coroutine<T> sleep(absl::Duration delay, T result) {
  co_await sleep(delay);
  co_return result;
}

// loop.create_task() on the running loop (Python's asyncio.create_task).
// Throws InvalidStateError if no loop runs in this thread.
template <typename T>
Task<T> create_task(Coroutine<T> coro) {
  return get_running_loop().create_task(std::move(coro));
}

// Python's ensure_future(): a Coroutine becomes a task on `loop` (default:
// the running loop); a Future or Task is returned as it is.
template <typename T>
Future<T> ensure_future(Coroutine<T> coro, EventLoop* loop = nullptr) {
  EventLoop& l = loop != nullptr ? *loop : get_running_loop();
  return l.create_task(std::move(coro));
}
template <typename T>
Future<T> ensure_future(Future<T> future, EventLoop* = nullptr) noexcept {
  return future;
}

namespace internal {
// What the combinators accept: an aio awaitable that names its result type
// (Coroutine<T>, Future<T>, Task<T>, sleep()).
template <typename A>
concept ValuedAwaitable = AioAwaitable<std::remove_cvref_t<A>> && requires {
  typename std::remove_cvref_t<A>::value_type;
};
template <typename A>
using ValueOf = typename std::remove_cvref_t<A>::value_type;

template <typename A>
Coroutine<ValueOf<A>> AwaitInCoroutine(A awaitable) {
  co_return co_await std::move(awaitable);
}

// ensure_future() of an argument: a Future or Task as it is; a Coroutine (or
// another awaitable, wrapped in one) moved into a new task.
template <typename A>
Future<ValueOf<A>> AsFuture(A&& a, EventLoop* loop) {
  using D = std::remove_cvref_t<A>;
  using T = ValueOf<A>;
  if constexpr (std::is_convertible_v<D*, Future<T>*>) {
    return Future<T>(a);
  } else if constexpr (std::is_same_v<D, Coroutine<T>>) {
    return ensure_future(std::move(a), loop);
  } else {
    return ensure_future(AwaitInCoroutine<D>(std::move(a)), loop);
  }
}

// A copy of a done future's value (moved out if T cannot be copied).
template <typename T>
Stored<T> CopyValue(const Future<T>& f) {
  if constexpr (std::is_void_v<T>) {
    f.result();
    return Stored<T>();
  } else if constexpr (std::is_copy_constructible_v<T>) {
    return f.result();
  } else {
    return Future<T>(f).result();
  }
}
}  // namespace internal

// The task running now, or nullopt if the loop is running a plain callback
// (Python's current_task()). Throws InvalidStateError if no loop runs in this
// thread.
std::optional<AnyTask> current_task();
// The running loop's tasks that are not done (Python's all_tasks()).
std::vector<AnyTask> all_tasks();

namespace internal {
// asyncio.run()'s shutdown: cancels the tasks still pending, runs the loop
// until they are done, reports their errors, closes the loop.
void ShutdownForRun(EventLoop& loop) noexcept;
[[noreturn]] void ThrowStoppedEarly();
[[noreturn]] void ThrowForeignFuture();
[[noreturn]] void ThrowNestedRun();
}  // namespace internal

// Python's asyncio.run(): creates a loop, runs `main` in it until done,
// cancels the tasks it left and lets them finish, closes the loop; returns
// main's result or rethrows its exception. Throws InvalidStateError if a loop
// is already running in this thread.
template <typename T>
T run(Coroutine<T> main) {
  if (running_loop() != nullptr) internal::ThrowNestedRun();
  EventLoop loop;
  try {
    if constexpr (std::is_void_v<T>) {
      loop.run_until_complete(std::move(main));
      internal::ShutdownForRun(loop);
    } else {
      T result = loop.run_until_complete(std::move(main));
      internal::ShutdownForRun(loop);
      return result;
    }
  } catch (...) {
    internal::ShutdownForRun(loop);
    throw;
  }
}

// --- EventLoop's templates that need the types above ---

template <typename T>
Task<T> EventLoop::create_task(Coroutine<T> coro) {
  check_open();
  if (!coro.valid()) internal::ThrowAlreadyAwaited();
  auto* state = new internal::TaskState<T>(this, coro.release());
  state->ref();  // the loop's, until the task is done
  link_task(state);
  state->schedule();
  return Task<T>(internal::FutureAccess::adopt<T>(state));
}

template <typename A>
auto EventLoop::run_until_complete(A&& awaitable) {
  using D = std::remove_cvref_t<A>;
  if constexpr (requires { typename D::promise_type; }) {
    // A Coroutine<T>: run it as a task.
    return run_until_complete(create_task(std::move(awaitable)));
  } else {
    using T = typename D::value_type;
    Future<T> future = awaitable;
    if (&future.get_loop() != this) internal::ThrowForeignFuture();
    const CallbackId stop_id =
        future.add_done_callback([this](const Future<T>&) { stop(); });
    try {
      run_forever();
    } catch (...) {
      future.remove_done_callback(stop_id);
      throw;
    }
    future.remove_done_callback(stop_id);
    if (!future.done()) internal::ThrowStoppedEarly();
    if constexpr (std::is_void_v<T>) {
      future.result();
    } else if constexpr (std::is_lvalue_reference_v<A>) {
      return T(future.result());
    } else {
      return std::move(future).result();
    }
  }
}

}  // namespace concurrent::aio

#endif  // CONCURRENT_FUTURES_AIO_TASK_H_
