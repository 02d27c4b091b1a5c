// The GIL's state machine, driven by FakeGilClock: a waiter's switch interval
// passes only when the test advances the clock, and the test waits (without
// polling or sleeping) until threads are blocked inside the GIL.
#include "gil/gil.h"

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gil/fake_gil_clock.h"
#include "gtest/gtest.h"

namespace concurrent {
namespace {

using ::testing::TestWithParam;
using ::testing::Values;

// The order in which threads got the GIL, written while holding it.
class Order {
 public:
  void add(const std::string& who) {
    absl::MutexLock lock(&mu_);
    names_.push_back(who);
  }
  std::vector<std::string> names() {
    absl::MutexLock lock(&mu_);
    return names_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_);
};

// A GilClock that forwards to a FakeGilClock and can hold one thread at a
// chosen point, so that a test can interleave threads exactly:
//   * hold_my_now(skip): the calling thread's call of now() after the next
//     `skip` ones blocks until open(). (lock() reads the clock when it starts
//     waiting and again once it has taken the GIL: skip = 1 holds a waiter
//     just after it took the GIL.)
//   * hold_my_wakeup(): the calling thread's next timed wait that ends without
//     timing out (it was signalled) releases the waiters' mutex and blocks
//     until open() before it returns (the thread is slow to wake up).
// Either hold, once armed, blocks its thread at most once; open() lets it go
// (or lets it through without blocking if it has not got there yet).
class GatedClock final : public GilClock {
 public:
  explicit GatedClock(FakeGilClock& fake) : fake_(fake) {}

  absl::Time now() override {
    bool hold = false;
    {
      absl::MutexLock lock(&mu_);
      if (armed_ == Point::kNow && thread_ == std::this_thread::get_id()) {
        hold = skip_-- == 0;
      }
    }
    if (hold) block();
    return fake_.now();
  }

  bool wait_with_timeout(absl::CondVar& cv, absl::Mutex& mu,
                         absl::Duration timeout) override {
    const bool timed_out = fake_.wait_with_timeout(cv, mu, timeout);
    bool hold = false;
    if (!timed_out) {
      absl::MutexLock lock(&mu_);
      hold = armed_ == Point::kWakeup && thread_ == std::this_thread::get_id();
    }
    if (hold) {
      mu.Unlock();
      block();
      mu.Lock();
    }
    return timed_out;
  }

  void wait(absl::CondVar& cv, absl::Mutex& mu) override {
    {
      absl::MutexLock lock(&mu_);
      ++untimed_waits_;
      changed_.SignalAll();
    }
    fake_.wait(cv, mu);
  }

  void hold_my_now(int skip) { arm(Point::kNow, skip); }
  void hold_my_wakeup() { arm(Point::kWakeup, 0); }

  // Blocks until the armed thread is held.
  void await_held() {
    absl::MutexLock lock(&mu_);
    while (!held_) changed_.Wait(&mu_);
  }

  void open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
    changed_.SignalAll();
  }

  // Blocks until some thread has started an untimed wait (the forced-switch
  // wait) or `done()` was called.
  void await_untimed_wait_or_done() {
    absl::MutexLock lock(&mu_);
    while (untimed_waits_ == 0 && !done_) changed_.Wait(&mu_);
  }
  void done() {
    absl::MutexLock lock(&mu_);
    done_ = true;
    changed_.SignalAll();
  }

 private:
  enum class Point { kNone, kNow, kWakeup };

  void arm(Point point, int skip) {
    absl::MutexLock lock(&mu_);
    armed_ = point;
    thread_ = std::this_thread::get_id();
    skip_ = skip;
  }

  void block() {
    absl::MutexLock lock(&mu_);
    armed_ = Point::kNone;
    held_ = true;
    changed_.SignalAll();
    while (!open_) changed_.Wait(&mu_);
  }

