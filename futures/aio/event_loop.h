// Copyright 2026 The concurrent Authors.
//
// -----------------------------------------------------------------------------
// File: futures/aio/event_loop.h
// -----------------------------------------------------------------------------
//
// `concurrent::aio::EventLoop` is the asyncio flavour's event loop, with the
// semantics of CPython 3.12's `asyncio.BaseEventLoop` on epoll: one thread
// runs callbacks and coroutines (tasks) one at a time, switching only where a
// coroutine awaits. Its main operations:
//
//   * `run_until_complete(awaitable)`, `run_forever()`/`stop()`, `close()`;
//     `aio::run(coroutine)` is `asyncio.run()`: a new loop, run, close;
//   * `call_soon(fn)`, `call_later(delay, fn)`, `call_at(when, fn)`, and
//     `call_soon_threadsafe(fn)`, the one method other threads may call;
//   * `time()`, the loop's monotonic clock;
//   * `create_future<T>()`, `create_task(coroutine)`;
//   * `run_in_executor(executor, fn, args...)`: fn on a thread pool, awaited
//     without blocking the loop;
//   * fd readiness (`add_reader`, `add_writer`, `remove_*`) and awaitable
//     non-blocking socket operations (`sock_accept`, `sock_connect`,
//     `sock_recv`, `sock_recv_into`, `sock_sendall`).
//
// Coroutines are functions returning `aio::Coroutine<T>` (futures/aio/task.h);
// `aio::Future<T>` (futures/aio/future.h) is the loop's future.
//
// Example:
//
//   aio::Coroutine<int> answer() {
//     co_await aio::sleep(absl::Milliseconds(10));
//     co_return 42;
//   }
//   aio::Coroutine<int> amain() {
//     aio::Task<int> t = aio::create_task(answer());
//     int a = co_await t;
//     co_return a;
//   }
//   int main() { return aio::run(amain()) == 42 ? 0 : 1; }
//
// Thread-safety: thread-hostile, with one exception. An EventLoop, and the
// futures, tasks and handles bound to it, are used from the thread that runs
// the loop (or, while it is not running, from one thread at a time).
// `call_soon_threadsafe()` may be called from any thread at any time until the
// loop is closed, and the Handle it returns may be cancelled from any thread.
//
// Memory ordering: what a thread writes before it calls
// `call_soon_threadsafe(fn)` happens-before `fn` runs on the loop.
//
// Errors (the family of futures/errors.h; Python's RuntimeError for a misused
// loop is `InvalidStateError` here):
//   * `InvalidStateError`: running a loop that is closed or already running,
//     or while another loop runs in this thread; closing a running loop;
//     scheduling on a closed loop; `run_until_complete()` stopped before the
//     awaitable was done; an fd already used another way (see add_reader);
//   * `std::invalid_argument`: a future of another loop; a socket operation on
//     a blocking fd;
//   * `std::system_error`: the operating system refused (epoll, sockets).
//   A callback that throws does not stop the loop: the exception goes to the
//   loop's exception handler (`set_exception_handler`), which by default
//   prints one line on stderr, as Python logs "Exception in callback".
//
// Lifetime: closing (or destroying) a loop with tasks still pending destroys
// their coroutine frames and reports each to the exception handler as
// "Task was destroyed but it is pending!", as CPython warns when such a task
// is collected. `aio::run()` first cancels the tasks left when its coroutine
// returns and lets them finish, as `asyncio.run()` does.

#ifndef CONCURRENT_FUTURES_AIO_EVENT_LOOP_H_
#define CONCURRENT_FUTURES_AIO_EVENT_LOOP_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "futures/aio/internal/callbacks.h"
#include "futures/aio/internal/core.h"
#include "futures/aio/internal/inbox.h"
#include "futures/aio/internal/io.h"
#include "futures/errors.h"

