// Notes about the implementation
// ==============================
//
// The facts are CPython's (Python/ceval_gil.c, Include/internal/pycore_gil.h,
// 3.11); the code is ours.
//
// - CPython's GIL is a boolean `locked` guarded by a mutex, signalled with a
//   condition variable; `switch_number`, `last_holder` and `gil_drop_request`
//   change under the same mutex, so a waiter that looks at them sees either
//   the state before a thread took the GIL or the state after it booked the
//   switch and answered the drop request. Ours keeps all of that in one atomic
//   word, `state_` (layout in gil.h): the locked bit, the drop-request bit,
//   the switch number (its low 24 bits), the number of threads waiting in
//   lock() and the number in the forced-switch wait. Taking the GIL, booking
//   the switch and answering a drop request are therefore each one atomic
//   step, and a waiter's "still locked, no switch since I started waiting ->
//   request a drop" is one compare-and-swap: nobody sees a half-done
//   hand-over, and no request can be erased by a late bookkeeping step.
//   Everything that waits goes through `mu_`, `gil_cv_`, `switch_cv_` (and
//   kFair's per-waiter condition variables), absl::Mutex and absl::CondVar, as
//   CPython goes through its mutexes and conditions.
//
// - Fast paths. An uncontended lock() is a load and one compare-and-swap
//   (free -> locked, plus one on the switch number if the last holder was
//   another thread: it reads `last_holder_` after it saw the GIL free, with
//   acquire, so it sees the last holder's write; the swap fails if anyone
//   switched the GIL in between, as that moves the switch number). An
//   uncontended unlock() is one compare-and-swap back (locked, nobody waiting
//   -> free). So the GIL costs about what a mutex costs when nobody competes
//   for it; CPython takes its mutex twice and signals a condition every time.
//
// - No lost wake-ups: a waiter registers itself (fetch_add on `state_`) while
//   holding `mu_` and keeps holding it until it is inside the condition wait.
//   An unlock that finds any waiter registered cannot take the fast path, so
//   it takes `mu_` and signals, which it can only do once the waiter is
//   waiting or has not yet looked at `state_`. It signals one waiter, as
//   CPython's drop_gil() does.
//
// - kNewGil (CPython 3.2+). A waiter waits on `gil_cv_` for one switch
//   interval. If the wait timed out, it sets the drop request if the GIL is
//   still locked with the switch number it saw before waiting (request_drop(),
//   one compare-and-swap). The holder sees the bit at its next check point
//   (check() loads `state_`) and drops the GIL. Any release clears the bit (the
//   request was for this holder; CPython's drop_gil() resets it, its take_gil()
//   again), and a release that found it set, voluntary or not, then waits on
//   `switch_cv_` until the switch number has moved (FORCE_SWITCHING: CPython's
//   drop_gil() waits whenever gil_drop_request is set, so
//   Py_BEGIN_ALLOW_THREADS does it too). Without that, on a multicore machine
//   the releasing thread would usually take the GIL straight back before the
//   waiter woke up, and a thread that releases and re-takes the GIL in a loop
//   could starve a waiter. A free GIL goes to whoever gets there first,
//   including a thread that is not waiting yet (the fast path): there is no
//   queue, exactly the property behind the convoy effect of bpo-7946.
//
// - The forced-switch wait needs the new holder to wake the dropper. The
//   dropper registers (bits 3..15 of `state_`) with a compare-and-swap that
//   expects the switch number of its release, holding `mu_`; a new holder's
//   swap that moves the switch number returns the state before it, which
//   shows whether anyone was registered: then it signals `switch_cv_` under
//   `mu_`. Both are swaps of one word, so either the holder sees the dropper
//   or the dropper sees the switch (no Dekker-style fences). The dropper also
//   stops waiting if nobody waits in lock() any more (nobody to switch to).
//
// - kOldGil (CPython < 3.2). `state_` permanently carries kTickMode, so every
//   check() goes out of line and counts down `ticks_`; at zero the holder
//   releases and immediately re-acquires, signalling one waiter, whether or not
//   anyone waits. Waiters wait without a timeout and never request a drop; the
//   releasing thread, still running, usually wins (counted in
//   `releaser_reacquired`).
//
// - kFair. Waiters queue in `queue_` (FIFO, guarded by `mu_`), each on its own
//   condition variable. A release with a non-empty queue hands the GIL to the
//   head without ever clearing the locked bit, so nobody can barge in (the fast
//   paths only apply when `state_` shows nobody waiting), books the switch for
//   it, answers the drop request, and wakes that waiter only. Waiters request a
//   drop after a switch interval like kNewGil, except that a thread whose last
//   release was voluntary (unlock(), ReleaseGil: it blocked, it is I/O-bound)
//   requests it as soon as it queues. That is the bpo-7946 fix: an I/O-bound
//   thread gets the GIL back at the CPU-bound holder's next check point
//   instead of a whole switch interval later. No forced-switch wait is needed:
//   the releasing thread cannot take the GIL back before the queue.
//
// - current_gil(): each Gil's holder keeps `below_`, the thread's current GIL
//   when it took this one; the thread-local `current_gil_tls` is the top of
//   that chain. Releasing the top pops it; releasing one below unlinks it
//   (every GIL in the chain is held by the thread, so their links are its own).
//
// - Statistics. Counters that only the holder updates are bumped with a
//   relaxed load and store (the GIL orders them); the others with fetch_add or
//   under `mu_`. The uncontended path never reads the clock unless
//   `record_times` is set. Each thread has one slot per GIL (acquisitions, hold
//   time), found through a one-entry thread-local cache keyed by the GIL's
//   unique id. `GilStats::switches` is a 64-bit counter of its own; the 24-bit
//   switch number in `state_` only serves comparisons over one wait (it would
//   take 2^24 switches during one wait, or between a fast path's load and its
//   swap, to fool one, and the cost would be one spurious or missed drop
//   request, or one miscounted switch).
//
// - Lock order: `mu_` before `Counters::slots_mu`; a GilClock's own mutex
//   after `mu_` (FakeGilClock takes `mu_` only while holding none).

