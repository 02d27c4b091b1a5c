// Copyright 2026 The concurrent Authors.
//
// The nodes behind call_soon(), call_soon_threadsafe(), call_later(),
// call_at() and the fd callbacks of add_reader()/add_writer(). Private:
// include "futures/aio/event_loop.h" instead.

#ifndef CONCURRENT_FUTURES_AIO_INTERNAL_CALLBACKS_H_
#define CONCURRENT_FUTURES_AIO_INTERNAL_CALLBACKS_H_

#include <atomic>
#include <cstdint>
#include <utility>

#include "futures/aio/internal/core.h"

namespace concurrent::aio::internal {

// A callback the loop runs from its ready queue (Python's Handle). Reference-
// counted: the Handle returned to the caller owns one reference, and the loop
// owns one each time it queues the node (or keeps it in its timer heap).
class CallbackNode : public ReadyNode {
 public:
  explicit CallbackNode(EventLoop* loop) noexcept : loop_(loop) {}

  void ref() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void unref() const noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Thread-safe (a callback queued by call_soon_threadsafe() may be cancelled
  // from the thread that queued it). A cancelled callback is not run.
  void cancel() noexcept { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const noexcept {
    return cancelled_.load(std::memory_order_acquire);
  }
  EventLoop& loop() const noexcept { return *loop_; }

  // Runs the callback unless cancelled (what it throws goes to the loop's
  // exception handler), then drops the loop's reference.
  void run_ready() noexcept override;
  void discard_ready() noexcept override { unref(); }

 protected:
  virtual ~CallbackNode() = default;
  virtual void invoke() = 0;

 private:
  EventLoop* const loop_;
  mutable std::atomic<std::uint32_t> refs_{1};
  std::atomic<bool> cancelled_{false};
};

template <typename F>
class FnCallback final : public CallbackNode {
 public:
  template <typename G>
  FnCallback(EventLoop* loop, G&& fn)
      : CallbackNode(loop), fn_(std::forward<G>(fn)) {}

 private:
  void invoke() override { fn_(); }
  F fn_;
};

// A callback at a time of the loop's clock (Python's TimerHandle): in the
// loop's timer heap until due, then in its ready queue.
class TimerCallbackNode : public CallbackNode, public TimerNode {
 public:
  using CallbackNode::CallbackNode;
  void on_timer() noexcept override;
  void discard_timer() noexcept override { unref(); }
};

template <typename F>
class FnTimerCallback final : public TimerCallbackNode {
 public:
  template <typename G>
  FnTimerCallback(EventLoop* loop, G&& fn)
      : TimerCallbackNode(loop), fn_(std::forward<G>(fn)) {}

 private:
  void invoke() override { fn_(); }
  F fn_;
};

}  // namespace concurrent::aio::internal

#endif  // CONCURRENT_FUTURES_AIO_INTERNAL_CALLBACKS_H_