  FakeGilClock& fake_;
  absl::Mutex mu_;
  absl::CondVar changed_;
  Point armed_ ABSL_GUARDED_BY(mu_) = Point::kNone;
  std::thread::id thread_ ABSL_GUARDED_BY(mu_);
  int skip_ ABSL_GUARDED_BY(mu_) = 0;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  int untimed_waits_ ABSL_GUARDED_BY(mu_) = 0;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

TEST(GilTest, DefaultsAreCPythons) {
  Gil gil;
  EXPECT_EQ(gil.policy(), GilPolicy::kNewGil);
  EXPECT_EQ(gil.switch_interval(), absl::Milliseconds(5));
  EXPECT_FALSE(gil.locked());
  EXPECT_FALSE(gil.drop_requested());
  EXPECT_STREQ(gil_policy_name(GilPolicy::kNewGil), "new");
  EXPECT_STREQ(gil_policy_name(GilPolicy::kOldGil), "old");
  EXPECT_STREQ(gil_policy_name(GilPolicy::kFair), "fair");
}

TEST(GilTest, SwitchIntervalIsSettableAndReadable) {
  Gil gil({.switch_interval = absl::Microseconds(100)});
  EXPECT_EQ(gil.switch_interval(), absl::Microseconds(100));
  gil.set_switch_interval(absl::Milliseconds(1));
  EXPECT_EQ(gil.switch_interval(), absl::Milliseconds(1));
}

// sys.setswitchinterval() keeps whole microseconds (it truncates) and the
// timed wait lasts at least 1 us. Reading the interval back gives what is in
// effect: a value the setter accepts (CPython reads back 0.0 for intervals
// under 1 us, which its own setter rejects).
TEST(GilTest, SwitchIntervalIsWholeMicrosecondsAndAtLeastOne) {
  Gil gil;
  gil.set_switch_interval(absl::Nanoseconds(0.5));
  EXPECT_EQ(gil.switch_interval(), absl::Microseconds(1));
  gil.set_switch_interval(gil.switch_interval());  // accepted as read back
  gil.set_switch_interval(absl::Nanoseconds(1999));
  EXPECT_EQ(gil.switch_interval(), absl::Microseconds(1));
  gil.set_switch_interval(absl::Microseconds(2) + absl::Nanoseconds(1));
  EXPECT_EQ(gil.switch_interval(), absl::Microseconds(2));
  EXPECT_EQ(Gil({.switch_interval = absl::Nanoseconds(1)}).switch_interval(),
            absl::Microseconds(1));
  // The largest finite duration does not overflow.
  gil.set_switch_interval(absl::Seconds(INT64_MAX));
  EXPECT_GT(gil.switch_interval(), absl::Hours(24 * 365 * 100));
  EXPECT_LT(gil.switch_interval(), absl::InfiniteDuration());

  // A waiter asks for the GIL after the interval in effect (1 us), not at
  // once.
  FakeGilClock clock;
  Gil timed({.switch_interval = absl::Nanoseconds(0.5), .clock = &clock});
  timed.lock();
  std::thread waiter([&] { std::scoped_lock hold(timed); });
  clock.await_waiters(1, 0);
  clock.advance(absl::Nanoseconds(999));
  clock.await_waiters(1, 0);
  EXPECT_FALSE(timed.drop_requested());
  clock.advance(absl::Nanoseconds(1));
  clock.await_drop_request(timed);
  timed.check();
  timed.unlock();
  waiter.join();
}

TEST(GilTest, BadArgumentsThrowInvalidArgument) {
  EXPECT_THROW(Gil({.switch_interval = absl::ZeroDuration()}),
               std::invalid_argument);
  EXPECT_THROW(Gil({.switch_interval = -absl::Milliseconds(1)}),
               std::invalid_argument);
  EXPECT_THROW(Gil({.switch_interval = absl::InfiniteDuration()}),
               std::invalid_argument);
  EXPECT_THROW(Gil({.policy = GilPolicy::kOldGil, .check_interval = 0}),
               std::invalid_argument);
  Gil gil;
  EXPECT_THROW(gil.set_switch_interval(absl::ZeroDuration()),
               std::invalid_argument);
  EXPECT_THROW(gil.set_switch_interval(-absl::Nanoseconds(1)),
               std::invalid_argument);
  EXPECT_EQ(gil.switch_interval(), absl::Milliseconds(5));  // unchanged
  GilHistogram h;
  EXPECT_THROW(h.quantile(1.5), std::invalid_argument);
  EXPECT_THROW(h.quantile(-0.1), std::invalid_argument);
  FakeGilClock clock;
  EXPECT_THROW(clock.advance(-absl::Seconds(1)), std::invalid_argument);
}

TEST(GilTest, MisuseThrowsGilError) {
  Gil gil;
  EXPECT_THROW(gil.unlock(), GilError);  // not held at all
  try {
    gil.unlock();
  } catch (const std::logic_error& e) {  // GilError is a std::logic_error
    EXPECT_NE(std::string(e.what()).find("does not hold"), std::string::npos);
  }
  EXPECT_THROW(ReleaseGil{gil}, GilError);
  gil.lock();
  EXPECT_THROW(gil.lock(), GilError);  // CPython would deadlock
  EXPECT_THROW(static_cast<void>(gil.try_lock()), GilError);
  std::thread other([&] {
    EXPECT_THROW(gil.unlock(), GilError);  // held by another thread
  });
  other.join();
  EXPECT_TRUE(gil.held_by_current_thread());  // left unchanged
  gil.unlock();
  EXPECT_FALSE(gil.locked());
}

TEST(GilTest, OldGilCheckByNonHolderThrows) {
  Gil gil({.policy = GilPolicy::kOldGil});
  EXPECT_THROW(gil.check(), GilError);
}

TEST(GilTest, TryLock) {
  Gil gil;
  ASSERT_TRUE(gil.try_lock());
  std::thread other([&] { EXPECT_FALSE(gil.try_lock()); });
  other.join();
  gil.unlock();
  std::thread again([&] {
    ASSERT_TRUE(gil.try_lock());
    gil.unlock();
  });
  again.join();
  const GilStats st = gil.stats();
  EXPECT_EQ(st.acquisitions, 2u);
  EXPECT_EQ(st.try_lock_failures, 1u);
  EXPECT_EQ(st.switches, 2u);
}

TEST(GilTest, StdScopedLockWorks) {
  Gil gil;
  {
    std::scoped_lock hold(gil);
    EXPECT_TRUE(gil.held_by_current_thread());
    EXPECT_EQ(current_gil(), &gil);
  }
  EXPECT_FALSE(gil.locked());
  EXPECT_EQ(current_gil(), nullptr);
}

// Mutual exclusion with the real clock and a short interval: plain (non
// atomic) data guarded by the GIL; ThreadSanitizer checks the ordering.
TEST(GilTest, MutualExclusion) {
  for (GilPolicy policy :
       {GilPolicy::kNewGil, GilPolicy::kOldGil, GilPolicy::kFair}) {
    Gil gil({.policy = policy,
             .switch_interval = absl::Microseconds(50),
             .check_interval = 10});
    long counter = 0;
    int inside = 0;
    bool overlap = false;
    constexpr int kThreads = 4;
    constexpr int kIterations = 2000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        std::scoped_lock hold(gil);
        for (int i = 0; i < kIterations; ++i) {
          if (++inside != 1) overlap = true;
          ++counter;
          --inside;
          gil.check();
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_FALSE(overlap) << gil_policy_name(policy);
    EXPECT_EQ(counter, long{kThreads} * kIterations) << gil_policy_name(policy);
  }
}

// kNewGil: a waiter sets the drop request only after a whole switch interval
// without a switch; the holder drops at its next check point, the waiter
// takes it, and the holder waits for that (forced switching) before it takes
// the GIL back.
TEST(GilTest, NewGilDropRequestAfterTimedOutWaitAndForcedSwitch) {
  FakeGilClock clock;
  Gil gil({.switch_interval = absl::Milliseconds(5), .clock = &clock});
  Order order;
  gil.lock();
  order.add("holder");
  gil.check();  // nothing requested: a no-op
  absl::Notification waiter_has_it, let_go;
  std::thread waiter([&] {
    gil.lock();
    order.add("waiter");
    waiter_has_it.Notify();
    let_go.WaitForNotification();
    gil.unlock();
  });
  clock.await_waiters(/*timed=*/1, /*untimed=*/0);
  clock.advance(absl::Milliseconds(5) - absl::Nanoseconds(1));
  clock.await_waiters(1, 0);
  EXPECT_FALSE(gil.drop_requested());  // the interval has not passed yet
  gil.check();                         // so the holder keeps it
  EXPECT_EQ(gil.stats().forced_drops, 0u);
  clock.advance(absl::Nanoseconds(1));
  clock.await_drop_request(gil);
  EXPECT_EQ(gil.stats().drop_requests, 1u);

  std::thread holder_side([&] {
    // check() here would need this thread to hold the GIL: it does not.
    EXPECT_THROW(gil.check(), GilError);
  });
  holder_side.join();

  std::thread watcher([&] {
    waiter_has_it.WaitForNotification();
    // The holder is inside check(), waiting to get the GIL back (a timed
    // wait, as any waiter): it could not take it straight back.
    clock.await_waiters(1, 0);
    EXPECT_TRUE(gil.locked());
    let_go.Notify();
  });
  gil.check();  // drops, lets the waiter in, takes the GIL back
  order.add("holder");
  EXPECT_TRUE(gil.held_by_current_thread());
  EXPECT_FALSE(gil.drop_requested());  // reset by the thread that took it
  gil.unlock();
  watcher.join();
  waiter.join();

  EXPECT_EQ(order.names(),
            (std::vector<std::string>{"holder", "waiter", "holder"}));
  const GilStats st = gil.stats();
  EXPECT_EQ(st.acquisitions, 3u);
  EXPECT_EQ(st.switches, 3u);
  EXPECT_EQ(st.forced_drops, 1u);
  EXPECT_EQ(st.drop_requests, 1u);
  EXPECT_EQ(st.releaser_reacquired, 0u);
  EXPECT_LE(st.forced_switch_waits, 1u);
  EXPECT_EQ(st.contended_acquisitions, 2u);
}

// The switch is booked in the same atomic step that takes the GIL (CPython
// books it under the GIL's mutex, before any waiter can look). Here B takes
// the GIL and is held before it returns from lock(); C starts waiting then,
// so C's interval starts under B. Once it passes, C must ask B to drop the
// GIL. (When the switch was booked after the GIL's mutex was released, C
// read the switch number from before B's switch, saw it change during its
// wait, and waited a second interval.)
TEST(GilTest, NewGilSwitchIsBookedWhenTheGilIsTaken) {
  FakeGilClock fake;
  GatedClock clock(fake);
  Gil gil({.clock = &clock});
  gil.lock();  // A
  absl::Notification b_has_it, b_go;
  std::thread b([&] {
    clock.hold_my_now(/*skip=*/1);
    gil.lock();
    b_has_it.Notify();
    b_go.WaitForNotification();
    gil.unlock();
  });
  fake.await_waiters(1, 0);
  gil.unlock();  // B takes the GIL and is held before lock() returns
  clock.await_held();
  std::thread c([&] { std::scoped_lock hold(gil); });
  fake.await_waiters(1, 0);  // C waits, B holds the GIL
  clock.open();
  b_has_it.WaitForNotification();
  const int64_t started = fake.timed_waits_started();
  fake.advance(gil.switch_interval());          // C's interval passes under B
  fake.await_timed_waits_started(started + 1);  // C has acted, waits again
  EXPECT_TRUE(gil.drop_requested());
  EXPECT_EQ(gil.stats().drop_requests, 1u);
  b_go.Notify();
  b.join();
  c.join();
  EXPECT_EQ(gil.stats().switches, 3u);  // A, B, C
}

// FORCE_SWITCHING applies to every release while a drop is requested, not
// only to drops at a check point (CPython's drop_gil() waits for the switch
// whenever gil_drop_request is set): a thread that releases the GIL and takes
// it straight back, as a loop of short blocking calls does, must let the
// waiter that asked for it in first. Here the waiter is slow to wake up
// (held after it was signalled), so without the forced switch the releasing
// thread always wins the GIL back and the waiter's request is lost.
TEST(GilTest, NewGilVoluntaryReleaseWithDropRequestWaitsForTheSwitch) {
  FakeGilClock fake;
  GatedClock clock(fake);
  Gil gil({.clock = &clock});
  Order order;
  gil.lock();
  order.add("holder");
  std::thread waiter([&] {
    clock.hold_my_wakeup();
    std::scoped_lock hold(gil);
    order.add("waiter");
  });
  fake.await_waiters(1, 0);
  fake.advance(gil.switch_interval());
  fake.await_drop_request(gil);
  std::thread watcher([&] {
    // Let the waiter run once the holder waits for the switch (or, without
    // forced switching, once it has taken the GIL back).
    clock.await_untimed_wait_or_done();
    clock.open();
  });
  gil.unlock();  // voluntary, with a drop requested: waits for the switch
  gil.lock();
  order.add("holder");
  clock.done();
  gil.unlock();
  watcher.join();
  waiter.join();
  EXPECT_EQ(order.names(),
            (std::vector<std::string>{"holder", "waiter", "holder"}));
  const GilStats st = gil.stats();
  EXPECT_EQ(st.forced_switch_waits, 1u);
  EXPECT_EQ(st.forced_drops, 0u);  // no check point dropped it
  EXPECT_EQ(st.releaser_reacquired, 0u);
}

// The waiter's timed wait uses the interval in force when it starts waiting;
// a shorter interval set later applies to its next wait.
TEST(GilTest, NewGilUsesTheSwitchInterval) {
  FakeGilClock clock;
  Gil gil({.switch_interval = absl::Microseconds(100), .clock = &clock});
  gil.lock();
  std::thread waiter([&] { std::scoped_lock hold(gil); });
  clock.await_waiters(1, 0);
  clock.advance(absl::Microseconds(99));
  clock.await_waiters(1, 0);
  EXPECT_FALSE(gil.drop_requested());
  clock.advance(absl::Microseconds(1));
  clock.await_drop_request(gil);
  gil.check();
  gil.unlock();
  waiter.join();
  EXPECT_EQ(gil.stats().forced_drops, 1u);
}

// kOldGil: no timed waits and no drop requests, however long a thread waits;
// the holder releases every check_interval check points instead.
TEST(GilTest, OldGilReleasesEveryNCheckPoints) {
  FakeGilClock clock;
  Gil gil(
      {.policy = GilPolicy::kOldGil, .check_interval = 10, .clock = &clock});
  gil.lock();
  bool waiter_ran = false;  // guarded by the GIL
  std::thread waiter([&] {
    std::scoped_lock hold(gil);
    waiter_ran = true;
  });
  clock.await_waiters(/*timed=*/0, /*untimed=*/1);
  clock.advance(absl::Seconds(10));  // 2000 switch intervals: nothing happens
  EXPECT_FALSE(gil.drop_requested());
  for (int i = 0; i < 9; ++i) gil.check();
  EXPECT_EQ(clock.untimed_waiters(), 1);
  GilStats st = gil.stats();
  EXPECT_EQ(st.interval_releases, 0u);
  EXPECT_EQ(st.acquisitions, 1u);
  gil.check();  // the 10th: release and re-acquire (the waiter may run)
  st = gil.stats();
  EXPECT_EQ(st.interval_releases, 1u);
  EXPECT_EQ(st.drop_requests, 0u);
  EXPECT_EQ(st.forced_drops, 0u);
  EXPECT_TRUE(gil.held_by_current_thread());
  const bool ran_in_between = waiter_ran;
  gil.unlock();
  waiter.join();
  st = gil.stats();
  EXPECT_EQ(st.acquisitions, 3u);
  // Either the waiter got in at the 10th check point, or the releasing thread
  // took the GIL straight back while the waiter waited (the thrashing).
  EXPECT_EQ(st.releaser_reacquired, ran_in_between ? 0u : 1u);
  EXPECT_EQ(st.switches, ran_in_between ? 3u : 2u);
}

// kFair: waiters get the GIL in arrival order and the releasing thread cannot
// barge in ahead of them.
TEST(GilTest, FairHandsOffInArrivalOrder) {
  FakeGilClock clock;
  Gil gil({.policy = GilPolicy::kFair, .clock = &clock});
  Order order;
  absl::Notification go;
  gil.lock();
  auto waiter = [&](std::string name) {
    return std::thread([&gil, &order, &go, name] {
      std::scoped_lock hold(gil);
      order.add(name);
      go.WaitForNotification();
    });
  };
  std::thread w1 = waiter("w1");
  clock.await_waiters(1, 0);
  std::thread w2 = waiter("w2");
  clock.await_waiters(2, 0);
  // Neither has released the GIL before: no immediate drop request.
  EXPECT_FALSE(gil.drop_requested());
  gil.unlock();
  EXPECT_TRUE(gil.locked());      // handed to w1 directly (w1 waits for `go`)
  EXPECT_FALSE(gil.try_lock());   // no barging
  std::thread w3 = waiter("w3");  // arrives last, queues behind w2
  clock.await_waiters(2, 0);      // w2 and w3 queued; w1 holds the GIL
  go.Notify();
  w1.join();
  w2.join();
  w3.join();
  EXPECT_EQ(order.names(), (std::vector<std::string>{"w1", "w2", "w3"}));
  const GilStats st = gil.stats();
  EXPECT_EQ(st.acquisitions, 4u);
  EXPECT_EQ(st.switches, 4u);
  EXPECT_EQ(st.releaser_reacquired, 0u);
  EXPECT_EQ(st.try_lock_failures, 1u);
  EXPECT_FALSE(gil.locked());
}

// kFair: a hand-off wakes only the waiter it hands the GIL to. The others
// stay in their timed waits, so with nobody timing out each queued waiter
// waits exactly once. (When all waiters shared one condition variable, every
// hand-off woke every queued waiter, and each went back to sleep: up to
// 5 + 4 + ... wasted wake-ups here. Each holder keeps the GIL for 2 ms so
// that waiters woken in vain have the time to wake up and be counted: the
// assertion itself does not depend on timing.)
TEST(GilTest, FairHandOffWakesOnlyTheNextWaiter) {
  FakeGilClock clock;
  Gil gil({.policy = GilPolicy::kFair, .clock = &clock});
  Order order;
  constexpr int kWaiters = 6;
  std::vector<std::thread> threads;
  gil.lock();
  for (int i = 0; i < kWaiters; ++i) {
    threads.emplace_back([&gil, &order, i] {
      std::scoped_lock hold(gil);
      order.add("w" + std::to_string(i));
      absl::SleepFor(absl::Milliseconds(2));
    });
    clock.await_waiters(i + 1, 0);  // queued in this order
  }
  gil.unlock();  // w0, w1, ... in turn
  for (auto& t : threads) t.join();
  EXPECT_EQ(order.names(),
            (std::vector<std::string>{"w0", "w1", "w2", "w3", "w4", "w5"}));
  EXPECT_EQ(clock.timed_waits_started(), kWaiters);
  EXPECT_EQ(clock.timed_waits_returned(), kWaiters);
  EXPECT_EQ(gil.stats().switches, 1u + kWaiters);
}

// kFair: a waiter still asks a CPU-bound holder to drop after an interval,
// and the holder hands the GIL over at its check point.
TEST(GilTest, FairDropRequestAfterInterval) {
  FakeGilClock clock;
  Gil gil({.policy = GilPolicy::kFair, .clock = &clock});
  Order order;
  gil.lock();
  order.add("holder");
  std::thread waiter([&] {
    std::scoped_lock hold(gil);
    order.add("waiter");
  });
  clock.await_waiters(1, 0);
  EXPECT_FALSE(gil.drop_requested());
  clock.advance(gil.switch_interval());
  clock.await_drop_request(gil);
  gil.check();
  order.add("holder");
  gil.unlock();
  waiter.join();
  EXPECT_EQ(order.names(),
            (std::vector<std::string>{"holder", "waiter", "holder"}));
  EXPECT_EQ(gil.stats().forced_drops, 1u);
}

// kFair: after a hand-off, the thread that handed the GIL over queues again
// and asks for it back after exactly one switch interval (the switch is
// booked at the hand-off, so the new holder's wake-up does not reset the
// waiter's interval).
TEST(GilTest, FairRequeuedHolderAsksAfterOneInterval) {
  FakeGilClock clock;
  Gil gil({.policy = GilPolicy::kFair, .clock = &clock});
  Order order;
  absl::Notification b_has_it, b_go;
  gil.lock();
  order.add("a");
  std::thread b([&] {
    gil.lock();
    order.add("b");
    b_has_it.Notify();
    b_go.WaitForNotification();
    gil.check();  // a asked for the GIL back: hand it over
    order.add("b");
    gil.unlock();
  });
  clock.await_waiters(1, 0);
  clock.advance(gil.switch_interval());
  clock.await_drop_request(gil);
  std::thread a_side([&] {
    b_has_it.WaitForNotification();
    clock.await_waiters(1, 0);  // a queued again behind nobody
    EXPECT_FALSE(gil.drop_requested());
    clock.advance(gil.switch_interval());
    clock.await_drop_request(gil);  // after one interval, not two
    b_go.Notify();
  });
  gil.check();  // hands the GIL to b, queues, gets it back from b
  order.add("a");
  gil.unlock();
  a_side.join();
  b.join();
  EXPECT_EQ(order.names(), (std::vector<std::string>{"a", "b", "a", "b"}));
  const GilStats st = gil.stats();
  EXPECT_EQ(st.drop_requests, 2u);
  EXPECT_EQ(st.forced_drops, 2u);
  EXPECT_EQ(st.switches, 4u);  // a, b, a, and b again after a's unlock
  EXPECT_EQ(st.releaser_reacquired, 0u);
}

// The convoy effect (bpo-7946): an I/O-bound thread comes back from a blocking
// call while a CPU-bound thread holds the GIL. With kNewGil it waits a whole
// switch interval before it even asks; with kFair it asks at once.
class ConvoyTest : public TestWithParam<GilPolicy> {};

TEST_P(ConvoyTest, IoThreadComingBackFromABlockingCall) {
  const GilPolicy policy = GetParam();
  FakeGilClock clock;
  Gil gil({.policy = policy, .clock = &clock});
  absl::Notification io_blocking, io_done, cpu_has_it;
  bool io_back = false;  // guarded by the GIL
  std::thread io([&] {
    std::scoped_lock hold(gil);
    {
      ReleaseGil allow_threads(gil);  // the blocking call
      io_blocking.Notify();
      io_done.WaitForNotification();
    }
    io_back = true;
  });
  io_blocking.WaitForNotification();
  gil.lock();  // the CPU-bound thread
  io_done.Notify();
  clock.await_waiters(1, 0);  // the I/O thread wants the GIL back
  if (policy == GilPolicy::kFair) {
    clock.await_drop_request(gil);  // at once, without any time passing
  } else {
    EXPECT_FALSE(gil.drop_requested());
    clock.advance(gil.switch_interval());
    clock.await_drop_request(gil);
  }
  gil.check();
  EXPECT_TRUE(io_back);
  gil.unlock();
  io.join();
  const GilStats st = gil.stats();
  EXPECT_EQ(st.drop_requests, 1u);
  EXPECT_EQ(st.forced_drops, 1u);
}

INSTANTIATE_TEST_SUITE_P(Policies, ConvoyTest,
                         Values(GilPolicy::kNewGil, GilPolicy::kFair),
                         [](const auto& info) {
                           return std::string(gil_policy_name(info.param));
                         });

TEST(GilTest, ReleaseGilLetsAnotherThreadIn) {
  Gil gil;
  gil.lock();
  int shared = 0;
  {
    ReleaseGil allow_threads(gil);
    EXPECT_EQ(allow_threads.gil(), &gil);
    EXPECT_FALSE(gil.locked());
    EXPECT_EQ(current_gil(), nullptr);
    std::thread other([&] {
      std::scoped_lock hold(gil);
      shared = 1;
    });
    other.join();
  }
  EXPECT_TRUE(gil.held_by_current_thread());
  EXPECT_EQ(current_gil(), &gil);
  EXPECT_EQ(shared, 1);
  gil.unlock();
}

TEST(GilTest, CurrentGilHelpersWithAndWithoutAGil) {
  // No GIL: the helpers do nothing to any lock.
  EXPECT_EQ(current_gil(), nullptr);
  {
    ReleaseGil none;
    EXPECT_EQ(none.gil(), nullptr);
  }
  check_gil();
  gil_sleep(absl::ZeroDuration());
  EXPECT_EQ(without_gil([] { return 7; }), 7);

  Gil gil;
  gil.lock();
  check_gil();
  EXPECT_EQ(without_gil([&] { return gil.locked() ? 1 : 2; }), 2);
  EXPECT_TRUE(gil.held_by_current_thread());
  EXPECT_THROW(without_gil([]() -> int { throw std::runtime_error("io"); }),
               std::runtime_error);
  EXPECT_TRUE(gil.held_by_current_thread());  // taken back despite the throw
  gil_sleep(absl::ZeroDuration());  // time.sleep(0): release and re-acquire
  EXPECT_TRUE(gil.held_by_current_thread());
  EXPECT_THROW(gil_sleep(-absl::Milliseconds(1)), std::invalid_argument);
  EXPECT_THROW(gil_sleep(absl::InfiniteDuration()), std::invalid_argument);
  EXPECT_TRUE(gil.held_by_current_thread());
  gil.unlock();
  // lock, 2 x without_gil, gil_sleep: 4 acquisitions.
  EXPECT_EQ(gil.stats().acquisitions, 4u);
}

// A thread may hold several GILs (as a thread that moves between
// subinterpreters with their own GILs): current_gil() is the most recently
// taken one that it still holds, whatever order it releases them in, so the
// helpers that find the GIL through it keep working after an inner GIL is
// released.
TEST(GilTest, CurrentGilIsRestoredForNestedGils) {
  Gil a, b, c;
  a.lock();
  b.lock();
  EXPECT_EQ(current_gil(), &b);
  b.unlock();
  EXPECT_EQ(current_gil(), &a);
  EXPECT_EQ(without_gil([&] { return a.locked(); }), false);
  EXPECT_TRUE(a.held_by_current_thread());

  b.lock();
  c.lock();
  EXPECT_EQ(current_gil(), &c);
  {
    ReleaseGil allow_threads;  // the current one: c
    EXPECT_EQ(allow_threads.gil(), &c);
    EXPECT_FALSE(c.locked());
    EXPECT_EQ(current_gil(), &b);
  }
  EXPECT_EQ(current_gil(), &c);
  b.unlock();  // not the most recent: c stays current, a is below it
  EXPECT_EQ(current_gil(), &c);
  c.unlock();
  EXPECT_EQ(current_gil(), &a);

  // Another thread's GILs are its own.
  std::thread other([&] {
    EXPECT_EQ(current_gil(), nullptr);
    std::scoped_lock hold(b);
    EXPECT_EQ(current_gil(), &b);
  });
  other.join();
  EXPECT_EQ(current_gil(), &a);
  a.unlock();
  EXPECT_EQ(current_gil(), nullptr);
}

TEST(GilTest, StatisticsAreConsistent) {
  FakeGilClock clock;
  Gil gil({.record_times = true, .clock = &clock});
  gil.lock();
  clock.advance(absl::Milliseconds(3));
  gil.unlock();  // held 3 ms

  gil.lock();
  std::thread waiter([&] {
    gil.lock();
    clock.advance(absl::Milliseconds(1));
    gil.unlock();  // held 1 ms
  });
  clock.await_waiters(1, 0);
  clock.advance(absl::Milliseconds(5));  // the waiter's interval passes
  clock.await_drop_request(gil);
  gil.unlock();  // held 5 ms; the waiter waited 5 ms
  waiter.join();

  const GilStats st = gil.stats();
  EXPECT_EQ(st.acquisitions, 3u);
  EXPECT_EQ(st.contended_acquisitions, 1u);
  EXPECT_EQ(st.switches, 2u);
  EXPECT_EQ(st.drop_requests, 1u);
  EXPECT_EQ(st.forced_drops, 0u);  // released voluntarily, not at a check
  EXPECT_EQ(st.hold_time.count, 3u);
  EXPECT_EQ(st.hold_time.total, absl::Milliseconds(9));
  EXPECT_EQ(st.hold_time.max, absl::Milliseconds(5));
  EXPECT_EQ(st.hold_time.quantile(1.0), absl::Milliseconds(5));
  EXPECT_EQ(st.hold_time.mean(), absl::Milliseconds(3));
  EXPECT_EQ(st.wait_time.count, 3u);
  EXPECT_EQ(st.wait_time.buckets[0], 2u);  // two uncontended acquisitions
  EXPECT_EQ(st.wait_time.total, absl::Milliseconds(5));
  EXPECT_EQ(st.wait_time.quantile(0.5), absl::ZeroDuration());
  EXPECT_EQ(st.wait_time.quantile(1.0), absl::Milliseconds(5));
  uint64_t bucket_sum = 0;
  for (uint64_t b : st.hold_time.buckets) bucket_sum += b;
  EXPECT_EQ(bucket_sum, st.hold_time.count);

  ASSERT_EQ(st.threads.size(), 2u);
  EXPECT_EQ(st.threads[0].thread, std::this_thread::get_id());
  EXPECT_EQ(st.threads[0].acquisitions, 2u);
  EXPECT_EQ(st.threads[0].held, absl::Milliseconds(8));
  EXPECT_EQ(st.threads[1].acquisitions, 1u);
  EXPECT_EQ(st.threads[1].held, absl::Milliseconds(1));
  EXPECT_DOUBLE_EQ(st.threads[0].share, 8.0 / 9.0);
  EXPECT_DOUBLE_EQ(st.threads[0].share + st.threads[1].share, 1.0);
}

TEST(GilTest, WithoutRecordTimesSharesCountAcquisitions) {
  Gil gil;
  for (int i = 0; i < 3; ++i) {
    std::scoped_lock hold(gil);
  }
  std::thread other([&] { std::scoped_lock hold(gil); });
  other.join();
  const GilStats st = gil.stats();
  EXPECT_EQ(st.hold_time.count, 0u);
  ASSERT_EQ(st.threads.size(), 2u);
  EXPECT_DOUBLE_EQ(st.threads[0].share, 0.75);
  EXPECT_DOUBLE_EQ(st.threads[1].share, 0.25);
  EXPECT_EQ(st.releaser_reacquired, 0u);  // nobody was waiting
}

TEST(ReleaseGilRegressionTest, BodyThatRelocksDoesNotTerminate) {
  Gil gil;
  gil.lock();
  {
    ReleaseGil allow_threads(gil);
    EXPECT_FALSE(gil.held_by_current_thread());
    gil.lock();  // took it back inside the scope
  }              // the destructor must not lock() a second time (GilError)
  EXPECT_TRUE(gil.held_by_current_thread());
  gil.unlock();
}

}  // namespace
}  // namespace concurrent
