// Copyright 2026 The concurrent Authors.
//
// The shared state behind Future<T> and Promise<T>. Private: include
// "futures/future.h" or "futures/promise.h" instead.
//
// One heap object per future holds the status word, the reference count, the
// result (a T or an exception) and the listeners: a slot for the first one
// (claimed with one compare-and-swap; a small done callback is stored in it
// without an allocation) and a list, under a spin lock, for the others. See
// shared_state.cc for the protocol.

#ifndef CONCURRENT_FUTURES_INTERNAL_SHARED_STATE_H_
#define CONCURRENT_FUTURES_INTERNAL_SHARED_STATE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "futures/internal/blocking_observer.h"
#include "futures/internal/futex.h"
#include "futures/internal/spin_lock.h"

namespace concurrent {

template <typename T>
class Future;
template <typename T>
class Promise;
class AnyFuture;

namespace internal {

// The value stored for Future<void>.
struct Unit {};

template <typename T>
using Stored = std::conditional_t<std::is_void_v<T>, Unit, T>;

// Status word layout: two bits of status and five flags.
inline constexpr std::uint32_t kPending = 0;
inline constexpr std::uint32_t kRunning = 1;
inline constexpr std::uint32_t kFinished = 2;   // with a value or an exception
inline constexpr std::uint32_t kCancelled = 3;  // cancelled before it ran
inline constexpr std::uint32_t kStatusMask = 3;
// A thread sleeps on the word (futex): completing must wake it. Cleared by
// the move to a terminal status (which wakes everybody); set again by a
// thread that waits for kListenersRun.
inline constexpr std::uint32_t kWaiters = 4;
// A listener was put on the list while the state was not done: completing
// must take the list and run the listeners. Never set on a done state (a
// listener added to a done state runs at once), so kListenersRun always
// follows it.
inline constexpr std::uint32_t kListeners = 8;
// The value was moved out (`std::move(future).result()`).
inline constexpr std::uint32_t kTaken = 16;
// The completing thread has run every listener (set only if kListeners or
// kFirstListener).
inline constexpr std::uint32_t kListenersRun = 32;
// The first-listener slot was claimed while the state was not done: the
// claimer stores a listener there, and completing runs it (before the list).
// Like kListeners, never set on a done state; never cleared.
inline constexpr std::uint32_t kFirstListener = 64;

inline constexpr bool IsTerminal(std::uint32_t word) {
  return (word & kStatusMask) >= kFinished;
}

class StateBase;

// How the first-listener slot runs and destroys what it holds (a Listener
// pointer, or a small callable stored in place).
struct ListenerSlotOps {
  // Runs what `slot` holds for the done `state`, then destroys it. The caller
  // holds a reference to `state` throughout.
  void (*run)(void* slot, StateBase& state) noexcept;
  // Destroys what `slot` holds without running it (the state died pending).
  void (*drop)(void* slot) noexcept;
};

// Room for a callable in the first-listener slot: two pointers (a lambda
// that captures a pointer or two, or a shared_ptr).
inline constexpr std::size_t kListenerSlotSize = 2 * sizeof(void*);

// Whether a callable of type Fn can be stored in the first-listener slot:
// small, no stricter alignment than a pointer, and moved without throwing
// (it is moved in between the claim and the publication of the slot, while
// a completer may be waiting for it).
template <typename Fn>
inline constexpr bool kFitsListenerSlot =
    sizeof(Fn) <= kListenerSlotSize &&
    alignof(Fn) <= alignof(void*) && std::is_nothrow_move_constructible_v<Fn>;

// What StateBase::add_to_slot() did.
enum class ListenerSlotResult {
  kAdded,  // the callable is in the slot; the completer will run it
  kDone,   // the state is done: the caller runs the callable (left intact)
  kTaken,  // another listener has the slot (callable left intact)
};

// Something to run once when a state is done: a done callback, or the hub of a
// wait()/as_completed() call. Owned by the state while registered; the state
// runs it outside its lock and then deletes it.
class Listener {
 public:
  Listener() = default;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  virtual ~Listener() = default;

  // Called exactly once, in the thread that completed (or cancelled) the
  // state, or at registration if the state was already done. Must not throw.
  virtual void on_done(StateBase& state) noexcept = 0;

