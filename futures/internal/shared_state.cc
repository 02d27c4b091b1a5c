// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
// ------------------------------
// The state of a future is one 32-bit word: a status (pending, running,
// finished, cancelled) and flags (kWaiters, kListeners, kTaken). All
// transitions are compare-and-swap loops on that word, so exactly one of a
// racing cancel() and set_result() wins, and `done()` is a single acquire load.
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
// sets kWaiters with fetch_or and, if the status it got back is not terminal,
// sleeps on the word itself with a futex (FUTEX_WAIT on the value it saw, so a
// completion in between makes the call return at once). A listener is
// appended to an intrusive list under the state's mutex after a fetch_or of
// kListeners. The completer moves the word to a terminal status with a CAS; if
// the word it replaced had kWaiters, it wakes all sleepers (one futex call);
// if it had kListeners, it takes the mutex, detaches the list and runs the
// listeners in the order they were added, outside the lock. Because the
// fetch_or and the CAS act on the same word, either the completer sees the
// flag, or the waiter (listener) sees the terminal status: no wake-up is lost
// and every listener runs exactly once. Thread sanitizers see the
// happens-before edge through the atomic word; the futex only sleeps.
//
// A waiter first spins briefly on the word (only if this process may use
// more than one CPU), because a cross-thread hand-off between running threads
// completes within a fraction of a microsecond while parking and waking cost
// several. The spin budget adapts per thread (see prepare_to_block): fixed
// spinning won 200x on an idle machine and lost 3x to std::future when the
// CPUs were busy (benchmarks/futures_benchmark.cc, Handoff). Parking used an
// absl::CondVar at first; a futex on the word is cheaper to wake. On one CPU
// a waiter does not spin but yields once: the completer (say, a worker just
// woken by a submit) then runs and usually finishes on the fast path.
//
// remove_listener() lets wait() and as_completed() take their listeners back
// from futures that did not complete while they were waiting, so a long-lived
// future does not accumulate them. Once the completer has detached the list
// (listeners_taken_), a listener belongs to the completer.

#include "futures/internal/shared_state.h"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <ctime>
#include <exception>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "futures/errors.h"
#include "futures/internal/cpu.h"

namespace concurrent {
namespace internal {
namespace {

// Sleeps while the word equals `expected`, until woken or `deadline` (an
// absolute CLOCK_MONOTONIC reading, or null for none). Spurious returns are
// fine: callers re-check the word.
void FutexWait(const std::atomic<std::uint32_t>& word, std::uint32_t expected,
               const timespec* deadline) {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word),
          FUTEX_WAIT_BITSET_PRIVATE, expected, deadline, nullptr,
          FUTEX_BITSET_MATCH_ANY);
}

absl::Duration MonotonicNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::DurationFromTimespec(ts);
}

void FutexWakeAll(const std::atomic<std::uint32_t>& word) {
  syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word),
          FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

// Adaptive spinning, per thread. A hand-off between two running threads
// completes within tens of polls; when the CPUs are busy (the completer is
// not running), polling only steals its time. So the budget follows what the
// thread's recent waits needed: it moves towards twice the polls that
// succeeded, and halves when spinning failed, between kMinSpin and kMaxSpin.
// After the polls, a few sched_yield() calls let a completer that shares
// this CPU run before we pay for a futex sleep.
constexpr int kMinSpin = 16;
constexpr int kMaxSpin = 512;
constexpr int kYields = 4;
thread_local int t_spin_budget = 128;

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

// The state whose listeners this thread is running (innermost), if any.
thread_local const StateBase* t_notifying = nullptr;

}  // namespace

