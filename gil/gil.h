// -----------------------------------------------------------------------------
// gil.h
// -----------------------------------------------------------------------------
//
// `Gil` emulates CPython's global interpreter lock: one holder at a time, and
// the scheduling rules of CPython's "new GIL" (Python 3.2+,
// Python/ceval_gil.c), so that C++ code can reproduce what the GIL does to
// threads: CPU-bound threads take turns instead of running in parallel, and
// blocking calls made without the GIL let other threads run.
//
// Main operations:
//   * `lock()` / `unlock()` / `try_lock()`: take and drop the GIL (it meets
//     the standard Lockable requirements, so `std::scoped_lock` works).
//   * `check()` (or the free `check_gil()`): the check point, our equivalent
//     of CPython's eval breaker. CPU-bound code calls it periodically; it is a
//     single relaxed atomic load unless another thread asked for the GIL.
//   * `ReleaseGil`: an RAII scope equivalent to `Py_BEGIN_ALLOW_THREADS` /
//     `Py_END_ALLOW_THREADS`; `gil_sleep()` (like `time.sleep`) and
//     `without_gil(f)` (any blocking call) are built on it.
//   * `set_switch_interval()` / `switch_interval()`: like
//     `sys.setswitchinterval()` / `sys.getswitchinterval()` (default 5 ms).
//   * `stats()`: acquisitions, hand-offs, drop requests, forced drops, times
//     the releasing thread took the GIL straight back, wait-time and hold-time
//     histograms (hold times with `GilOptions::record_times`), each thread's
//     share.
//
// Policies (`GilOptions::policy`):
//   * `GilPolicy::kNewGil` (default): CPython 3.2+. A thread that wants the
//     GIL waits on a condition for one switch interval; if the interval passes
//     and no switch happened meanwhile, it sets a drop request. The holder
//     drops the GIL at its next check point. Any release while a drop is
//     requested (at a check point, `unlock()`, `ReleaseGil`) then waits until
//     another thread has actually taken the GIL (forced switching, as
//     CPython's drop_gil()), so the releasing thread cannot take it straight
//     back. A free GIL goes to whoever gets there first: there is no queue.
//   * `GilPolicy::kOldGil`: CPython before 3.2. The holder releases and
//     re-acquires the GIL every `check_interval` check points whether or not
//     anyone waits; waiters block without a timeout; no drop requests, no
//     forced switching. On a multicore machine the releasing thread usually
//     wins the race to re-acquire (David Beazley's "GIL thrashing").
//   * `GilPolicy::kFair`: a FIFO hand-off that fixes the convoy effect of
//     bpo-7946. Waiters queue; a release hands the GIL to the oldest waiter
//     (and wakes that one only); nobody can barge in. A waiter that released
//     the GIL voluntarily last time (it made a blocking call: I/O-bound) asks
//     the holder to drop it at once instead of after a switch interval; other
//     waiters ask after one interval, as with `kNewGil`.
//
// Example:
//
//   concurrent::Gil gil({.switch_interval = absl::Milliseconds(5)});
//   auto cpu_bound = [&] {
//     std::scoped_lock hold(gil);
//     for (int i = 0; i < 100'000'000; ++i) {
//       Work(i);
//       gil.check();  // lets a waiting thread in after its switch interval
//     }
//   };
//   auto io_bound = [&] {
//     std::scoped_lock hold(gil);
//     Prepare();
//     concurrent::gil_sleep(absl::Milliseconds(1));  // runs without the GIL
//     std::string data = concurrent::without_gil([&] { return Read(fd); });
//   };
//
// An executor runs tasks "as Python threads" by holding the GIL around each
// task: `ThreadPoolExecutor({.around_task = concurrent::hold_gil(gil)})`. The
// task calls `check_gil()` in its loops and wraps blocking calls in
// `ReleaseGil`, `gil_sleep()` or `without_gil()` (all find the GIL through the
// thread's current GIL, so the task need not know it).
//
// Thread-safety: `Gil` is thread-safe: every method may be called from any
// thread. `check()`, `unlock()` and a `ReleaseGil` on a given GIL require the
// calling thread to hold it.
//
// Memory ordering: as a mutex. Everything a thread did while holding the GIL
// happens before everything the next holder does after acquiring it.
//
// Errors (exceptions, as in Python):
//   * `std::invalid_argument`: a switch interval that is not a positive finite
//     duration, a `check_interval` below 1, a negative or infinite
//     `gil_sleep()`.
//   * `GilError` (a `std::logic_error`): `unlock()`, `check()` (when it has
//     to act) or a `ReleaseGil` by a thread that does not hold the GIL;
//     `lock()`/`try_lock()` by the thread that already holds it (CPython
//     would deadlock). The GIL is left unchanged.
//
// Lifetime: a `Gil` must outlive every thread's use of it; destroying it while
// a thread holds it or waits for it is undefined behaviour.