  // Called by the state when it is finished with the listener: after
  // on_done(), or when the state dies with the listener still registered.
  // Deletes it by default; a listener that is itself reference-counted (a
  // then() continuation) drops its reference instead.
  virtual void dispose() noexcept { delete this; }

 private:
  friend class StateBase;
  Listener* next_ = nullptr;
  Listener* prev_ = nullptr;
};

// Type-independent part of the shared state.
class StateBase {
 public:
  StateBase(const StateBase&) = delete;
  StateBase& operator=(const StateBase&) = delete;

  // Reference counting: every Future, AnyFuture and Promise handle owns one.
  void ref() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void unref() const noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  std::uint32_t word() const noexcept {
    return word_.load(std::memory_order_acquire);
  }
  std::uint32_t status() const noexcept { return word() & kStatusMask; }
  bool done() const noexcept { return IsTerminal(word()); }

  // Python's Future.cancel(): true if the state was pending and is now
  // cancelled, or was already cancelled; false if running or finished.
  bool cancel();

  // Python's Future.set_running_or_notify_cancel(). Throws InvalidStateError
  // if the state is already running or finished.
  [[nodiscard]] bool set_running_or_notify_cancel();

  // Moves a pending state to running and returns true; returns false (and
  // changes nothing) if it is not pending. Executors use it to claim a task
  // exactly once when more than one thread may try to run it.
  [[nodiscard]] bool try_set_running();

  // Stores `e` as the outcome. Throws InvalidStateError if already done.
  void set_exception(std::exception_ptr e);

  // Blocks until done or `deadline`; returns done(). Spins briefly first,
  // then tells the thread's BlockingObserver and parks. Throws DeadlockError
  // if the deadline is infinite and this thread is running the task of this
  // state (see RunningScope): the wait would never end.
  bool wait_until(const Deadline& deadline) const;
  // Waits as result()/exception() do: returns at once if done, throws
  // TimeoutError if `timeout` passes first (at once if timeout <= 0), and
  // throws CancelledError if the state was cancelled. Reads the clock once
  // before it spins.
  void wait_for_result(absl::Duration timeout) const;

  // Requires done() and not cancelled: the stored exception, or null.
  const std::exception_ptr& stored_exception() const noexcept {
    return exception_;
  }

  // Registers `listener` (taking ownership) and returns true: in the
  // first-listener slot if it is free, else on the list. If the state is
  // already done, runs and disposes of it at once, in the calling thread,
  // and returns false. A listener registered this way cannot be removed.
  bool add_listener(Listener* listener);
  // As add_listener(), but always on the list, so that remove_listener() can
  // take it back (wait() and as_completed() do).
  bool add_removable_listener(Listener* listener);
  // Unregisters `listener`, which add_removable_listener() registered
  // (returned true). Returns true if it was still registered: the caller owns
  // it again. Returns false if the state has handed it to the completing
  // thread, which runs and disposes of it: the caller must not touch it.
  bool remove_listener(Listener* listener);

  // Moves `fn` (a kFitsListenerSlot callable) into the first-listener slot,
  // without an allocation, if the slot is free and the state not done: the
  // completing thread then calls ops.run(slot, state) once, or ops.drop(slot)
  // runs if the state dies pending. See ListenerSlotResult for the other
  // outcomes.
  template <typename Fn>
  ListenerSlotResult add_to_slot(Fn& fn, const ListenerSlotOps& ops) noexcept {
    static_assert(kFitsListenerSlot<Fn>);
    const ListenerSlotResult result = claim_slot();
    if (result == ListenerSlotResult::kAdded) {
      ::new (static_cast<void*>(slot_)) Fn(std::move(fn));
      slot_ops_.store(&ops, std::memory_order_release);
    }
    return result;
  }

  // "future@0x...": how error messages name this future.
  std::string describe() const;

  [[noreturn]] void throw_cancelled() const;
  [[noreturn]] void throw_invalid_state(std::string_view what) const;

 protected:
  StateBase() = default;
  virtual ~StateBase();

  // Throws InvalidStateError if the state can no longer be completed.
  void check_can_complete() const;
  // Moves a pending or running state to finished and wakes everybody. Returns
  // false (changing nothing) if it was done meanwhile (cancelled).
  bool try_finish();
  // Sets the kTaken flag, after the completing thread has run the listeners
  // (which may read the value) unless this thread is running them; throws
  // InvalidStateError if it was already set.
  void mark_taken();
  // Clears kTaken again (the move out of the value threw).
  void unmark_taken() noexcept {
    word_.fetch_and(~kTaken, std::memory_order_acq_rel);
  }

