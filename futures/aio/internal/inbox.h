// Copyright 2026 The concurrent Authors.
//
// The queue through which other threads hand callbacks to an event loop
// (call_soon_threadsafe(), wrap_future()). Private: include
// "futures/aio/event_loop.h" instead.
//
// Shared (std::shared_ptr) by the loop and by whoever may post after the
// loop is gone (a concurrent::Future's callback in a worker thread): posting
// to a closed inbox throws, and the eventfd stays open while anyone can
// still ring it.

#ifndef CONCURRENT_FUTURES_AIO_INTERNAL_INBOX_H_
#define CONCURRENT_FUTURES_AIO_INTERNAL_INBOX_H_

#include <atomic>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "futures/aio/internal/callbacks.h"
#include "futures/aio/internal/core.h"

namespace concurrent::aio::internal {

class Inbox {
 public:
  // Creates the eventfd; throws std::system_error if the OS refuses.
  Inbox();
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;
  ~Inbox();

  int event_fd() const noexcept { return event_fd_; }

  // Any thread. Queues `node` (taking over one reference) and rings the
  // eventfd unless a ring is already pending. Throws InvalidStateError (and
  // drops the reference) if the inbox is closed.
  void post(CallbackNode* node);

  // Loop thread. Moves the posted nodes to `out` if a ring is pending (or
  // `force`); cheap (one relaxed load) when nothing was posted.
  void drain(ReadyQueue& out, bool force = false);
  // Loop thread: the eventfd was readable; clears its counter.
  void clear_event_fd() noexcept;

  // Loop thread. Refuses further posts and discards what was queued.
  void close() noexcept;

 private:
  const int event_fd_;
  std::atomic<bool> pending_{false};
  absl::Mutex mu_;
  ReadyQueue queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace concurrent::aio::internal

#endif  // CONCURRENT_FUTURES_AIO_INTERNAL_INBOX_H_
