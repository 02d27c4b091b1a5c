// Copyright 2026 The concurrent Authors.
//
// Watches: how the combinators (gather, wait, as_completed, shield,
// TaskGroup) hear that a future is done. Private: include the combinator's
// header instead.
//
// A watch is a done callback owned by the combinator, not by the future: it
// is registered on the future, queued on the loop when the future completes
// (asyncio's rule: callbacks go through call_soon), then runs. An owner that
// goes away first disposes of its watches: a registered one is unlinked and
// deleted; a queued one is orphaned and deletes itself when the loop runs or
// drops it. So a watch never calls into a dead owner, and an owner never
// keeps the futures it watches (or itself) alive through a cycle.

#ifndef CONCURRENT_FUTURES_AIO_INTERNAL_WATCH_H_
#define CONCURRENT_FUTURES_AIO_INTERNAL_WATCH_H_

#include <utility>
#include <vector>

#include "futures/aio/event_loop.h"
#include "futures/aio/internal/core.h"

namespace concurrent::aio::internal {

class WatchBase : public FutureCallback, public ReadyNode {
 public:
  WatchBase() = default;

  // Registers the watch on `future` (or queues it at once if it is done).
  void watch(FutureBase& future) noexcept {
    if (future.done()) {
      on_future_done(future);
    } else {
      future.add_callback(this);
    }
  }

  void on_future_done(FutureBase& future) noexcept override {
    future.ref();
    done_ = &future;
    queued_ = true;
    future.loop().schedule(this);
  }
  void run_ready() noexcept override {
    queued_ = false;
    running_ = true;  // fire() may dispose of the watch (through its owner)
    if (!orphan_) fire(*done_);
    running_ = false;
    release();
  }
  void discard_ready() noexcept override {
    queued_ = false;
    release();
  }

  // The owner is going away.
  static void Dispose(WatchBase* w) noexcept {
    w->unlink();
    if (w->queued_ || w->running_) {
      w->orphan_ = true;
    } else {
      delete w;
    }
  }

 protected:
  virtual ~WatchBase() = default;
  virtual void fire(FutureBase& future) noexcept = 0;

 private:
  void release() noexcept {
    std::exchange(done_, nullptr)->unref();
    if (orphan_) delete this;
  }

  FutureBase* done_ = nullptr;  // referenced while queued
  bool queued_ = false;
  bool running_ = false;
  bool orphan_ = false;
};

template <typename F>
class Watch final : public WatchBase {
 public:
  explicit Watch(F fn) : fn_(std::move(fn)) {}

 private:
  void fire(FutureBase& future) noexcept override { fn_(future); }
  F fn_;
};

// The watches of one owner, disposed of with it.
class WatchSet {
 public:
  WatchSet() = default;
  WatchSet(const WatchSet&) = delete;
  WatchSet& operator=(const WatchSet&) = delete;
  ~WatchSet() { clear(); }

  // Watches `future` with `fn(FutureBase&)` (noexcept).
  template <typename F>
  void add(FutureBase& future, F fn) {
    auto* w = new Watch<F>(std::move(fn));
    watches_.push_back(w);
    w->watch(future);
  }
  void clear() noexcept {
    for (WatchBase* w : watches_) WatchBase::Dispose(w);
    watches_.clear();
  }

 private:
  std::vector<WatchBase*> watches_;
};

}  // namespace concurrent::aio::internal

#endif  // CONCURRENT_FUTURES_AIO_INTERNAL_WATCH_H_