#include "gil/gil.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <memory>
#include <string>
#include <unordered_map>

#include "absl/strings/str_cat.h"

#if defined(__GLIBC__) && __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define CONCURRENT_GIL_HAVE_SINGLE_THREADED 1
#endif

namespace concurrent {
namespace internal {

struct GilThreadSlot {
  explicit GilThreadSlot(std::thread::id id) : thread(id) {}
  const std::thread::id thread;
  std::atomic<uint64_t> acquisitions{0};
  std::atomic<int64_t> held_ns{0};
  // Written and read only by the owning thread.
  bool last_release_voluntary = false;
};

// Per-thread state; its address is the thread's token (CPython's tstate).
struct GilThreadState {
  uint64_t cached_gil_id = 0;
  GilThreadSlot* cached_slot = nullptr;
};

}  // namespace internal

namespace {

using internal::GilThreadSlot;
using internal::GilThreadState;

thread_local constinit GilThreadState tls_state;

std::atomic<uint64_t> next_gil_id{1};

// True while the process has never created a thread (glibc 2.32+; it never
// becomes true again, except in a fork()ed child, which has one thread).
// Nobody else can touch the GIL then, so the fast paths store instead of
// swapping, as glibc's pthread_mutex_lock() (and std::mutex with it) skips
// its atomic instructions for a process-private mutex in that state.
inline bool process_single_threaded() {
#ifdef CONCURRENT_GIL_HAVE_SINGLE_THREADED
  return __libc_single_threaded != 0;
#else
  return false;
#endif
}

// Increment of a counter that only one thread at a time writes.
inline void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by,
                std::memory_order_relaxed);
}

class RealGilClock final : public GilClock {
 public:
  absl::Time now() override { return absl::Now(); }
  bool wait_with_timeout(absl::CondVar& cv, absl::Mutex& mu,
                         absl::Duration timeout) override {
    return cv.WaitWithTimeout(&mu, timeout);
  }
  void wait(absl::CondVar& cv, absl::Mutex& mu) override { cv.Wait(&mu); }
};

int64_t to_ns(absl::Duration d) { return absl::ToInt64Nanoseconds(d); }

int bucket_of(int64_t ns) {
  if (ns <= 0) return 0;
  int b = 64 - __builtin_clzll(static_cast<uint64_t>(ns));  // 1..63
  return std::min(b, GilHistogram::kBuckets - 1);
}

