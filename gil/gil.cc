// Notes about the implementation
// ==============================
//
// The facts are CPython's (Python/ceval_gil.c, Include/internal/pycore_gil.h,
// 3.11); the code is ours.
//
// - CPython's GIL is a boolean `locked` guarded by a mutex and signalled with
//   a condition variable. Ours keeps the boolean in an atomic word, `state_`,
//   together with two counts: the threads waiting in lock() (bits 16..) and
//   the threads in the forced-switch wait (bits 1..15). An uncontended lock()
//   is one compare-and-swap of `state_` (free -> locked) and an uncontended
//   unlock() one compare-and-swap back (locked, nobody waiting -> free), so the
//   GIL costs about what a mutex costs when nobody competes for it. Everything
//   that waits goes through `mu_`, `gil_cv_` and `switch_cv_` (absl::Mutex and
//   absl::CondVar), as CPython goes through its mutex and conditions.
//
// - No lost wake-ups: a waiter registers itself (fetch_add on `state_`) while
//   holding `mu_` and keeps holding it until it is inside the condition wait.
//   An unlock that finds any waiter registered cannot take the fast path (its
//   compare-and-swap expects "locked, nobody waiting"), so it takes `mu_` and
//   signals, which it can only do once the waiter is waiting or has not yet
//   looked at `state_`.
//
// - kNewGil (CPython 3.2+). A waiter waits on `gil_cv_` for one switch
//   interval. If the wait timed out, the GIL is still locked and
//   `switch_number_` did not change meanwhile, it sets the drop request: bit
//   kDropRequest of `eval_breaker_`, the word that check() loads. The holder
//   sees it at its next check point and drops the GIL. Because it dropped on
//   request, it then waits on `switch_cv_` until `last_holder_` is another
//   thread (FORCE_SWITCHING in CPython): otherwise, on a multicore machine, it
//   would usually take the GIL straight back before the waiter woke up. Whoever
//   takes the GIL clears a pending drop request (CPython's take_gil does the
//   same), and a free GIL goes to whoever gets there first, including a thread
//   that is not waiting yet (the fast path): there is no queue, exactly the
//   property behind the convoy effect of bpo-7946.
//
// - Forced switching needs the new holder to wake the dropper. A new holder
//   that changes `last_holder_` stores it (seq_cst) and then loads `state_`
//   (seq_cst) to see whether anyone is in the forced-switch wait; the dropper
//   adds itself to `state_` (seq_cst) and then loads `last_holder_` (seq_cst)
//   while holding `mu_`. One of the two sees the other's write (Dekker), and
//   the holder signals under `mu_`, so the wake-up is not lost. The dropper
//   also stops waiting when nobody is registered as a waiter any more (the drop
//   request was stale), which CPython does not need because its waiters cannot
//   give up either.
//
// - kOldGil (CPython < 3.2). `eval_breaker_` permanently carries kTickMode, so
//   every check() goes out of line and counts down `ticks_`; at zero the holder
//   releases and immediately re-acquires, signalling one waiter, whether or not
//   anyone waits. Waiters wait without a timeout and never request a drop; the
//   releasing thread, still running, usually wins (counted in
//   `releaser_reacquired`).
//
// - kFair. Waiters queue in `queue_` (FIFO, guarded by `mu_`). A release with
//   a non-empty queue hands the GIL to the head without ever clearing the
//   locked bit, so nobody can barge in; the fast paths only apply when
//   `state_` shows nobody waiting. Waiters request a drop after a switch
//   interval like kNewGil, except that a thread whose last release was
//   voluntary (unlock(), ReleaseGil: it blocked, it is I/O-bound) requests it
//   as soon as it queues. That is the bpo-7946 fix: an I/O-bound thread gets
//   the GIL back at the CPU-bound holder's next check point instead of a whole
//   switch interval later. Queued waiters share `gil_cv_` and wake on every
//   hand-off (SignalAll); each checks its own `granted` flag. The releasing
//   thread updates `last_holder_` and `switch_number_` for the thread it hands
//   the GIL to, under `mu_`, so that the next waiter's interval is not reset by
//   the new holder's late bookkeeping.
//
// - Statistics. Counters that only the holder updates are bumped with a
//   relaxed load and store (the GIL orders them); the others with fetch_add or
//   under `mu_`. The uncontended path never reads the clock unless
//   `record_times` is set. Each thread has one slot per GIL (acquisitions, hold
//   time), found through a one-entry thread-local cache keyed by the GIL's
//   unique id.
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
  std::atomic<uint64_t> acquisitions{0};  // holder only
  std::atomic<uint64_t> contended{0};     // holder only
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