#ifndef CONCURRENT_GIL_GIL_H_
#define CONCURRENT_GIL_GIL_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "futures/internal/blocking_observer.h"

namespace concurrent {

// The scheduling rules a `Gil` follows (see the top of this file).
enum class GilPolicy {
  kNewGil,  // CPython 3.2+: timed wait, drop request, forced switching.
  kOldGil,  // CPython < 3.2: release every `check_interval` check points.
  kFair,    // FIFO hand-off; I/O-bound waiters request a drop at once.
};

// Returns "new", "old" or "fair".
const char* gil_policy_name(GilPolicy policy);

// Raised when the GIL is used by the wrong thread (see "Errors" above).
class GilError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// The time source and timed wait a `Gil` uses. The default is the real clock;
// tests inject a fake one (`//gil:fake_gil_clock`) to drive the state machine
// deterministically.
//
// Thread-safety: implementations must be thread-safe.
class GilClock {
 public:
  virtual ~GilClock() = default;

  // The current time (used for the switch-interval waits' bookkeeping and the
  // wait/hold-time statistics).
  virtual absl::Time now() = 0;

  // Requires: `mu` is held. Waits on `cv` (releasing `mu` while waiting, as
  // `absl::CondVar::WaitWithTimeout` does) until it is signalled or `timeout`
  // passes. Returns true if the timeout passed. May return false spuriously.
  virtual bool wait_with_timeout(absl::CondVar& cv, absl::Mutex& mu,
                                 absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;

  // Requires: `mu` is held. Waits on `cv` without a timeout (may return
  // spuriously).
  virtual void wait(absl::CondVar& cv, absl::Mutex& mu)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) = 0;

  // The process-wide real clock (absl::Now, absl::CondVar's own timed wait).
  static GilClock& real();
};

// Construction options; use designated initialisers:
//   concurrent::Gil gil({.policy = concurrent::GilPolicy::kFair});
struct GilOptions {
  GilPolicy policy = GilPolicy::kNewGil;
  // sys.setswitchinterval(): how long a waiter waits before it sets a drop
  // request (kNewGil, kFair). Must be a positive finite duration; kept in
  // whole microseconds, at least 1 us (see Gil::set_switch_interval()).
  absl::Duration switch_interval = absl::Milliseconds(5);
  // kOldGil only: the holder releases the GIL every `check_interval` check
  // points (Python 2's sys.setcheckinterval(), default 100). Must be >= 1.
  int check_interval = 100;
  // Record wait and hold times (histograms and per-thread hold time). Off by
  // default: it reads the clock twice per acquisition (~25 ns each here), which
  // is several times the cost of an uncontended lock + unlock. Contended waits
  // are timed either way.
  bool record_times = false;
  // nullptr: GilClock::real(). Otherwise must outlive the Gil.
  GilClock* clock = nullptr;
};

// A log2 histogram of durations: bucket 0 counts zero durations, bucket b >= 1
// counts durations in [2^(b-1), 2^b) nanoseconds.
struct GilHistogram {
  static constexpr int kBuckets = 48;
  std::array<uint64_t, kBuckets> buckets{};
  uint64_t count = 0;
  absl::Duration total = absl::ZeroDuration();
  absl::Duration max = absl::ZeroDuration();