// The switch interval in effect, in microseconds: CPython's
// sys.setswitchinterval() keeps whole microseconds (it truncates) and
// take_gil() waits at least 1 us. Throws unless `interval` is positive and
// finite.
int64_t interval_us(absl::Duration interval) {
  if (interval <= absl::ZeroDuration() ||
      interval == absl::InfiniteDuration()) {
    throw std::invalid_argument(
        absl::StrCat("Gil: switch interval must be positive and finite, got ",
                     absl::FormatDuration(interval)));
  }
  // ToInt64Microseconds truncates and saturates at INT64_MAX.
  return std::max<int64_t>(1, absl::ToInt64Microseconds(interval));
}

}  // namespace

// A histogram written by one thread at a time (the holder), read by stats().
struct AtomicHistogram {
  std::array<std::atomic<uint64_t>, GilHistogram::kBuckets> buckets{};
  std::atomic<uint64_t> count{0};
  std::atomic<int64_t> total_ns{0};
  std::atomic<int64_t> max_ns{0};

  void record(int64_t ns) {
    bump(buckets[bucket_of(ns)]);
    bump(count);
    total_ns.store(total_ns.load(std::memory_order_relaxed) + ns,
                   std::memory_order_relaxed);
    if (ns > max_ns.load(std::memory_order_relaxed)) {
      max_ns.store(ns, std::memory_order_relaxed);
    }
  }

  GilHistogram snapshot() const {
    GilHistogram h;
    for (int b = 0; b < GilHistogram::kBuckets; ++b) {
      h.buckets[b] = buckets[b].load(std::memory_order_relaxed);
    }
    h.count = count.load(std::memory_order_relaxed);
    h.total = absl::Nanoseconds(total_ns.load(std::memory_order_relaxed));
    h.max = absl::Nanoseconds(max_ns.load(std::memory_order_relaxed));
    return h;
  }
};

struct Gil::Counters {
  std::atomic<uint64_t> contended{0};  // holder only
  // Holder only (a kFair hand-off: the thread handing over, for the next).
  std::atomic<uint64_t> switches{0};
  std::atomic<uint64_t> drop_requests{0};
  std::atomic<uint64_t> forced_drops{0};         // holder only
  std::atomic<uint64_t> forced_switch_waits{0};  // under mu_
  std::atomic<uint64_t> interval_releases{0};    // holder only
  std::atomic<uint64_t> releaser_reacquired{0};  // holder only
  std::atomic<uint64_t> try_lock_failures{0};    // fetch_add
  AtomicHistogram wait;                          // holder only
  AtomicHistogram hold;                          // holder only

  absl::Mutex slots_mu;
  // std::deque keeps the slots' addresses stable.
  std::deque<GilThreadSlot> slots ABSL_GUARDED_BY(slots_mu);
  std::unordered_map<std::thread::id, GilThreadSlot*> by_thread
      ABSL_GUARDED_BY(slots_mu);
};

// A kFair waiter in the queue, on its own stack. Guarded by mu_.
struct Gil::Waiter {
  explicit Waiter(const void* t) : token(t) {}
  const void* const token;
  bool granted = false;
  absl::CondVar cv;  // signalled when the GIL is handed to this waiter
};

const char* gil_policy_name(GilPolicy policy) {
  switch (policy) {
    case GilPolicy::kNewGil:
      return "new";
    case GilPolicy::kOldGil:
      return "old";
    case GilPolicy::kFair:
      return "fair";
  }
  return "unknown";
}

GilClock& GilClock::real() {
  static RealGilClock* clock = new RealGilClock();
  return *clock;
}

absl::Duration GilHistogram::mean() const {
  if (count == 0) return absl::ZeroDuration();
  return total / static_cast<int64_t>(count);
}

absl::Duration GilHistogram::quantile(double q) const {
  if (!(q >= 0.0 && q <= 1.0)) {
    throw std::invalid_argument(
        absl::StrCat("GilHistogram::quantile: q must be in [0, 1], got ", q));
  }
  if (count == 0) return absl::ZeroDuration();
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count))));
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets[b];
    if (seen >= rank) {
      if (b == 0) return absl::ZeroDuration();
      const absl::Duration top =
          absl::Nanoseconds(b >= 63 ? INT64_MAX : (int64_t{1} << b) - 1);
      return std::min(top, max);
    }
  }
  return max;
}