namespace concurrent::aio {

template <typename T>
class Future;
template <typename T>
class Task;
template <typename T>
class Coroutine;
class AnyTask;

// What the loop reports to its exception handler (Python's context dict).
struct ExceptionContext {
  // What happened: "Exception in callback", "Task was destroyed but it is
  // pending!", ...
  std::string message = {};
  // The exception, if there is one.
  std::exception_ptr exception = {};
  // The task or future concerned, if any ("<Task pending name='Task-3'>").
  std::string future = {};
};

using ExceptionHandler = absl::AnyInvocable<void(const ExceptionContext&)>;

// A callback scheduled by call_soon() or call_soon_threadsafe() (Python's
// asyncio.Handle). Copyable; copies refer to the same callback.
class Handle {
 public:
  Handle() noexcept = default;
  // Prevents the callback from running if it has not run yet. Thread-safe.
  void cancel() noexcept {
    if (node_) node_->cancel();
  }
  bool cancelled() const noexcept { return node_ && node_->cancelled(); }
  bool valid() const noexcept { return static_cast<bool>(node_); }

 private:
  friend class EventLoop;
  explicit Handle(internal::Ref<internal::CallbackNode> node) noexcept
      : node_(std::move(node)) {}
  internal::Ref<internal::CallbackNode> node_;
};

// A callback scheduled by call_later() or call_at() (Python's TimerHandle).
// Thread-hostile: cancel it on the loop's thread.
class TimerHandle {
 public:
  TimerHandle() noexcept = default;
  // Prevents the callback from running and removes it from the loop's timers.
  void cancel() noexcept;
  bool cancelled() const noexcept { return node_ && node_->cancelled(); }
  // When the callback is (or was) due, in the loop's time().
  absl::Duration when() const noexcept {
    return absl::Nanoseconds(node_ ? node_->when_ns() : 0);
  }
  bool valid() const noexcept { return static_cast<bool>(node_); }

 private:
  friend class EventLoop;
  explicit TimerHandle(internal::Ref<internal::TimerCallbackNode> node) noexcept
      : node_(std::move(node)) {}
  internal::Ref<internal::TimerCallbackNode> node_;
};

// An IPv4 or IPv6 socket address (what Python passes as a (host, port)
// tuple).
class SocketAddress {
 public:
  SocketAddress() noexcept = default;
  // A numeric host ("127.0.0.1", "::1") or "localhost", and a port. Throws
  // std::invalid_argument for anything else (no name resolution on the loop).
  static SocketAddress parse(std::string_view host, std::uint16_t port);
  // The address a socket is bound to / connected to.
  static SocketAddress local_of(int fd);
  static SocketAddress peer_of(int fd);

  int family() const noexcept { return storage_.ss_family; }
  std::uint16_t port() const noexcept;
  // "127.0.0.1:8888", "[::1]:8888".
  std::string to_string() const;
  const sockaddr* data() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const noexcept { return size_; }
  void set_size(socklen_t size) noexcept { size_ = size; }

 private:
  sockaddr_storage storage_{};
  socklen_t size_ = 0;
};

// What sock_accept() returns: the new connection's fd (non-blocking,
// close-on-exec; the caller owns it) and the peer's address.
struct Accepted {
  int fd = -1;
  SocketAddress address;
};

class EventLoop {
 public:
  // Creates the epoll set and the eventfd that call_soon_threadsafe() uses.
  // Throws std::system_error if the OS refuses.
  EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  // Closes the loop (see close()). Requires: not running.
  ~EventLoop();

  // --- Running and stopping ---

  // Runs the loop until `awaitable` is done and returns its result (moves
  // it out) or rethrows its exception (CancelledError if it was cancelled).
  // A Coroutine<T> is wrapped in a task first; a Future<T> or Task<T> must
  // belong to this loop (else std::invalid_argument). Throws
  // InvalidStateError if the loop stops (stop()) before it is done, and as
  // run_forever() does.
  template <typename A>
  auto run_until_complete(A&& awaitable);