  // The mean, or zero if empty.
  absl::Duration mean() const;
  // An upper bound of the `q`-quantile (0 <= q <= 1): the top of the bucket
  // holding it, capped at `max`. Zero if empty. Throws std::invalid_argument
  // if q is outside [0, 1].
  absl::Duration quantile(double q) const;
};

// One thread's use of a GIL.
struct GilThreadStats {
  std::thread::id thread;
  uint64_t acquisitions = 0;
  absl::Duration held = absl::ZeroDuration();  // only with record_times
  // This thread's share of the total hold time (with record_times), else of
  // the acquisitions. 0..1.
  double share = 0;
};

// A snapshot of a GIL's counters. Counters are updated with relaxed atomics:
// a snapshot taken while threads run is approximate (each counter is exact
// once the threads are quiescent).
struct GilStats {
  uint64_t acquisitions = 0;            // lock() and successful try_lock()
  uint64_t contended_acquisitions = 0;  // acquisitions that had to wait
  uint64_t switches = 0;  // hand-offs: taken by a thread other than the last
                          // holder (CPython's switch_number)
  uint64_t drop_requests = 0;  // waiters that asked the holder to drop
  uint64_t forced_drops = 0;   // drops at a check point on request
  // Releases that found a drop requested and waited for the switch (kNewGil;
  // at a check point or any other release).
  uint64_t forced_switch_waits = 0;
  uint64_t interval_releases = 0;  // kOldGil: releases every N check points
  // A thread released the GIL while others waited for it, and then took it
  // again itself before any of them.
  uint64_t releaser_reacquired = 0;
  uint64_t try_lock_failures = 0;
  GilHistogram wait_time;  // per acquisition (zero when uncontended)
  GilHistogram hold_time;  // per acquisition; only with record_times
  std::vector<GilThreadStats> threads;  // in order of first acquisition
};

namespace internal {
struct GilThreadSlot;
struct GilThreadState;
}  // namespace internal

class ABSL_LOCKABLE Gil {
 public:
  // Throws std::invalid_argument if the options are invalid.
  explicit Gil(GilOptions options = {});
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;
  ~Gil();

  // Takes the GIL, waiting as the policy says. Throws GilError if the calling
  // thread already holds it.
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION();

  // Requires: the calling thread holds the GIL (else throws GilError).
  // Releases it; a waiting thread may take it. kNewGil: if a drop is
  // requested, returns only once another thread has taken the GIL (forced
  // switching; CPython's drop_gil() does the same for every release).
  void unlock() ABSL_UNLOCK_FUNCTION();

  // Takes the GIL if it is free (kFair: free and nobody queued) and returns
  // true; otherwise returns false at once. Throws GilError if the calling
  // thread already holds it.
  bool try_lock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true);

  // The check point ("eval breaker"). Requires: the calling thread holds the
  // GIL. When no drop is requested (kNewGil, kFair) this is one relaxed atomic
  // load. Otherwise it drops the GIL as the policy says (kNewGil: and waits
  // until another thread has taken it) and takes it back before returning (so
  // other threads have run meanwhile). Throws GilError if it has to act and
  // the calling thread does not hold the GIL.
  void check() {
    if (ABSL_PREDICT_FALSE((state_.load(std::memory_order_relaxed) &
                            (kDropRequest | kTickMode)) != 0)) {
      check_slow();
    }
  }

  // True if the calling thread holds this GIL.
  bool held_by_current_thread() const;

  // True if some thread holds the GIL (a snapshot).
  bool locked() const {
    return (state_.load(std::memory_order_relaxed) & kLockedBit) != 0;
  }