struct Gil::Waiter {
  const void* token;
  bool granted = false;
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
    eval_breaker_.store(kTickMode, std::memory_order_relaxed);
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

void Gil::reset_drop_request() {
  eval_breaker_.fetch_and(~kDropRequest, std::memory_order_relaxed);
}

void Gil::request_drop() {
  if ((eval_breaker_.fetch_or(kDropRequest, std::memory_order_relaxed) &
       kDropRequest) == 0) {
    counters_->drop_requests.fetch_add(1, std::memory_order_relaxed);
  }
}

ABSL_ATTRIBUTE_NOINLINE void Gil::note_switch(GilThreadState& ts) {
  last_holder_.store(&ts, std::memory_order_seq_cst);
  bump(switch_number_);
  if ((state_.load(std::memory_order_seq_cst) & kSwitchWaiterMask) != 0) {
    absl::MutexLock lock(&mu_);
    switch_cv_.SignalAll();
  }
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

ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Gil::on_acquired(GilThreadState& ts,
                                                          bool others_waiting,
                                                          absl::Duration waited,
                                                          bool contended) {
  holder_.store(&ts, std::memory_order_relaxed);
  below_ = internal::current_gil_tls;
  internal::current_gil_tls = this;
  if (last_holder_.load(std::memory_order_relaxed) != &ts) {
    note_switch(ts);
  } else if (others_waiting) {
    bump(counters_->releaser_reacquired);
  }
  if (ABSL_PREDICT_FALSE((eval_breaker_.load(std::memory_order_relaxed) &
                          kDropRequest) != 0)) {
    reset_drop_request();
  }
  GilThreadSlot* slot = slot_for(ts);
  holder_slot_ = slot;
  bump(slot->acquisitions);
  bump(counters_->acquisitions);
  if (contended) {
    bump(counters_->contended);
    counters_->wait.record(to_ns(waited));
  }
  if (ABSL_PREDICT_FALSE(record_times_)) acquired_at_ = clock_.now();
}

void Gil::lock() {
  GilThreadState& ts = tls_state;
  uint64_t s = state_.load(std::memory_order_relaxed);
  const bool free =
      policy_ == GilPolicy::kFair ? s == 0 : (s & kLockedBit) == 0;
  if (ABSL_PREDICT_TRUE(free) &&
      state_.compare_exchange_strong(s, s | kLockedBit,
                                     std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
    on_acquired(ts, (s >> 16) != 0, absl::ZeroDuration(), false);
    return;
  }
  acquire_slow(ts);
}

bool Gil::try_lock() {
  GilThreadState& ts = tls_state;
  uint64_t s = state_.load(std::memory_order_relaxed);
  const bool free =
      policy_ == GilPolicy::kFair ? s == 0 : (s & kLockedBit) == 0;
  if (free && state_.compare_exchange_strong(s, s | kLockedBit,
                                             std::memory_order_acquire,
                                             std::memory_order_relaxed)) {
    on_acquired(ts, (s >> 16) != 0, absl::ZeroDuration(), false);
    return true;
  }
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
  bool others_waiting = false;
  {
    absl::MutexLock lock(&mu_);
    state_.fetch_add(kWaiterUnit, std::memory_order_seq_cst);
    if (policy_ == GilPolicy::kFair) {
      uint64_t s = state_.load(std::memory_order_relaxed);
      if (queue_.empty() && (s & kLockedBit) == 0 &&
          state_.compare_exchange_strong(s, (s - kWaiterUnit) | kLockedBit,
                                         std::memory_order_acquire,
                                         std::memory_order_relaxed)) {
        others_waiting = false;
      } else {
        Waiter self{&ts};
        queue_.push_back(&self);
        if (slot_for(ts)->last_release_voluntary) request_drop();
        while (!self.granted) {
          const uint64_t saved = switch_number_.load(std::memory_order_relaxed);
          const bool timed_out =
              clock_.wait_with_timeout(gil_cv_, mu_, switch_interval());
          if (!self.granted && timed_out &&
              switch_number_.load(std::memory_order_relaxed) == saved) {
            request_drop();
          }
        }
        // Handed over: the releaser did the switch bookkeeping, and this
        // thread did not win any race against the others.
        others_waiting = false;
      }
    } else {
      for (;;) {
        uint64_t s = state_.load(std::memory_order_relaxed);
        if ((s & kLockedBit) == 0) {
          if (state_.compare_exchange_weak(s, (s - kWaiterUnit) | kLockedBit,
                                           std::memory_order_acquire,
                                           std::memory_order_relaxed)) {
            others_waiting = (s >> 16) > 1;
            break;
          }
          continue;
        }
        if (policy_ == GilPolicy::kOldGil) {
          clock_.wait(gil_cv_, mu_);
          continue;
        }
        const uint64_t saved = switch_number_.load(std::memory_order_relaxed);
        const bool timed_out =
            clock_.wait_with_timeout(gil_cv_, mu_, switch_interval());
        if (timed_out && locked() &&
            switch_number_.load(std::memory_order_relaxed) == saved) {
          request_drop();
        }
      }
    }
  }
  on_acquired(ts, others_waiting, clock_.now() - start, true);
}

void Gil::hand_off_or_free() {
  if (!queue_.empty()) {
    Waiter* next = queue_.front();
    queue_.pop_front();
    next->granted = true;
    // The switch happens now, not when `next` wakes up: a waiter that starts
    // its timed wait in between must not see switch_number_ move during it
    // (it would then skip its drop request and wait a second interval).
    last_holder_.store(next->token, std::memory_order_seq_cst);
    bump(switch_number_);
    // The locked bit stays set: the GIL passes straight to `next`.
    state_.fetch_sub(kWaiterUnit, std::memory_order_release);
    gil_cv_.SignalAll();
    return;
  }
  state_.fetch_and(~kLockedBit, std::memory_order_release);
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
  } else {
    state_.fetch_and(~kLockedBit, std::memory_order_release);
    gil_cv_.Signal();
  }
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
  uint64_t s = kLockedBit;
  if (ABSL_PREDICT_TRUE(state_.compare_exchange_strong(
          s, 0, std::memory_order_release, std::memory_order_relaxed))) {
    return;
  }
  release_slow();
}

void Gil::unlock() { release(tls_state, /*voluntary=*/true); }

void Gil::forced_switch_wait(GilThreadState& ts) {
  absl::MutexLock lock(&mu_);
  if ((eval_breaker_.load(std::memory_order_relaxed) & kDropRequest) == 0) {
    return;  // someone already took the GIL (and reset the request)
  }
  state_.fetch_add(kSwitchWaiterUnit, std::memory_order_seq_cst);
  if (last_holder_.load(std::memory_order_seq_cst) == &ts) {
    reset_drop_request();
    counters_->forced_switch_waits.fetch_add(1, std::memory_order_relaxed);
    while (last_holder_.load(std::memory_order_seq_cst) == &ts &&
           (state_.load(std::memory_order_relaxed) >> 16) != 0) {
      clock_.wait(switch_cv_, mu_);
    }
  }
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
  if ((eval_breaker_.load(std::memory_order_relaxed) & kDropRequest) == 0) {
    return;
  }
  bump(counters_->forced_drops);
  release(ts, /*voluntary=*/false);
  if (policy_ == GilPolicy::kNewGil) forced_switch_wait(ts);
  lock();
}

GilStats Gil::stats() const {
  const Counters& c = *counters_;
  GilStats st;
  st.acquisitions = c.acquisitions.load(std::memory_order_relaxed);
  st.contended_acquisitions = c.contended.load(std::memory_order_relaxed);
  st.switches = switch_number_.load(std::memory_order_relaxed);
  st.drop_requests = c.drop_requests.load(std::memory_order_relaxed);
  st.forced_drops = c.forced_drops.load(std::memory_order_relaxed);
  st.forced_switch_waits =
      c.forced_switch_waits.load(std::memory_order_relaxed);
  st.interval_releases = c.interval_releases.load(std::memory_order_relaxed);
  st.releaser_reacquired =
      c.releaser_reacquired.load(std::memory_order_relaxed);
  st.try_lock_failures = c.try_lock_failures.load(std::memory_order_relaxed);
  st.wait_time = c.wait.snapshot();
  // Uncontended acquisitions waited zero time; they are not recorded one by
  // one (that would cost the fast path two more stores).
  if (st.acquisitions > st.wait_time.count) {
    const uint64_t zero = st.acquisitions - st.wait_time.count;
    st.wait_time.buckets[0] += zero;
    st.wait_time.count += zero;
  }
  st.hold_time = c.hold.snapshot();
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
