// Copyright 2026 The concurrent Authors.
//
// Notes about the implementation
// ------------------------------
// The state of a future is one 32-bit word: a status (pending, running,
// finished, cancelled) and flags (kWaiters, kListeners, kTaken,
// kListenersRun, kFirstListener). All
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
// completion in between makes the call return at once).
//
// Listeners. The first one goes into a slot in the state: its adder claims
// the slot with a CAS that sets kFirstListener on a word that is not terminal
// and has the flag clear, then stores the listener there (a Listener pointer,
// or a done callback's callable itself when it is small and moves without
// throwing: no allocation) and publishes it with a release store of
// slot_ops_. That is one locked instruction for the adder. The others are
// appended to an intrusive list under the state's lock (a one-byte spin lock:
// see spin_lock.h) after a CAS that sets kListeners on a word that is not
// terminal; so are the listeners of wait() and as_completed(), which
// remove_listener() must be able to take back (the slot is never given
// back). On a terminal word a listener runs at once, and no flag is set.
//
// The completer moves the word to a terminal status with a CAS that also
// clears kWaiters; if the word it replaced had kWaiters, it wakes all
// sleepers (one futex call). If it had kFirstListener or kListeners, it takes
// a reference (a listener may drop the last outside one), runs the slot's
// listener (after an acquire load of slot_ops_; if the claimer has not
// published yet, it spins and yields until it has: the claimer only moves a
// callable that cannot throw, or stores a pointer, in between), then takes
// the lock, detaches the list and runs those listeners in the order they were
// added, outside the lock, and then sets kListenersRun. The slot always
// precedes the list: a listener goes on the list only once the slot is
// claimed (wait()'s and as_completed()'s aside). Because the flag updates and
// the CAS act on the same word, either the completer sees the flag, or the
// waiter (listener) sees the terminal status: no wake-up is lost and every
// listener runs exactly once. Thread sanitizers see the happens-before edge
// through the atomic word; the futex only sleeps.
//
// A done callback receives a `const Future<T>&` that borrows the reference
// of the thread running it (the completer's, above, or the adder's handle
// when the future was done already) instead of taking its own: the callback
// cannot reassign that handle, and a copy it keeps takes its own reference.
//
// Moving the value out (mark_taken) waits for kListenersRun, because the
// listeners may read the value; it sets kWaiters and sleeps on the word, and
// the completer wakes it when it sets kListenersRun. kListeners is never set
// on a done state, so a kListeners flag always has a completer that will set
// kListenersRun (the same holds for kFirstListener). A thread that is itself
// running the listeners (a continuation, or a callback of a future that a
// listener completed, taking the value) does not wait: the thread keeps a stack
// of the states whose listeners it runs, in frames on its own stack
// (NotifyingFrame).
//
// A thread that runs a task keeps it in a RunningScope (another stack of
// frames). A wait without a deadline on a state in this thread's stack could
// never end: it throws DeadlockError instead of parking. Before parking, a
// waiter calls the thread's BlockingObserver (futures/internal/
// blocking_observer.h), and again when it stops waiting.
//
// A waiter first spins briefly on the word (only if this process may use
// more than one CPU), because a cross-thread hand-off between running threads
// completes within a fraction of a microsecond while parking and waking cost
// several. The spin budget adapts per thread (see spin_until_done): fixed
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

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <ctime>
#include <exception>
#include <new>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "futures/errors.h"
#include "futures/internal/blocking_observer.h"
#include "futures/internal/cpu.h"
#include "futures/internal/futex.h"

