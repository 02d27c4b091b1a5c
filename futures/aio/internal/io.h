// Copyright 2026 The concurrent Authors.
//
// File-descriptor readiness for the event loop. Private: include
// "futures/aio/event_loop.h" (or "futures/aio/streams.h") instead.
//
// Three kinds of registration share the loop's epoll set, one kind per fd:
//
//   * callbacks: add_reader()/add_writer(), level-triggered as in Python's
//     selector loop: the callback runs every iteration while the fd is ready;
//   * waits: the loop's sock_*() operations on an fd the caller owns. The fd is
//     armed one-shot for each wait (one epoll_ctl), so a closed and reused fd
//     number can never leave a stale registration behind;
//   * owned: a stream's socket, registered once, edge-triggered, for both
//     directions, and removed when the stream closes: no epoll_ctl per read
//     or write.

#ifndef CONCURRENT_FUTURES_AIO_INTERNAL_IO_H_
#define CONCURRENT_FUTURES_AIO_INTERNAL_IO_H_

#include <coroutine>
#include <cstdint>
#include <exception>
#include <string_view>

#include "futures/aio/internal/core.h"

namespace concurrent::aio::internal {

enum class IoKind : std::uint8_t { kCallbacks, kWaits, kOwned };
enum IoDirection : int { kRead = 0, kWrite = 1 };

// One fd's registration in the loop's epoll set.
class IoSource {
 public:
  IoSource(int fd, IoKind kind) noexcept : fd_(fd), kind_(kind) {}
  IoSource(const IoSource&) = delete;
  IoSource& operator=(const IoSource&) = delete;

  int fd() const noexcept { return fd_; }
  IoKind kind() const noexcept { return kind_; }

  // epoll reported `events` for the fd. Runs while the loop collects events:
  // it may only queue work.
  virtual void on_io(std::uint32_t events) noexcept = 0;
  // The loop was closed with the source registered: the loop forgets it
  // (and deletes it, if the loop owns it); an owner must not touch the loop
  // again.
  virtual void on_loop_closed() noexcept = 0;

 protected:
  ~IoSource() = default;

 private:
  int fd_;
  IoKind kind_;
};

class IoAwaiter;

// A source whose readiness tasks wait for, one task per direction.
class IoSlots : public IoSource {
 public:
  using IoSource::IoSource;

  // Registers `waiter` for `dir`. Throws InvalidStateError if another task
  // waits in that direction already.
  virtual void arm(IoDirection dir, IoAwaiter* waiter) = 0;
  // Unregisters a waiter that has not been woken (its wait was cancelled or
  // its frame destroyed).
  virtual void disarm(IoDirection dir, IoAwaiter* waiter) noexcept = 0;

 protected:
  ~IoSlots() = default;
};

// co_await-ed by socket operations: suspends the task until its fd is ready
// in one direction (or the wait is cancelled: then CancelledError).
class IoAwaiter final : public Waiter {
 public:
  IoAwaiter(IoSlots* slots, IoDirection dir) noexcept
      : slots_(slots), dir_(dir) {}
  IoAwaiter(const IoAwaiter&) = delete;
  IoAwaiter& operator=(const IoAwaiter&) = delete;
  ~IoAwaiter() {
    if (armed_) slots_->disarm(dir_, this);
  }

  bool await_ready() const noexcept { return false; }
  template <typename P>
  void await_suspend(std::coroutine_handle<P> h) {
    suspend(h.promise().task(), h);
  }
  void await_resume();

  // The fd is ready: wake the task.
  void wake() noexcept;
  bool cancel_wait(std::string_view msg) override;

 private:
  void suspend(TaskCore* task, std::coroutine_handle<> h);

  IoSlots* slots_;
  IoDirection dir_;
  TaskCore* task_ = nullptr;
  bool armed_ = false;
  std::exception_ptr cancelled_;  // set by cancel_wait()
};

// co_await IoWait{slots, dir}: the awaiter is built in the awaiting frame.
struct [[nodiscard]] IoWait {
  using aio_awaitable_tag = void;
  IoSlots* slots;
  IoDirection dir;
  IoAwaiter operator co_await() const noexcept { return IoAwaiter(slots, dir); }
};

}  // namespace concurrent::aio::internal

#endif  // CONCURRENT_FUTURES_AIO_INTERNAL_IO_H_
