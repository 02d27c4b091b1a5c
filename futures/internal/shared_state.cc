// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
// ------------------------------
// The state of a future is one 32-bit word: a status (pending, running,
// finished, cancelled) and two flags, kSlowPath and kTaken. All transitions
// are compare-and-swap loops on that word, so exactly one of a racing
// cancel() and set_result() wins, and `done()` is a single acquire load.
//
// The fast path takes no lock. A producer constructs the value in place and
// then moves the word to kFinished with one CAS (release); a reader that sees
// kFinished (acquire) sees the value. The value is written before the CAS; if
// the CAS finds the state cancelled meanwhile the producer destroys what it
// wrote and throws InvalidStateError. Readers never look at the storage of a
// state that is not kFinished, so that write races with nobody. (Two producers
// completing one promise at once is excluded by Promise's contract.)
//
// The slow path is for threads that must sleep or be called back. A waiter
// takes the state's mutex, sets kSlowPath with fetch_or and, if the status it
// got back is not terminal, sleeps on the condition variable. A listener is
// appended to the intrusive list under the mutex after the same fetch_or. The
// completer moves the word to a terminal status with a CAS; if the word it
// replaced had kSlowPath, it takes the mutex, detaches the listener list, wakes
// every waiter, releases the mutex and runs the listeners in the order they
// were added, outside the lock. Because the fetch_or and the CAS act on the
// same word, either the completer sees kSlowPath (and then takes the mutex
// after the waiter or listener is in place), or the waiter sees the terminal
// status: no wake-up is lost and every listener runs exactly once.
//
// A waiter first spins briefly on the word (only if this process may use
// more than one CPU), because a cross-thread hand-off usually completes within
// a few microseconds and parking costs tens of microseconds on a VM. On one
// CPU it yields once instead: the completer (say, a worker just woken by a
// submit) then runs and usually finishes on the fast path.
//
// remove_listener() lets wait() and as_completed() take their listeners back
// from futures that did not complete while they were waiting, so a long-lived
// future does not accumulate them. Once the completer has detached the list
// (listeners_taken_), a listener belongs to the completer.

#include "futures/internal/shared_state.h"

#include <sched.h>

#include <atomic>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "futures/errors.h"

namespace concurrent {
namespace internal {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// How many times a waiter polls the word before parking: zero when this
// process may run on one CPU only (spinning would only delay the completer).
int SpinLimit() {
  static const int limit = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1) {
      return 256;
    }
    return 0;
  }();
  return limit;
}

void DefaultCallbackExceptionHandler(std::exception_ptr e,
                                     std::string_view future) {
  std::string what = "an exception that is not a std::exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  std::fprintf(stderr, "concurrent: exception in a done callback of %.*s: %s\n",
               static_cast<int>(future.size()), future.data(), what.c_str());
}

std::atomic<CallbackExceptionHandlerFn> g_callback_exception_handler{
    &DefaultCallbackExceptionHandler};

thread_local BlockingObserver* t_blocking_observer = nullptr;

}  // namespace

StateBase::~StateBase() {
  // A state dies with its last handle; any listener still registered (never
  // completed, e.g. a leaked promise) dies with it.
  Listener* l = head_;
  while (l != nullptr) {
    Listener* next = l->next_;
    delete l;
    l = next;
  }
}

std::string StateBase::describe() const {
  return absl::StrFormat("future@%p", static_cast<const void*>(this));
}

void StateBase::throw_cancelled() const {
  throw CancelledError(absl::StrCat(describe(), " was cancelled"));
}

void StateBase::throw_invalid_state(std::string_view what) const {
  throw InvalidStateError(absl::StrCat(describe(), ": ", std::string(what)));
}

void ThrowInvalidHandle() {
  throw InvalidStateError(
      "operation on an invalid future handle (default-constructed or "
      "moved-from)");
}