  // A state whose completion comes from elsewhere may have its waiters wait
  // for it there (say, poll a ring in shared memory and complete the state
  // themselves): if awaits_elsewhere(), a thread about to wait skips its
  // own spinning and calls await_elsewhere() inside the blocking scope (a
  // GIL is released), which waits there for a while, never past
  // `deadline`, and returns true; or returns false at once if it cannot
  // (the thread then spins as usual). Either way the thread then re-checks
  // the state and the deadline, and parks if it must. The defaults: false.
  virtual bool awaits_elsewhere() const;
  virtual bool await_elsewhere(const Deadline& deadline) const;

  std::exception_ptr exception_;

 private:
  // Wakes the waiters and runs the listeners after a move to a terminal
  // status; `old_word` is the word before the move.
  void notify_done(std::uint32_t old_word);
  // Sets kFirstListener on a word that is not done and has it clear, and
  // returns kAdded: the caller must then fill the slot and publish its ops
  // (slot_ops_, release). Otherwise returns kDone or kTaken.
  ListenerSlotResult claim_slot() noexcept;
  // Runs the listener of the slot (kFirstListener was set when the state
  // completed), waiting for its claimer to publish it if need be.
  void run_slot() noexcept;
  // Appends `listener` to the list, or runs it at once if the state is done.
  bool add_to_list(Listener* listener);
  // Spins (adaptively), then yields a few times. Returns done().
  bool spin_until_done() const;
  // Parks until done or `deadline`; returns done(). Requires: spun already.
  bool block_until(const Deadline& deadline) const;

  mutable std::atomic<std::uint32_t> word_{kPending};
  mutable std::atomic<std::uint32_t> refs_{1};
  mutable SpinLock mu_;  // guards the listener list only
  bool listeners_taken_ ABSL_GUARDED_BY(mu_) = false;
  Listener* head_ ABSL_GUARDED_BY(mu_) = nullptr;
  Listener* tail_ ABSL_GUARDED_BY(mu_) = nullptr;
  // The first-listener slot: written by the thread that claimed it
  // (kFirstListener), then published by the release store of slot_ops_; read
  // by the completing thread (or the destructor) after an acquire load.
  std::atomic<const ListenerSlotOps*> slot_ops_{nullptr};
  alignas(void*) unsigned char slot_[kListenerSlotSize];
};

// The typed state: StateBase plus storage for the value.
template <typename T>
class SharedState : public StateBase {
 public:
  SharedState() = default;

  // Constructs the value and finishes. Throws InvalidStateError if already
  // done; if constructing the value throws, nothing changes.
  template <typename... Args>
  void set_value(Args&&... args) {
    check_can_complete();
    ::new (static_cast<void*>(&storage_.value))
        Stored<T>(std::forward<Args>(args)...);
    if (!try_finish()) {
      storage_.value.~Stored<T>();
      throw_invalid_state("cannot set the result of a done future");
    }
  }

  // Requires finished without exception.
  const Stored<T>& value() const noexcept { return storage_.value; }
  Stored<T>& mutable_value() noexcept { return storage_.value; }

  // Requires finished without exception: moves the value out (once).
  Stored<T> take_value() {
    mark_taken();
    try {
      return std::move(storage_.value);
    } catch (...) {
      unmark_taken();  // the value is intact: let someone else have it
      throw;
    }
  }
  void check_not_taken() const {
    if (word() & kTaken) {
      throw_invalid_state("the result was already moved out");
    }
  }

 protected:
  ~SharedState() override {
    const std::uint32_t w = word();
    if ((w & kStatusMask) == kFinished && exception_ == nullptr) {
      storage_.value.~Stored<T>();
    }
  }

 private:
  union Storage {
    Storage() {}
    ~Storage() {}
    Stored<T> value;
  } storage_;
};

// Marks, for its lifetime, the calling thread as the one running the task of
// `state` (executors wrap each task's run in one). A wait without a deadline
// on such a state from the same thread could never end: it throws
// DeadlockError instead. Scopes nest (a task run inline by a waiting task).
class RunningScope {
 public:
  explicit RunningScope(const StateBase& state) noexcept;
  ~RunningScope();
  RunningScope(const RunningScope&) = delete;
  RunningScope& operator=(const RunningScope&) = delete;