  // True if a drop request is pending (a snapshot).
  bool drop_requested() const {
    return (state_.load(std::memory_order_relaxed) & kDropRequest) != 0;
  }

  // sys.setswitchinterval(): takes effect at the next wait. Throws
  // std::invalid_argument unless `interval` is positive and finite. As in
  // CPython, the interval is kept in whole microseconds (rounded down) and is
  // at least 1 us: shorter intervals wait 1 us.
  void set_switch_interval(absl::Duration interval);
  // sys.getswitchinterval(): the interval in effect (a whole number of
  // microseconds, at least 1 us). Unlike CPython, which reads back 0.0 after
  // sys.setswitchinterval(1e-7) although it waits 1 us, this returns 1 us: a
  // value set_switch_interval() accepts.
  absl::Duration switch_interval() const {
    return absl::Microseconds(interval_us_.load(std::memory_order_relaxed));
  }

  GilPolicy policy() const { return policy_; }

  // A snapshot of the statistics (see GilStats).
  GilStats stats() const;

 private:
  friend class ReleaseGil;

  // state_, the word the whole protocol turns on (gil.cc's notes): taking the
  // GIL, booking the switch and answering a drop request are single atomic
  // steps on it, as CPython makes them one step under its GIL mutex.
  //   bit 0        locked
  //   bit 1        a drop is requested (CPython's gil_drop_request)
  //   bit 2        kOldGil: every check() goes out of line to count ticks
  //   bits 3..15   threads in the forced-switch wait
  //   bits 16..39  threads waiting in lock()
  //   bits 40..63  the switch number modulo 2^24 (CPython's switch_number)
  static constexpr uint64_t kLockedBit = 1;
  static constexpr uint64_t kDropRequest = 2;
  static constexpr uint64_t kTickMode = 4;
  static constexpr uint64_t kSwitchWaiterUnit = uint64_t{1} << 3;
  static constexpr uint64_t kSwitchWaiterMask = 0xfff8;
  static constexpr uint64_t kWaiterUnit = uint64_t{1} << 16;
  static constexpr uint64_t kWaiterMask = ((uint64_t{1} << 24) - 1) << 16;
  static constexpr uint64_t kSwitchUnit = uint64_t{1} << 40;
  static constexpr uint64_t kSwitchMask = ~uint64_t{0} << 40;

  struct Waiter;
  struct Counters;

  void check_slow();
  // Releases; `voluntary` is false when the release is a drop (on request or
  // at an old-GIL interval).
  void release(internal::GilThreadState& ts, bool voluntary);
  bool try_take(internal::GilThreadState& ts);
  void acquire_slow(internal::GilThreadState& ts);
  // kFair: queues and waits until a releasing thread hands the GIL over.
  void wait_in_queue(internal::GilThreadState& ts)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void release_slow();
  void record_hold(internal::GilThreadSlot* slot);
  [[noreturn]] void throw_not_held(const char* what) const;
  // Bookkeeping of a new holder.
  void on_acquired(internal::GilThreadState& ts);
  // A new holder that took the GIL from another thread (a kFair hand-off is
  // booked by the releasing thread): last_holder_, the statistics, and a
  // wake-up for the forced-switch waiters if `before` (the state before its
  // swap) shows any.
  void note_switch(internal::GilThreadState& ts, uint64_t before);
  void unlink_from_current_chain();
  void wake_switch_waiters();
  // FORCE_SWITCHING: after a release that found a drop request pending
  // (`released` is the state just before it), waits until another thread has
  // taken the GIL.
  void forced_switch_wait(uint64_t released) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void hand_off_or_free() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sets the drop request if the GIL is still held with the switch number of
  // `seen` (no switch since), in one atomic step.
  void request_drop(uint64_t seen);
  internal::GilThreadSlot* slot_for(internal::GilThreadState& ts);
  internal::GilThreadSlot* new_slot(internal::GilThreadState& ts);