StateBase::~StateBase() {
  // A state dies with its last handle; any listener still registered (never
  // completed, e.g. a leaked promise) dies with it.
  Listener* l = head_;
  while (l != nullptr) {
    Listener* next = l->next_;
    l->dispose();
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
  // Listeners run in the completing thread may still be reading the value
  // (a waiter is woken before them): wait until they are done, unless this
  // is that thread (a then() continuation taking the value).
  std::uint32_t w = word();
  while ((w & kListeners) && !(w & kListenersRun) && t_notifying != this) {
    sched_yield();
    w = word();
  }
  w = word_.fetch_or(kTaken, std::memory_order_acq_rel);
  if (w & kTaken) throw_invalid_state("the result was already moved out");
}

void StateBase::notify_done(std::uint32_t old_word) {
  if (old_word & kWaiters) FutexWakeAll(word_);
  if ((old_word & kListeners) == 0) return;
  Listener* list;
  {
    absl::MutexLock lock(&mu_);
    list = head_;
    head_ = tail_ = nullptr;
    listeners_taken_ = true;
  }
  // A listener may drop the last outside reference (say, a callback that
  // deletes the object owning the Promise): keep the state alive meanwhile.
  ref();
  const StateBase* outer = std::exchange(t_notifying, this);
  while (list != nullptr) {
    Listener* next = list->next_;
    list->on_done(*this);
    list->dispose();
    list = next;
  }
  t_notifying = outer;
  word_.fetch_or(kListenersRun, std::memory_order_release);
  unref();
}

bool StateBase::prepare_to_block() const {
  if (done()) return true;
  if (MayRunOnSeveralCpus()) {
    const int budget = t_spin_budget;
    for (int i = 1; i <= budget; ++i) {
      CpuRelax();
      if (done()) {
        t_spin_budget =
            std::clamp(budget + (2 * i - budget) / 4, kMinSpin, kMaxSpin);
        return true;
      }
    }
    t_spin_budget = std::max(kMinSpin, budget / 2);
    for (int i = 0; i < kYields; ++i) {
      sched_yield();
      if (done()) return true;
    }
  } else {
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
  std::uint32_t w =
      word_.fetch_or(kWaiters, std::memory_order_acq_rel) | kWaiters;
  while (!IsTerminal(w)) {
    FutexWait(word_, w, nullptr);
    w = word();
  }
}

bool StateBase::wait_until(absl::Time deadline) const {
  if (done()) return true;
  if (deadline == absl::InfiniteFuture()) {
    wait();
    return true;
  }
  // Timeouts run on the monotonic clock (as Python's do): the wall-clock
  // deadline is converted once, so a clock jump does not stretch the wait.
  const absl::Duration mono_deadline =
      MonotonicNow() + (deadline - absl::Now());
  if (prepare_to_block()) return true;
  const timespec ts = absl::ToTimespec(mono_deadline);
  std::uint32_t w =
      word_.fetch_or(kWaiters, std::memory_order_acq_rel) | kWaiters;
  while (!IsTerminal(w)) {
    if (MonotonicNow() >= mono_deadline) return done();
    FutexWait(word_, w, &ts);
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
    const std::uint32_t w =
        word_.fetch_or(kListeners, std::memory_order_acq_rel);
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
  listener->dispose();
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

const std::exception_ptr& FallbackBrokenPromise() noexcept {
  static const std::exception_ptr fallback = std::make_exception_ptr(
      BrokenPromise("the producer of this future was destroyed without "
                    "completing it"));
  return fallback;
}

// Made at start-up, while memory is plentiful.
[[maybe_unused]] const std::exception_ptr& g_fallback_broken_promise =
    FallbackBrokenPromise();

void BreakPromise(StateBase& state, const char* why) noexcept {
  if (state.done()) return;
  std::exception_ptr error;
  try {
    error = std::make_exception_ptr(
        BrokenPromise(absl::StrCat(state.describe(), ": ", why)));
  } catch (...) {
    error = FallbackBrokenPromise();
  }
  try {
    state.set_exception(std::move(error));
  } catch (const InvalidStateError&) {
    // Completed or cancelled meanwhile: nothing left to break.
  }
}

CallbackExceptionHandlerFn ExchangeCallbackExceptionHandler(
    CallbackExceptionHandlerFn handler) {
  if (handler == nullptr) handler = &DefaultCallbackExceptionHandler;
  return g_callback_exception_handler.exchange(handler,
                                               std::memory_order_acq_rel);
}

}  // namespace internal
}  // namespace concurrent