 private:
  friend bool RunningHere(const StateBase& state) noexcept;
  const StateBase* const state_;
  const RunningScope* const outer_;
};

// Whether the calling thread is running the task of `state` (in a
// RunningScope).
bool RunningHere(const StateBase& state) noexcept;

// The DeadlockError of a thread waiting without a deadline on `state`, the
// task it is itself running.
[[noreturn]] void ThrowSelfWait(const StateBase& state);

// A BrokenPromise made at start-up, for when making one fails (bad_alloc):
// a future must never stay pending because its producer is gone.
const std::exception_ptr& FallbackBrokenPromise() noexcept;

// Completes `state` with a BrokenPromise saying `why`, unless it is done.
// Never throws and never leaves `state` pending.
void BreakPromise(StateBase& state, const char* why) noexcept;

// Throws InvalidStateError for a method called on an invalid handle.
[[noreturn]] void ThrowInvalidHandle();

// An owning reference to a state (`S` is StateBase or SharedState<T>): the
// reference-counting core of Future<T> and AnyFuture. Null when the handle is
// invalid (default-constructed or moved-from).
template <typename S>
class StateRef {
 public:
  StateRef() noexcept = default;
  // Adopts one reference of `state`.
  explicit StateRef(S* state) noexcept : state_(state) {}
  StateRef(const StateRef& other) noexcept : state_(other.state_) {
    if (state_ != nullptr) state_->ref();
  }
  // From a reference to a derived state (SharedState<T> to StateBase).
  template <typename D>
  requires std::is_convertible_v<D*, S*> StateRef(const StateRef<D>& other)
  noexcept  // NOLINT: as pointers convert.
      : state_(other.get()) {
    if (state_ != nullptr) state_->ref();
  }
  StateRef(StateRef&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)) {}
  StateRef& operator=(StateRef other) noexcept {
    swap(other);
    return *this;
  }
  ~StateRef() {
    if (state_ != nullptr) state_->unref();
  }
  void swap(StateRef& other) noexcept { std::swap(state_, other.state_); }

  S* get() const noexcept { return state_; }
  // Gives up the reference without dropping it: returns the state and leaves
  // this null.
  S* release() noexcept { return std::exchange(state_, nullptr); }
  // The state; throws InvalidStateError for a null reference.
  S& checked() const {
    if (state_ == nullptr) ThrowInvalidHandle();
    return *state_;
  }

 private:
  S* state_ = nullptr;
};

// See concurrent::set_callback_exception_handler() in futures/future.h.
using CallbackExceptionHandlerFn = void (*)(std::exception_ptr exception,
                                            std::string_view future);
CallbackExceptionHandlerFn ExchangeCallbackExceptionHandler(
    CallbackExceptionHandlerFn handler);

// Reports an exception thrown by a done callback to the installed handler.
void report_callback_exception(std::exception_ptr e,
                               const StateBase& state) noexcept;

// Builds handles from states; used by Future, Promise and executors.
struct FutureAccess {
  // Adopts one reference of `state`.
  template <typename T>
  static Future<T> adopt(SharedState<T>* state) noexcept {
    return Future<T>(state);
  }
  // Takes a new reference to `state`.
  template <typename T>
  static Future<T> share(SharedState<T>* state) noexcept {
    state->ref();
    return Future<T>(state);
  }
  template <typename T>
  static SharedState<T>* state(const Future<T>& f) noexcept {
    return f.state_.get();
  }
  template <typename T>
  static SharedState<T>* state(const Promise<T>& p) noexcept {
    return p.state_;
  }
  static StateBase* state(const AnyFuture& f) noexcept;  // in future.h
  // Takes a new reference to `state`.
  static AnyFuture share_any(StateBase* state) noexcept;  // in future.h
  // A handle (Future<T> or AnyFuture) on `state` that borrows a reference
  // the caller holds; give it back with forget() before the caller drops it.
  template <typename H>
  static H borrow(StateBase& state) noexcept;  // in future.h
  // Leaves a borrowed handle null without dropping its reference.
  template <typename H>
  static void forget(H& handle) noexcept {
    handle.state_.release();
  }
  // Adopts one reference of `state` (as a Promise owns it).
  template <typename T>
  static Promise<T> make_promise(SharedState<T>* state) noexcept {
    return Promise<T>(state);
  }
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_FUTURES_INTERNAL_SHARED_STATE_H_