  const GilPolicy policy_;
  const int check_interval_;
  const bool record_times_;
  GilClock& clock_;
  const uint64_t id_;  // unique per Gil object, for thread-local caches

  // What makes the GIL busy for a thread that arrives: locked, and for kFair
  // also anyone queued (no barging).
  const uint64_t busy_mask_;

  std::atomic<uint64_t> state_{0};
  // Token of the thread holding the GIL, nullptr when free.
  std::atomic<const void*> holder_{nullptr};
  // Token of the last thread that took the GIL (CPython's last_holder).
  // Written by a new holder that switched (or, kFair, by the thread handing
  // the GIL over) before the GIL can be released again; read by a thread
  // about to take it, after it saw the GIL free.
  std::atomic<const void*> last_holder_{nullptr};
  std::atomic<int64_t> interval_us_;  // whole microseconds, >= 1
  // Guarded by the GIL itself (only the holder touches them).
  int ticks_ = 0;
  absl::Time acquired_at_;
  internal::GilThreadSlot* holder_slot_ = nullptr;
  // The holder's previous current_gil() (restored when it releases this one).
  Gil* below_ = nullptr;

  mutable absl::Mutex mu_;
  absl::CondVar gil_cv_;     // lock() waiters (kNewGil, kOldGil)
  absl::CondVar switch_cv_;  // forced switching: droppers wait for a switch
  std::deque<Waiter*> queue_ ABSL_GUARDED_BY(mu_);  // kFair only

  Counters* counters_;  // owned
};

// Py_BEGIN_ALLOW_THREADS / Py_END_ALLOW_THREADS: releases a GIL for the
// lifetime of the scope (as `unlock()` does: with kNewGil and a drop
// requested, the constructor returns once another thread has taken it) and
// takes it back (as `lock()` does, so the thread may wait) when the scope
// ends.
//
//   {
//     concurrent::ReleaseGil allow_threads(gil);
//     n = ::read(fd, buf, size);  // other threads may hold the GIL meanwhile
//   }
//
// Thread-hostile: a scope belongs to the thread that created it.
//
// Not annotated for clang's thread-safety analysis: clang 14 (Debian 12's)
// cannot express a scope that releases a capability and takes it back; with
// ABSL_SCOPED_LOCKABLE it reports the code after the scope as unguarded.
class ReleaseGil {
 public:
  // Requires: the calling thread holds `gil` (else throws GilError).
  explicit ReleaseGil(Gil& gil);
  // Releases the calling thread's current GIL (see current_gil()); does
  // nothing if there is none, so code can be written
  // once for threads with and without a GIL.
  ReleaseGil();
  ReleaseGil(const ReleaseGil&) = delete;
  ReleaseGil& operator=(const ReleaseGil&) = delete;
  // Takes the GIL back (if the constructor released one).
  ~ReleaseGil();

  // The GIL this scope released, or nullptr.
  Gil* gil() const { return gil_; }

 private:
  Gil* gil_;
};

namespace internal {
// The top of the calling thread's chain of held GILs (see current_gil()):
// set by Gil on acquisition; on release, the GIL is unlinked from the chain
// (each Gil's holder keeps the link below it).
inline thread_local Gil* current_gil_tls = nullptr;
}  // namespace internal

// The calling thread's current GIL: of the GILs it holds, the one it took most
// recently (nullptr if it holds none). A thread that holds several (as a
// thread moving between subinterpreters with their own GILs) gets the outer
// one back as current when it releases the inner one, whatever order it
// releases them in.
inline Gil* current_gil() { return internal::current_gil_tls; }

// The check point for code that does not know its GIL: `current_gil()->check()`
// when the thread holds a GIL, nothing otherwise. A thread-local load and one
// relaxed atomic load when no drop is requested.
inline void check_gil() {
  if (Gil* gil = current_gil()) gil->check();
}