bool StateBase::cancel() {
  std::uint32_t w = word_.load(std::memory_order_acquire);
  for (;;) {
    switch (w & kStatusMask) {
      case kCancelled:
        return true;
      case kRunning:
      case kFinished:
        return false;
      default:
        break;
    }
    if (word_.compare_exchange_weak(w, (w & ~kStatusMask) | kCancelled,
                                    std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      break;
    }
  }
  notify_done(w);
  return true;
}

bool StateBase::set_running_or_notify_cancel() {
  std::uint32_t w = word_.load(std::memory_order_acquire);
  for (;;) {
    switch (w & kStatusMask) {
      case kCancelled:
        return false;
      case kRunning:
        throw_invalid_state(
            "set_running_or_notify_cancel() on a running "
            "future");
      case kFinished:
        throw_invalid_state(
            "set_running_or_notify_cancel() on a finished "
            "future");
      default:
        break;
    }
    if (word_.compare_exchange_weak(w, (w & ~kStatusMask) | kRunning,
                                    std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return true;
    }
  }
}

bool StateBase::try_set_running() {
  std::uint32_t w = word_.load(std::memory_order_acquire);
  while ((w & kStatusMask) == kPending) {
    if (word_.compare_exchange_weak(w, (w & ~kStatusMask) | kRunning,
                                    std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return true;
    }
  }
  return false;
}

void StateBase::check_can_complete() const {
  const std::uint32_t w = word();
  if ((w & kStatusMask) == kFinished) {
    throw_invalid_state("the future is already finished");
  }
  if ((w & kStatusMask) == kCancelled) {
    throw_invalid_state("the future was cancelled");
  }
}

bool StateBase::try_finish() {
  std::uint32_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    if (IsTerminal(w)) return false;
    if (word_.compare_exchange_weak(w, (w & ~kStatusMask) | kFinished,
                                    std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      break;
    }
  }
  notify_done(w);
  return true;
}

void StateBase::set_exception(std::exception_ptr e) {
  if (e == nullptr) {
    throw std::invalid_argument("set_exception() needs a non-null exception");
  }
  check_can_complete();
  exception_ = std::move(e);
  if (!try_finish()) {
    exception_ = nullptr;
    throw_invalid_state("cannot set the exception of a done future");
  }
}

void StateBase::mark_taken() {
  const std::uint32_t w = word_.fetch_or(kTaken, std::memory_order_acq_rel);
  if (w & kTaken) throw_invalid_state("the result was already moved out");
}

std::uint32_t StateBase::register_slow_path() const {
  return word_.fetch_or(kSlowPath, std::memory_order_acq_rel);
}

void StateBase::notify_done(std::uint32_t old_word) {
  if ((old_word & kSlowPath) == 0) return;
  Listener* list;
  {
    absl::MutexLock lock(&mu_);
    list = head_;
    head_ = tail_ = nullptr;
    listeners_taken_ = true;
    cv_.SignalAll();
  }
  while (list != nullptr) {
    Listener* next = list->next_;
    list->on_done(*this);
    delete list;
    list = next;
  }
}

bool StateBase::prepare_to_block() const {
  if (done()) return true;
  const int spins = SpinLimit();
  for (int i = spins; i > 0; --i) {
    CpuRelax();
    if (done()) return true;
  }
  if (spins == 0) {
    // One CPU: the thread that will complete this future may be runnable
    // but waiting for this CPU. Let it run once before paying for a park.
    sched_yield();
    if (done()) return true;
  }
  if (BlockingObserver* observer = t_blocking_observer) {
    observer->before_blocking(const_cast<StateBase&>(*this));
  }
  return done();
}

void StateBase::wait() const {
  if (prepare_to_block()) return;
  absl::MutexLock lock(&mu_);
  std::uint32_t w = register_slow_path();
  while (!IsTerminal(w)) {
    cv_.Wait(&mu_);
    w = word();
  }
}

bool StateBase::wait_until(absl::Time deadline) const {
  if (done()) return true;
  if (deadline == absl::InfiniteFuture()) {
    wait();
    return true;
  }
  if (prepare_to_block()) return true;
  absl::MutexLock lock(&mu_);
  std::uint32_t w = register_slow_path();
  while (!IsTerminal(w)) {
    if (cv_.WaitWithDeadline(&mu_, deadline)) {
      return done();
    }
    w = word();
  }
  return true;
}

void StateBase::wait_for_result(absl::Duration timeout) const {
  std::uint32_t w = word();
  if (!IsTerminal(w)) {
    if (timeout <= absl::ZeroDuration()) {
      throw TimeoutError(absl::StrCat(describe(), " is not done (timeout ",
                                      absl::FormatDuration(timeout), ")"));
    }
    const absl::Time deadline = timeout == absl::InfiniteDuration()
                                    ? absl::InfiniteFuture()
                                    : absl::Now() + timeout;
    if (!wait_until(deadline)) {
      throw TimeoutError(absl::StrCat(describe(), " not done within ",
                                      absl::FormatDuration(timeout)));
    }
    w = word();
  }
  if ((w & kStatusMask) == kCancelled) throw_cancelled();
}

bool StateBase::add_listener(Listener* listener) {
  {
    absl::MutexLock lock(&mu_);
    const std::uint32_t w = register_slow_path();
    if (!IsTerminal(w)) {
      listener->prev_ = tail_;
      listener->next_ = nullptr;
      if (tail_ != nullptr) {
        tail_->next_ = listener;
      } else {
        head_ = listener;
      }
      tail_ = listener;
      return true;
    }
  }
  listener->on_done(*this);
  delete listener;
  return false;
}

bool StateBase::remove_listener(Listener* listener) {
  absl::MutexLock lock(&mu_);
  if (listeners_taken_) return false;
  if (listener->prev_ != nullptr) {
    listener->prev_->next_ = listener->next_;
  } else {
    head_ = listener->next_;
  }
  if (listener->next_ != nullptr) {
    listener->next_->prev_ = listener->prev_;
  } else {
    tail_ = listener->prev_;
  }
  listener->next_ = listener->prev_ = nullptr;
  return true;
}

void report_callback_exception(std::exception_ptr e,
                               const StateBase& state) noexcept {
  CallbackExceptionHandlerFn handler =
      g_callback_exception_handler.load(std::memory_order_acquire);
  try {
    handler(std::move(e), state.describe());
  } catch (...) {
    // A handler that throws has nobody left to report to.
  }
}

BlockingObserver* CurrentBlockingObserver() noexcept {
  return t_blocking_observer;
}

ScopedBlockingObserver::ScopedBlockingObserver(
    BlockingObserver* observer) noexcept
    : previous_(std::exchange(t_blocking_observer, observer)) {}

ScopedBlockingObserver::~ScopedBlockingObserver() {
  t_blocking_observer = previous_;
}

CallbackExceptionHandlerFn ExchangeCallbackExceptionHandler(
    CallbackExceptionHandlerFn handler) {
  if (handler == nullptr) handler = &DefaultCallbackExceptionHandler;
  return g_callback_exception_handler.exchange(handler,
                                               std::memory_order_acq_rel);
}

}  // namespace internal
}  // namespace concurrent