Gil::Gil(GilOptions options)
    : policy_(options.policy),
      check_interval_(options.check_interval),
      record_times_(options.record_times),
      clock_(options.clock != nullptr ? *options.clock : GilClock::real()),
      id_(next_gil_id.fetch_add(1, std::memory_order_relaxed)),
      busy_mask_(options.policy == GilPolicy::kFair ? kLockedBit | kWaiterMask
                                                    : kLockedBit),
      interval_us_(0),
      counters_(new Counters()) {
  std::unique_ptr<Counters> owned(counters_);
  interval_us_.store(interval_us(options.switch_interval),
                     std::memory_order_relaxed);
  if (options.check_interval < 1) {
    throw std::invalid_argument(absl::StrCat(
        "Gil: check_interval must be >= 1, got ", options.check_interval));
  }
  ticks_ = check_interval_;
  if (policy_ == GilPolicy::kOldGil) {
    state_.store(kTickMode, std::memory_order_relaxed);
  }
  owned.release();
}

Gil::~Gil() { delete counters_; }

void Gil::set_switch_interval(absl::Duration interval) {
  interval_us_.store(interval_us(interval), std::memory_order_relaxed);
}

bool Gil::held_by_current_thread() const {
  return holder_.load(std::memory_order_relaxed) == &tls_state;
}

GilThreadSlot* Gil::slot_for(GilThreadState& ts) {
  if (ABSL_PREDICT_TRUE(ts.cached_gil_id == id_)) return ts.cached_slot;
  return new_slot(ts);
}

ABSL_ATTRIBUTE_NOINLINE GilThreadSlot* Gil::new_slot(GilThreadState& ts) {
  const std::thread::id me = std::this_thread::get_id();
  GilThreadSlot* slot;
  {
    absl::MutexLock lock(&counters_->slots_mu);
    auto it = counters_->by_thread.find(me);
    if (it != counters_->by_thread.end()) {
      slot = it->second;
    } else {
      slot = &counters_->slots.emplace_back(me);
      counters_->by_thread.emplace(me, slot);
    }
  }
  ts.cached_gil_id = id_;
  ts.cached_slot = slot;
  return slot;
}

void Gil::request_drop(uint64_t seen) {
  uint64_t s = state_.load(std::memory_order_relaxed);
  do {
    if ((s & kLockedBit) == 0 || (s & kDropRequest) != 0 ||
        ((s ^ seen) & kSwitchMask) != 0) {
      return;  // free, already requested, or switched since `seen`
    }
  } while (!state_.compare_exchange_weak(s, s | kDropRequest,
                                         std::memory_order_relaxed));
  counters_->drop_requests.fetch_add(1, std::memory_order_relaxed);
}

ABSL_ATTRIBUTE_NOINLINE void Gil::wake_switch_waiters() {
  absl::MutexLock lock(&mu_);
  switch_cv_.SignalAll();
}

// Released out of order: this GIL is below the top of the calling thread's
// chain. Every GIL in the chain is held by this thread, so their links are
// its to change.
ABSL_ATTRIBUTE_NOINLINE void Gil::unlink_from_current_chain() {
  for (Gil* g = internal::current_gil_tls; g != nullptr; g = g->below_) {
    if (g->below_ == this) {
      g->below_ = below_;
      return;
    }
  }
}

ABSL_ATTRIBUTE_NOINLINE void Gil::note_switch(GilThreadState& ts,
                                              uint64_t before) {
  last_holder_.store(&ts, std::memory_order_relaxed);
  bump(counters_->switches);
  if ((before & kSwitchWaiterMask) != 0) wake_switch_waiters();
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Gil::on_acquired(GilThreadState& ts) {
  holder_.store(&ts, std::memory_order_relaxed);
  below_ = internal::current_gil_tls;
  internal::current_gil_tls = this;
  GilThreadSlot* slot = slot_for(ts);
  holder_slot_ = slot;
  bump(slot->acquisitions);  // GilStats::acquisitions is their sum
  if (ABSL_PREDICT_FALSE(record_times_)) acquired_at_ = clock_.now();
}

// The fast paths of lock() and try_lock(): takes a GIL that is not busy in one
// compare-and-swap, which also books the switch. Returns false if the GIL is
// busy or the swap lost a race.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool Gil::try_take(GilThreadState& ts) {
  // Acquire: if the GIL is free, this load sees the last holder's release,
  // and with it that holder's write of last_holder_.
  uint64_t s = state_.load(std::memory_order_acquire);
  if (ABSL_PREDICT_FALSE((s & busy_mask_) != 0)) return false;
  const bool switched = last_holder_.load(std::memory_order_relaxed) != &ts;
  const uint64_t next = (s | kLockedBit) + (switched ? kSwitchUnit : 0);
  // If the swap succeeds, the GIL changed hands since the load only between
  // threads that did not switch it (the switch number is in the word), so
  // last_holder_ is still what was read. With a single thread in the process
  // nobody else can change the word: a store does.
  if (process_single_threaded()) {
    state_.store(next, std::memory_order_relaxed);
  } else if (ABSL_PREDICT_FALSE(!state_.compare_exchange_strong(
                 s, next, std::memory_order_acquire,
                 std::memory_order_relaxed))) {
    return false;
  }
  if (ABSL_PREDICT_FALSE(switched)) {
    note_switch(ts, s);
  } else if (ABSL_PREDICT_FALSE((s & kWaiterMask) != 0)) {
    bump(counters_->releaser_reacquired);
  }
  on_acquired(ts);
  return true;
}