// time.sleep(): releases the calling thread's current GIL (if any), sleeps for
// `duration` and takes the GIL back. Like CPython 3.11 it always asks the OS
// to sleep until an absolute deadline on the monotonic clock, even for zero:
// on Linux `time.sleep(0)` is a real system call that lasts about the
// thread's timer slack (50 us by default), long enough for a thread waiting
// for the GIL to take it, which matters for hand-off timings. Throws
// std::invalid_argument (before releasing anything) if `duration` is negative
// or infinite (Python raises ValueError and OverflowError).
void gil_sleep(absl::Duration duration);

// Calls `f()` without the calling thread's current GIL (if any) and returns
// its result; the GIL is taken back even if `f` throws.
template <typename F>
decltype(auto) without_gil(F&& f) {
  ReleaseGil allow_threads;
  return std::forward<F>(f)();
}

namespace internal {

// Releases `gil` while the calling thread blocks on futures (result(),
// exception(), wait(), as_completed(), a when_all() future...), as CPython's
// Future.result() releases the GIL, and takes it back when the wait ends.
// Installed by hold_gil() for each task; composes with the observer it
// replaces (the thread pool's): the GIL is released before that observer
// acts, so a task that the pool runs inline for the waiter takes the GIL
// through its own hold_gil(), on whatever thread runs it. Thread-hostile: it
// belongs to the thread that made it.
class GilBlockingObserver final : public BlockingObserver {
 public:
  explicit GilBlockingObserver(Gil& gil) : gil_(gil), scope_(this) {
    released_.reserve(16);
  }
  GilBlockingObserver(const GilBlockingObserver&) = delete;
  GilBlockingObserver& operator=(const GilBlockingObserver&) = delete;

  void before_blocking(const BlockingWait& wait) override {
    const bool release = gil_.held_by_current_thread();
    released_.push_back(release);  // waits nest: one entry per wait
    if (release) gil_.unlock();
    if (BlockingObserver* previous = scope_.previous()) {
      try {
        previous->before_blocking(wait);
      } catch (...) {
        undo();  // no after_blocking() follows a before_blocking() that threw
        throw;
      }
    }
  }

  void after_blocking(const BlockingWait& wait) noexcept override {
    if (BlockingObserver* previous = scope_.previous()) {
      previous->after_blocking(wait);
    }
    undo();
  }

 private:
  // Takes the GIL back if the innermost wait released it.
  void undo() noexcept {
    const bool released = released_.back();
    released_.pop_back();
    if (released) gil_.lock();
  }

  Gil& gil_;
  ScopedBlockingObserver scope_;
  std::vector<bool> released_;
};

}  // namespace internal

// A task hook that runs each task holding `gil`, as a Python thread runs
// bytecode. Made for `ThreadPoolExecutor::Options::around_task` (any hook
// called as `hook(run)` works; this header does not depend on executors):
//
//   concurrent::Gil gil;
//   concurrent::ThreadPoolExecutor pool(
//       {.max_workers = 4, .around_task = concurrent::hold_gil(gil)});
//
// `gil` must outlive the executor's workers.
// Re-entrant: a thread that already holds `gil` (a worker running a task
// inline while it waits for it) just runs the task.
// While the task blocks on futures (result(), exception(), wait(),
// as_completed(), waiting on a when_all()/when_any() future), it does not
// hold the GIL: it is released when the thread is about to sleep and taken
// back when the wait ends, as CPython's Future.result() does. (A task that
// waits holding the GIL would deadlock with a task that needs the GIL to
// finish.)
inline auto hold_gil(Gil& gil) {
  return [&gil](auto&& run) {
    if (gil.held_by_current_thread()) {
      run();
      return;
    }
    std::scoped_lock hold(gil);
    internal::GilBlockingObserver release_while_blocked(gil);
    run();
  };
}

}  // namespace concurrent

#endif  // CONCURRENT_GIL_GIL_H_