  // Runs until stop() is called. Throws InvalidStateError if the loop is
  // closed or already running, or another loop runs in this thread.
  void run_forever();
  // Makes run_forever() return after the current iteration (and the next
  // one, if called before it started). Loop thread only: from another thread,
  // call_soon_threadsafe([&loop] { loop.stop(); }).
  void stop() noexcept { stopping_ = true; }
  bool is_running() const noexcept { return running_; }
  bool is_closed() const noexcept { return closed_; }
  // Closes the loop: pending tasks are destroyed (and reported, see the top
  // of this file), queued callbacks are dropped, the epoll set is closed.
  // Idempotent. Throws InvalidStateError if the loop is running.
  void close();

  // --- Callbacks ---

  // Schedules `fn()` to run in the next iteration, after the callbacks
  // already scheduled (FIFO). Throws InvalidStateError if the loop is closed.
  template <typename F>
  Handle call_soon(F&& fn) {
    check_open();
    auto* node =
        new internal::FnCallback<std::decay_t<F>>(this, std::forward<F>(fn));
    node->ref();  // the ready queue's
    schedule(node);
    return Handle(internal::Ref<internal::CallbackNode>::adopt(node));
  }
  // As call_soon(), from any thread: wakes the loop if it is waiting.
  // Throws InvalidStateError if the loop is closed (`fn` is then destroyed in
  // the calling thread).
  template <typename F>
  Handle call_soon_threadsafe(F&& fn) {
    auto* node =
        new internal::FnCallback<std::decay_t<F>>(this, std::forward<F>(fn));
    node->ref();  // the inbox's
    internal::Ref<internal::CallbackNode> handle =
        internal::Ref<internal::CallbackNode>::adopt(node);
    inbox_->post(node);
    return Handle(std::move(handle));
  }
  // Schedules `fn()` at `delay` from now (at once if `delay` <= 0). Timers
  // due at the same time run in the order they were scheduled.
  template <typename F>
  TimerHandle call_later(absl::Duration delay, F&& fn) {
    return call_at(time() + delay, std::forward<F>(fn));
  }
  // Schedules `fn()` at `when`, a time of the loop's clock (time()).
  template <typename F>
  TimerHandle call_at(absl::Duration when, F&& fn) {
    check_open();
    auto* node = new internal::FnTimerCallback<std::decay_t<F>>(
        this, std::forward<F>(fn));
    node->ref();  // the timer heap's
    add_timer(node, when);
    return TimerHandle(internal::Ref<internal::TimerCallbackNode>::adopt(node));
  }

  // The loop's clock: CLOCK_MONOTONIC, as a duration since an arbitrary
  // point (Python's loop.time()).
  absl::Duration time() const noexcept { return absl::Nanoseconds(now_ns()); }

  // --- Futures and tasks ---

  // A new pending future bound to this loop.
  template <typename T = void>
  Future<T> create_future();
  // Wraps `coro` in a task and schedules its first step (Python's
  // loop.create_task). The loop owns the task until it finishes.
  template <typename T>
  Task<T> create_task(Coroutine<T> coro);
  // The tasks of this loop that are not done (Python's all_tasks()).
  std::vector<AnyTask> all_tasks() const;
  // The task the loop is running right now, if any.
  std::optional<AnyTask> current_task() const;

  // Runs `fn(args...)` on `executor` (anything with submit(), such as
  // concurrent::ThreadPoolExecutor) and returns an aio::Future of its
  // result, completed on the loop without blocking it (see wrap_future()).
  // Defined in futures/aio/wrap_future.h.
  template <typename E, typename F, typename... Args>
  auto run_in_executor(E& executor, F&& fn, Args&&... args);

  // --- File descriptors ---
  //
  // An fd is used one way at a time: by add_reader/add_writer callbacks, by
  // sock_*() operations, or by a stream. Using it another way while one is
  // active throws InvalidStateError.

  // Runs `fn()` in every iteration while `fd` is readable (level-triggered),
  // until remove_reader(fd). Replaces a previous reader of `fd`.
  void add_reader(int fd, absl::AnyInvocable<void()> fn);
  void add_writer(int fd, absl::AnyInvocable<void()> fn);
  // Returns true if `fd` had a reader (writer), now removed.
  bool remove_reader(int fd);
  bool remove_writer(int fd);