void Gil::lock() {
  GilThreadState& ts = tls_state;
  if (ABSL_PREDICT_TRUE(try_take(ts))) return;
  acquire_slow(ts);
}

bool Gil::try_lock() {
  GilThreadState& ts = tls_state;
  if (try_take(ts)) return true;
  if (holder_.load(std::memory_order_relaxed) == &ts) {
    throw GilError("Gil::try_lock: the calling thread already holds the GIL");
  }
  counters_->try_lock_failures.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void Gil::acquire_slow(GilThreadState& ts) {
  if (holder_.load(std::memory_order_relaxed) == &ts) {
    throw GilError("Gil::lock: the calling thread already holds the GIL");
  }
  const absl::Time start = clock_.now();
  bool switched = false;
  bool others_waiting = false;
  {
    absl::MutexLock lock(&mu_);
    // Registered as a waiter, an unlock() cannot take its fast path: it takes
    // mu_ and signals (see the notes).
    uint64_t s =
        state_.fetch_add(kWaiterUnit, std::memory_order_relaxed) + kWaiterUnit;
    if (policy_ == GilPolicy::kFair &&
        (!queue_.empty() || (s & kLockedBit) != 0)) {
      wait_in_queue(ts);  // handed over: the releaser booked the switch
    } else {
      for (;;) {
        s = state_.load(std::memory_order_acquire);
        if ((s & kLockedBit) == 0) {
          switched = last_holder_.load(std::memory_order_relaxed) != &ts;
          const uint64_t next =
              ((s - kWaiterUnit) | kLockedBit) + (switched ? kSwitchUnit : 0);
          if (state_.compare_exchange_weak(s, next, std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
            others_waiting = (s & kWaiterMask) > kWaiterUnit;
            if (switched && (s & kSwitchWaiterMask) != 0) {
              switch_cv_.SignalAll();  // (note_switch() below need not)
            }
            break;
          }
          continue;
        }
        if (policy_ == GilPolicy::kOldGil) {
          clock_.wait(gil_cv_, mu_);
          continue;
        }
        // take_gil(): wait one interval; if it passed with the GIL still held
        // and no switch since `s`, ask the holder to drop it.
        if (clock_.wait_with_timeout(gil_cv_, mu_, switch_interval())) {
          request_drop(s);
        }
      }
    }
  }
  if (switched) {
    note_switch(ts, 0);
  } else if (others_waiting) {
    bump(counters_->releaser_reacquired);
  }
  on_acquired(ts);
  bump(counters_->contended);
  counters_->wait.record(to_ns(clock_.now() - start));
}

void Gil::wait_in_queue(GilThreadState& ts) {
  Waiter self(&ts);
  queue_.push_back(&self);
  // The bpo-7946 fix: a thread that blocked last time asks at once.
  if (slot_for(ts)->last_release_voluntary) {
    request_drop(state_.load(std::memory_order_relaxed));
  }
  while (!self.granted) {
    const uint64_t seen = state_.load(std::memory_order_relaxed);
    const bool timed_out =
        clock_.wait_with_timeout(self.cv, mu_, switch_interval());
    if (!self.granted && timed_out) request_drop(seen);
  }
}

void Gil::hand_off_or_free() {
  if (queue_.empty()) {
    state_.fetch_and(~(kLockedBit | kDropRequest), std::memory_order_release);
    return;
  }
  Waiter* next = queue_.front();
  queue_.pop_front();
  next->granted = true;
  // The switch happens now, not when `next` wakes up: a waiter that starts
  // its timed wait in between must see the switch number as it will stay.
  // The locked bit stays set (nobody can barge in); the drop request, made
  // to the releasing thread, is answered.
  last_holder_.store(next->token, std::memory_order_relaxed);
  bump(counters_->switches);
  uint64_t s = state_.load(std::memory_order_relaxed);
  while (!state_.compare_exchange_weak(
      s, ((s - kWaiterUnit) & ~kDropRequest) + kSwitchUnit,
      std::memory_order_release, std::memory_order_relaxed)) {
  }
  next->cv.Signal();  // wakes `next` only
}

ABSL_ATTRIBUTE_NOINLINE void Gil::throw_not_held(const char* what) const {
  throw GilError(absl::StrCat(
      "Gil::", what, ": the calling thread does not hold the GIL (it is ",
      locked() ? "held by another thread)" : "not held)"));
}

ABSL_ATTRIBUTE_NOINLINE void Gil::record_hold(GilThreadSlot* slot) {
  const int64_t held = to_ns(clock_.now() - acquired_at_);
  counters_->hold.record(held);
  slot->held_ns.store(slot->held_ns.load(std::memory_order_relaxed) + held,
                      std::memory_order_relaxed);
}

ABSL_ATTRIBUTE_NOINLINE void Gil::release_slow() {
  absl::MutexLock lock(&mu_);
  if (policy_ == GilPolicy::kFair) {
    hand_off_or_free();
    return;
  }
  // drop_gil(): free the GIL, answer a pending drop request, wake a waiter.
  const uint64_t released =
      state_.fetch_and(~(kLockedBit | kDropRequest), std::memory_order_release);
  gil_cv_.Signal();
  if ((released & kDropRequest) != 0) forced_switch_wait(released);
}

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Gil::release(GilThreadState& ts,
                                                      bool voluntary) {
  if (ABSL_PREDICT_FALSE(holder_.load(std::memory_order_relaxed) != &ts)) {
    throw_not_held("unlock");
  }
  GilThreadSlot* slot = holder_slot_;
  if (ABSL_PREDICT_FALSE(record_times_)) record_hold(slot);
  slot->last_release_voluntary = voluntary;
  holder_.store(nullptr, std::memory_order_relaxed);
  if (ABSL_PREDICT_TRUE(internal::current_gil_tls == this)) {
    internal::current_gil_tls = below_;
  } else {
    unlink_from_current_chain();
  }
  // Fast path: nobody waits (then nobody can have requested a drop).
  uint64_t s = state_.load(std::memory_order_relaxed);
  if (ABSL_PREDICT_TRUE((s & (kWaiterMask | kDropRequest)) == 0)) {
    if (process_single_threaded()) {
      state_.store(s & ~kLockedBit, std::memory_order_relaxed);
      return;
    }
    if (ABSL_PREDICT_TRUE(state_.compare_exchange_strong(
            s, s & ~kLockedBit, std::memory_order_release,
            std::memory_order_relaxed))) {
      return;
    }
  }
  release_slow();
}

void Gil::unlock() { release(tls_state, /*voluntary=*/true); }

void Gil::forced_switch_wait(uint64_t released) {
  // Wait only if no other thread has taken the GIL since the release, and
  // somebody still waits to take it. Registering is one atomic step against
  // the acquisitions: either a new holder's swap sees this thread registered
  // (and signals switch_cv_, under mu_), or the registration sees the switch.
  auto switched_or_nobody_waits = [&](uint64_t s) {
    return ((s ^ released) & kSwitchMask) != 0 || (s & kWaiterMask) == 0;
  };
  uint64_t s = state_.load(std::memory_order_relaxed);
  do {
    if (switched_or_nobody_waits(s)) return;
  } while (!state_.compare_exchange_weak(s, s + kSwitchWaiterUnit,
                                         std::memory_order_relaxed));
  bump(counters_->forced_switch_waits);  // under mu_
  do {
    clock_.wait(switch_cv_, mu_);
  } while (!switched_or_nobody_waits(state_.load(std::memory_order_relaxed)));
  state_.fetch_sub(kSwitchWaiterUnit, std::memory_order_relaxed);
}

void Gil::check_slow() {
  GilThreadState& ts = tls_state;
  if (holder_.load(std::memory_order_relaxed) != &ts) throw_not_held("check");
  if (policy_ == GilPolicy::kOldGil) {
    if (--ticks_ > 0) return;
    ticks_ = check_interval_;
    bump(counters_->interval_releases);
    release(ts, /*voluntary=*/false);
    lock();
    return;
  }
  if ((state_.load(std::memory_order_relaxed) & kDropRequest) == 0) {
    return;
  }
  bump(counters_->forced_drops);
  release(ts, /*voluntary=*/false);  // kNewGil: waits for the switch
  lock();
}

GilStats Gil::stats() const {
  const Counters& c = *counters_;
  GilStats st;
  st.contended_acquisitions = c.contended.load(std::memory_order_relaxed);
  st.switches = c.switches.load(std::memory_order_relaxed);
  st.drop_requests = c.drop_requests.load(std::memory_order_relaxed);
  st.forced_drops = c.forced_drops.load(std::memory_order_relaxed);
  st.forced_switch_waits =
      c.forced_switch_waits.load(std::memory_order_relaxed);
  st.interval_releases = c.interval_releases.load(std::memory_order_relaxed);
  st.releaser_reacquired =
      c.releaser_reacquired.load(std::memory_order_relaxed);
  st.try_lock_failures = c.try_lock_failures.load(std::memory_order_relaxed);
  {
    absl::MutexLock lock(&counters_->slots_mu);
    for (const GilThreadSlot& slot : counters_->slots) {
      GilThreadStats t;
      t.thread = slot.thread;
      t.acquisitions = slot.acquisitions.load(std::memory_order_relaxed);
      t.held = absl::Nanoseconds(slot.held_ns.load(std::memory_order_relaxed));
      st.threads.push_back(t);
    }
  }
  absl::Duration total_held = absl::ZeroDuration();
  uint64_t total_acq = 0;
  for (const auto& t : st.threads) {
    total_held += t.held;
    total_acq += t.acquisitions;
  }
  st.acquisitions = total_acq;
  st.wait_time = c.wait.snapshot();
  // Uncontended acquisitions waited zero time; they are not recorded one by
  // one (that would cost the fast path two more stores).
  if (st.acquisitions > st.wait_time.count) {
    const uint64_t zero = st.acquisitions - st.wait_time.count;
    st.wait_time.buckets[0] += zero;
    st.wait_time.count += zero;
  }
  st.hold_time = c.hold.snapshot();
  for (auto& t : st.threads) {
    if (record_times_ && total_held > absl::ZeroDuration()) {
      t.share = absl::FDivDuration(t.held, total_held);
    } else if (total_acq > 0) {
      t.share =
          static_cast<double>(t.acquisitions) / static_cast<double>(total_acq);
    }
  }
  return st;
}

ReleaseGil::ReleaseGil(Gil& gil) : gil_(&gil) {
  gil.release(tls_state, /*voluntary=*/true);
}

ReleaseGil::ReleaseGil() : gil_(current_gil()) {
  if (gil_ != nullptr) gil_->release(tls_state, /*voluntary=*/true);
}

ReleaseGil::~ReleaseGil() {
  // A body that took the GIL back itself (lock() inside the scope) must not
  // make this destructor throw GilError (std::terminate): it is held again,
  // which is all the scope promises.
  if (gil_ != nullptr && !gil_->held_by_current_thread()) gil_->lock();
}

void gil_sleep(absl::Duration duration) {
  if (duration < absl::ZeroDuration() || duration == absl::InfiniteDuration()) {
    throw std::invalid_argument(
        absl::StrCat("gil_sleep: duration must be >= 0 and finite, got ",
                     absl::FormatDuration(duration)));
  }
  ReleaseGil allow_threads;
#if defined(__unix__) && defined(CLOCK_MONOTONIC) && defined(TIMER_ABSTIME)
  // As CPython 3.11's pysleep(): clock_nanosleep to an absolute deadline.
  timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  const int64_t ns = deadline.tv_nsec + absl::ToInt64Nanoseconds(duration);
  deadline.tv_sec += ns / 1'000'000'000;
  deadline.tv_nsec = ns % 1'000'000'000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) ==
         EINTR) {
  }
#else
  absl::SleepFor(duration);
#endif
}

}  // namespace concurrent