namespace concurrent {
namespace internal {
namespace {

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

// The states whose listeners this thread is running, innermost first: frames
// on the thread's stack, linked through `outer`.
struct NotifyingFrame {
  const StateBase* state;
  const NotifyingFrame* outer;
};
thread_local const NotifyingFrame* t_notifying = nullptr;

bool NotifyingHere(const StateBase* state) {
  for (const NotifyingFrame* f = t_notifying; f != nullptr; f = f->outer) {
    if (f->state == state) return true;
  }
  return false;
}

// The innermost RunningScope of this thread.
thread_local const RunningScope* t_running = nullptr;

bool IsDone(const void* state) {
  return static_cast<const StateBase*>(state)->done();
}

}  // namespace

StateBase::~StateBase() {
  // A state dies with its last handle; any listener still registered (never
  // completed, e.g. a leaked promise) dies with it. The slot's claimer held
  // a reference until it had published the slot.
  const std::uint32_t w = word_.load(std::memory_order_acquire);
  if ((w & kFirstListener) != 0 && !IsTerminal(w)) {
    slot_ops_.load(std::memory_order_acquire)->drop(slot_);
  }
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
    // Terminal: every sleeper is woken below, so kWaiters is cleared.
    if (word_.compare_exchange_weak(
            w, (w & ~(kStatusMask | kWaiters)) | kCancelled,
            std::memory_order_acq_rel, std::memory_order_acquire)) {
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
    if (word_.compare_exchange_weak(
            w, (w & ~(kStatusMask | kWaiters)) | kFinished,
            std::memory_order_acq_rel, std::memory_order_relaxed)) {
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
  // Listeners run by the completing thread may still be reading the value (a
  // waiter is woken before they run): wait until they have run, unless this
  // thread is running them (a continuation or callback of this future, or of
  // a future that one of them completed, takes the value). kListeners and
  // kFirstListener are only ever set on a state that was not done, so the
  // completing thread saw them and will set kListenersRun.
  std::uint32_t w = word();
  if ((w & (kListeners | kFirstListener)) != 0 && (w & kListenersRun) == 0 &&
      !NotifyingHere(this)) {
    w = word_.fetch_or(kWaiters, std::memory_order_acq_rel) | kWaiters;
    while ((w & kListenersRun) == 0) {
      FutexWait(word_, w);
      w = word();
    }
  }
  w = word_.fetch_or(kTaken, std::memory_order_acq_rel);
  if (w & kTaken) throw_invalid_state("the result was already moved out");
}

void StateBase::notify_done(std::uint32_t old_word) {
  if (old_word & kWaiters) FutexWakeAll(word_);
  if ((old_word & (kListeners | kFirstListener)) == 0) return;
  // A listener may drop the last outside reference (say, a callback that
  // deletes the object owning the Promise): keep the state alive meanwhile.
  // Done callbacks borrow this reference for their Future handle.
  ref();
  const NotifyingFrame frame{this, t_notifying};
  t_notifying = &frame;
  if (old_word & kFirstListener) run_slot();
  if (old_word & kListeners) {
    Listener* list;
    {
      SpinLockHolder lock(&mu_);
      list = head_;
      head_ = tail_ = nullptr;
      listeners_taken_ = true;
    }
    while (list != nullptr) {
      Listener* next = list->next_;
      list->on_done(*this);
      list->dispose();
      list = next;
    }
  }
  t_notifying = frame.outer;
  // A thread moving the value out waits for this (mark_taken).
  if (word_.fetch_or(kListenersRun, std::memory_order_acq_rel) & kWaiters) {
    FutexWakeAll(word_);
  }
  unref();
}

bool StateBase::spin_until_done() const {
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
  return false;
}

bool StateBase::awaits_elsewhere() const { return false; }
bool StateBase::await_elsewhere(const Deadline&) const { return false; }

bool StateBase::block_until(const Deadline& deadline) const {
  if (deadline.infinite() && RunningHere(*this)) ThrowSelfWait(*this);
  const BlockingWait wait(const_cast<StateBase&>(*this), !deadline.infinite(),
                          &IsDone);
  BlockingScope scope(wait);  // may run the task inline, release a GIL...
  std::uint32_t w = word();
  if (IsTerminal(w)) return true;
  if (awaits_elsewhere()) {
    // It declines when it cannot wait there: then spin as usual.
    if (!await_elsewhere(deadline) && spin_until_done()) return true;
    w = word();
    if (IsTerminal(w)) return true;
    if (deadline.passed()) return false;
  }
  w = word_.fetch_or(kWaiters, std::memory_order_acq_rel) | kWaiters;
  while (!IsTerminal(w)) {
    FutexWait(word_, w, deadline);
    w = word();
    if (!IsTerminal(w) && deadline.passed()) return false;
  }
  return true;
}

bool StateBase::wait_until(const Deadline& deadline) const {
  if (done()) return true;
  // A state that awaits its completion elsewhere does its own polling there
  // (block_until calls it), and spinning here would only delay that.
  if (!awaits_elsewhere() && spin_until_done()) return true;
  return block_until(deadline);
}

void StateBase::wait_for_result(absl::Duration timeout) const {
  std::uint32_t w = word();
  if (!IsTerminal(w)) {
    if (timeout <= absl::ZeroDuration()) {
      throw TimeoutError(absl::StrCat(describe(), " is not done (timeout ",
                                      absl::FormatDuration(timeout), ")"));
    }
    // Timeouts run on the monotonic clock (as Python's do), read once here.
    if (!wait_until(Deadline::After(timeout))) {
      throw TimeoutError(absl::StrCat(describe(), " not done within ",
                                      absl::FormatDuration(timeout)));
    }
    w = word();
  }
  if ((w & kStatusMask) == kCancelled) throw_cancelled();
}

namespace {

// The slot holding a Listener pointer.
Listener* SlotListener(void* slot) noexcept {
  return *std::launder(static_cast<Listener**>(slot));
}
void RunSlotListener(void* slot, StateBase& state) noexcept {
  Listener* listener = SlotListener(slot);
  listener->on_done(state);
  listener->dispose();
}
void DropSlotListener(void* slot) noexcept { SlotListener(slot)->dispose(); }
constexpr ListenerSlotOps kPointerSlotOps{&RunSlotListener, &DropSlotListener};

}  // namespace

ListenerSlotResult StateBase::claim_slot() noexcept {
  std::uint32_t w = word_.load(std::memory_order_acquire);
  for (;;) {
    if (IsTerminal(w)) return ListenerSlotResult::kDone;
    if (w & kFirstListener) return ListenerSlotResult::kTaken;
    if (word_.compare_exchange_weak(w, w | kFirstListener,
                                    std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return ListenerSlotResult::kAdded;
    }
  }
}

void StateBase::run_slot() noexcept {
  const ListenerSlotOps* ops = slot_ops_.load(std::memory_order_acquire);
  // The claimer is between its CAS and its release store (a few
  // instructions, unless it was preempted there).
  for (int i = 0; ops == nullptr; ++i) {
    if (i < 64 && MayRunOnSeveralCpus()) {
      CpuRelax();
    } else {
      sched_yield();
    }
    ops = slot_ops_.load(std::memory_order_acquire);
  }
  ops->run(slot_, *this);
}

bool StateBase::add_listener(Listener* listener) {
  switch (claim_slot()) {
    case ListenerSlotResult::kAdded:
      ::new (static_cast<void*>(slot_)) Listener*(listener);
      slot_ops_.store(&kPointerSlotOps, std::memory_order_release);
      return true;
    case ListenerSlotResult::kDone:
      listener->on_done(*this);
      listener->dispose();
      return false;
    case ListenerSlotResult::kTaken:
      break;
  }
  return add_to_list(listener);
}

bool StateBase::add_removable_listener(Listener* listener) {
  return add_to_list(listener);
}

bool StateBase::add_to_list(Listener* listener) {
  {
    SpinLockHolder lock(&mu_);
    // Set kListeners only on a state that is not done: the completer then
    // sees it and runs the list (and sets kListenersRun). On a done state
    // the listener runs here, and the flag stays clear.
    std::uint32_t w = word_.load(std::memory_order_acquire);
    while (!IsTerminal(w) && !word_.compare_exchange_weak(
                                 w, w | kListeners, std::memory_order_acq_rel,
                                 std::memory_order_acquire)) {
    }
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
  SpinLockHolder lock(&mu_);
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

RunningScope::RunningScope(const StateBase& state) noexcept
    : state_(&state), outer_(t_running) {
  t_running = this;
}

RunningScope::~RunningScope() { t_running = outer_; }

bool RunningHere(const StateBase& state) noexcept {
  for (const RunningScope* s = t_running; s != nullptr; s = s->outer_) {
    if (s->state_ == &state) return true;
  }
  return false;
}

void ThrowSelfWait(const StateBase& state) {
  throw DeadlockError(absl::StrCat(
      state.describe(),
      " is the task this thread is running: waiting for its own result "
      "without a timeout would never end"));
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