  // Socket operations on a non-blocking socket `fd` the caller owns (else
  // std::invalid_argument). Each tries the system call first and waits for
  // readiness only if it would block. OS errors: std::system_error. One task
  // at a time may wait to read, and one to write, on an fd (else
  // InvalidStateError). Cancelling the task cancels the wait.
  //
  // Accepts a connection on a listening socket.
  Coroutine<Accepted> sock_accept(int fd);
  // Connects `fd` to `address`.
  Coroutine<void> sock_connect(int fd, SocketAddress address);
  // Receives up to `n` bytes; an empty string at end of stream.
  Coroutine<std::string> sock_recv(int fd, std::size_t n);
  // Receives into `buffer` (which must outlive the operation); returns the
  // byte count, 0 at end of stream.
  Coroutine<std::size_t> sock_recv_into(int fd, std::span<char> buffer);
  // Sends all of `data` (which must outlive the operation).
  Coroutine<void> sock_sendall(int fd, std::string_view data);

  // --- Errors ---

  // Replaces the handler of errors that have nowhere else to go (callbacks
  // that throw, tasks destroyed pending); nullptr restores the default.
  void set_exception_handler(ExceptionHandler handler);
  void call_exception_handler(const ExceptionContext& context) noexcept;
  // Prints one line on stderr.
  static void default_exception_handler(const ExceptionContext& context);

  // --- Internal (futures, tasks, streams) ---
  void schedule(internal::ReadyNode* node) noexcept { ready_.push(node); }
  void add_timer(internal::TimerNode* node, absl::Duration when);
  void remove_timer(internal::TimerNode* node) noexcept;
  internal::TaskCore* running_task() const noexcept { return current_task_; }
  std::int64_t now_ns() const noexcept;
  void check_open() const;
  // fd registrations (see internal/io.h).
  void register_io(internal::IoSource* source, std::uint32_t events);
  void modify_io(internal::IoSource* source, std::uint32_t events);
  void unregister_io(internal::IoSource* source) noexcept;
  // The source registered for `fd`, or null.
  internal::IoSource* io_source(int fd) const noexcept;
  void forget_io(int fd) noexcept;
  void count_io(int delta) noexcept { active_io_ += delta; }
  std::uint64_t next_task_id() noexcept { return ++task_ids_; }
  void link_task(internal::TaskCore* task) noexcept;
  void unlink_task(internal::TaskCore* task) noexcept;
  void set_current_task(internal::TaskCore* task) noexcept {
    current_task_ = task;
  }
  // For posting from other threads after the loop may be gone.
  const std::shared_ptr<internal::Inbox>& inbox() const noexcept {
    return inbox_;
  }

 private:
  void run_once();
  void poll(std::int64_t timeout_ns);

  internal::ReadyQueue ready_;
  internal::TimerHeap timers_;
  internal::TaskCore* current_task_ = nullptr;
  internal::TaskCore* live_tasks_ = nullptr;  // pending tasks, linked
  std::uint64_t task_ids_ = 0;
  bool running_ = false;
  bool stopping_ = false;
  bool closed_ = false;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  // Sources that may report events (besides the eventfd): when there are
  // none and callbacks are ready, an iteration skips epoll_wait.
  int active_io_ = 0;
  absl::flat_hash_map<int, internal::IoSource*> io_;
  ExceptionHandler exception_handler_;
  // call_soon_threadsafe(): other threads queue here and ring its eventfd.
  std::shared_ptr<internal::Inbox> inbox_;
};

// The loop running in this thread. Throws InvalidStateError if there is none
// (Python's get_running_loop() raises RuntimeError).
EventLoop& get_running_loop();
// The loop running in this thread, or null.
EventLoop* running_loop() noexcept;

}  // namespace concurrent::aio

// The rest of the core: futures, coroutines and tasks, the bridge.
#include "futures/aio/future.h"       // IWYU pragma: export
#include "futures/aio/task.h"         // IWYU pragma: export
#include "futures/aio/wrap_future.h"  // IWYU pragma: export

#endif  // CONCURRENT_FUTURES_AIO_EVENT_LOOP_H_
