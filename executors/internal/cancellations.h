// Copyright 2026 The concurrent Authors.
//
// The cancellations that shutdown(cancel_futures = true) has in progress,
// which a concurrent shutdown(wait = true) must wait for. Private to
// executors/.
//
// Python cancels the queued work items under the executor's shutdown lock, so
// a concurrent shutdown(wait=True) returns only after they are cancelled. We
// cancel outside every lock (a cancelled future runs its done callbacks, which
// may call the executor, even destroy it); this counter restores the
// guarantee. The thread that cancels does not wait for itself: a done callback
// that calls shutdown(wait = true), or destroys the executor, returns once the
// other threads' cancellations are over.

#ifndef CONCURRENT_EXECUTORS_INTERNAL_CANCELLATIONS_H_
#define CONCURRENT_EXECUTORS_INTERNAL_CANCELLATIONS_H_

#include <atomic>
#include <cstdint>
#include <utility>

#include "executors/task_node.h"
#include "futures/internal/futex.h"

namespace concurrent {
namespace internal {

class ShutdownCancellations {
 public:
  // Announces a cancellation. Call in the critical section that takes the
  // queue to cancel, under the executor's lock: a concurrent shutdown that
  // then finds the queue empty (under the same lock) also finds the count.
  void begin() noexcept { active_.fetch_add(1, std::memory_order_relaxed); }

  // Cancels `tasks` (their done callbacks run here: call it outside every
  // lock), then ends what begin() announced. A callback may destroy the
  // executor: whoever calls this keeps the object alive for the call.
  void cancel(TaskQueue tasks) noexcept {
    {
      const Frame frame(this);
      tasks.cancel_all();
    }
    active_.fetch_sub(1, std::memory_order_acq_rel);
    FutexWakeAll(active_);
  }

  // Blocks until no thread other than the caller is cancelling.
  void wait_for_others() const {
    const std::uint32_t own = Frame::cancelling_here(this) ? 1 : 0;
    for (;;) {
      const std::uint32_t active = active_.load(std::memory_order_acquire);
      if (active <= own) return;
      FutexWait(active_, active);
    }
  }

 private:
  // The cancellations the calling thread is in, innermost first.
  class Frame {
   public:
    explicit Frame(const ShutdownCancellations* owner)
        : owner_(owner), outer_(std::exchange(innermost(), this)) {}
    ~Frame() { innermost() = outer_; }
    Frame(const Frame&) = delete;
    Frame& operator=(const Frame&) = delete;
    static bool cancelling_here(const ShutdownCancellations* owner) {
      for (const Frame* f = innermost(); f != nullptr; f = f->outer_) {
        if (f->owner_ == owner) return true;
      }
      return false;
    }

   private:
    static const Frame*& innermost() {
      thread_local const Frame* frame = nullptr;
      return frame;
    }
    const ShutdownCancellations* const owner_;
    const Frame* const outer_;
  };

  std::atomic<std::uint32_t> active_{0};
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_EXECUTORS_INTERNAL_CANCELLATIONS_H_
