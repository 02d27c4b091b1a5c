// Copyright 2026 The concurrent Authors.
//
// The futures' blocking hook. Private to the library: the executors and the
// GIL use it, user code does not.
//
// A thread may install a BlockingObserver, which every wait on futures
// (result(), exception(), wait(), as_completed(), and so waiting on a
// when_all()/when_any() future) calls when it is about to block, and again
// when it stops blocking:
//   * the thread pool's workers install one that runs a queued task of their
//     own pool inline when a worker waits on it (executors/), and
//     ManualExecutor::DriveOnWait one that turns the crank;
//   * hold_gil() installs one that releases the GIL while the task is blocked
//     and takes it back afterwards, as CPython's Future.result() does (gil/).
// This target depends on nothing, so the GIL can use it without the futures
// depending on the GIL.
//
// Observers nest: ScopedBlockingObserver remembers the observer it replaced,
// and an observer may pass each call on to it (see previous()).

#ifndef CONCURRENT_FUTURES_INTERNAL_BLOCKING_OBSERVER_H_
#define CONCURRENT_FUTURES_INTERNAL_BLOCKING_OBSERVER_H_

namespace concurrent {
namespace internal {

class StateBase;

// A wait that is about to block, as an observer sees it.
class BlockingWait {
 public:
  // A wait on one future (result(), exception()).
  BlockingWait(StateBase& awaited, bool timed, bool (*satisfied)(const void*))
      : awaited_(&awaited),
        timed_(timed),
        satisfied_(satisfied),
        context_(&awaited) {}
  // A wait on several futures (wait(), as_completed()): `satisfied(context)`
  // says whether it could return now.
  BlockingWait(bool timed, bool (*satisfied)(const void*), const void* context)
      : timed_(timed), satisfied_(satisfied), context_(context) {}

  // The awaited future's state when the wait is on one future; null for a
  // wait on several.
  StateBase* awaited() const noexcept { return awaited_; }
  // Whether the wait has a deadline.
  bool timed() const noexcept { return timed_; }
  // Whether the wait could return now (the future is done; for several, the
  // wait's condition holds).
  bool satisfied() const { return satisfied_(context_); }

 private:
  StateBase* awaited_ = nullptr;
  bool timed_;
  bool (*satisfied_)(const void*);
  const void* context_;
};

class BlockingObserver {
 public:
  // The calling thread is about to block in `wait` (it spun, and the wait is
  // not satisfied). May run code, say, the awaited task; may throw: the
  // exception propagates out of the wait, and after_blocking() is not called.
  // If it returns, the thread blocks unless the wait is satisfied by then,
  // and after_blocking() follows, once, when the wait ends.
  virtual void before_blocking(const BlockingWait& wait) = 0;
  // The wait that before_blocking() announced has ended (satisfied, timed
  // out, or left by an exception). Called on the same thread, before the
  // wait returns; calls nest like the waits.
  virtual void after_blocking(const BlockingWait& wait) noexcept = 0;

 protected:
  ~BlockingObserver() = default;
};

// The calling thread's observer (null by default). Set and reset it with
// ScopedBlockingObserver.
BlockingObserver* CurrentBlockingObserver() noexcept;

// Installs an observer for the calling thread for its lifetime. Thread-hostile
// (a scope belongs to its thread); scopes nest.
class ScopedBlockingObserver {
 public:
  explicit ScopedBlockingObserver(BlockingObserver* observer) noexcept;
  ~ScopedBlockingObserver();
  ScopedBlockingObserver(const ScopedBlockingObserver&) = delete;
  ScopedBlockingObserver& operator=(const ScopedBlockingObserver&) = delete;

  // The observer this scope replaced (null if none): an observer that
  // composes passes before_blocking() on to it first and after_blocking()
  // last.
  BlockingObserver* previous() const noexcept { return previous_; }

 private:
  BlockingObserver* previous_;
};

// Brackets a blocking wait: calls the thread's observer's before_blocking()
// at construction (which may throw) and after_blocking() at destruction.
class BlockingScope {
 public:
  explicit BlockingScope(const BlockingWait& wait)
      : wait_(wait), observer_(CurrentBlockingObserver()) {
    if (observer_ != nullptr) observer_->before_blocking(wait_);
  }
  ~BlockingScope() {
    if (observer_ != nullptr) observer_->after_blocking(wait_);
  }
  BlockingScope(const BlockingScope&) = delete;
  BlockingScope& operator=(const BlockingScope&) = delete;

 private:
  const BlockingWait& wait_;
  BlockingObserver* const observer_;
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_FUTURES_INTERNAL_BLOCKING_OBSERVER_H_
