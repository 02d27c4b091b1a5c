// -----------------------------------------------------------------------------
// fake_gil_clock.h
// -----------------------------------------------------------------------------
//
// `FakeGilClock` is a `GilClock` whose time only moves when a test calls
// `advance()`. A `Gil` built with it waits for its switch interval in fake
// time, so a test can say "the waiter's interval has now passed" instead of
// sleeping, and can wait (without polling) until a given number of threads are
// blocked inside the GIL.
//
//   concurrent::FakeGilClock clock;
//   concurrent::Gil gil({.clock = &clock});
//   gil.lock();
//   std::thread waiter([&] { std::scoped_lock hold(gil); });
//   clock.await_waiters(/*timed=*/1, /*untimed=*/0);  // waiter is waiting
//   clock.advance(gil.switch_interval());             // its wait times out
//   clock.await_drop_request(gil);                    // it asked for the GIL
//   gil.check();  // drops, waits until the waiter took it, takes it back
//
// Thread-safety: thread-safe.
//
// A timed wait ends when it is signalled (it then returns "not timed out",
// which the GIL treats like a spurious wake-up) or when `advance()` moves time
// past its deadline (it then returns "timed out"). The condition variable of
// a wait need not outlive it (a Gil may wait on one per waiter); its mutex
// must outlive every wait on it.

#ifndef CONCURRENT_GIL_FAKE_GIL_CLOCK_H_
#define CONCURRENT_GIL_FAKE_GIL_CLOCK_H_

#include <cstdint>
#include <list>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gil/gil.h"

namespace concurrent {

class FakeGilClock final : public GilClock {
 public:
  explicit FakeGilClock(absl::Time start = absl::UnixEpoch());
  FakeGilClock(const FakeGilClock&) = delete;
  FakeGilClock& operator=(const FakeGilClock&) = delete;

  absl::Time now() override;
  bool wait_with_timeout(absl::CondVar& cv, absl::Mutex& mu,
                         absl::Duration timeout) override;
  void wait(absl::CondVar& cv, absl::Mutex& mu) override;

  // Moves time forward by `d` (>= 0, else std::invalid_argument) and wakes
  // every timed wait whose deadline has passed.
  void advance(absl::Duration d);

  // Blocks until exactly `timed` threads are in wait_with_timeout() and
  // `untimed` threads in wait().
  void await_waiters(int timed, int untimed);

  // Blocks until `gil` has a drop request pending. (Uses the same wake-ups as
  // await_waiters: a drop request is set by a waiter that then waits again.)
  void await_drop_request(const Gil& gil);

  int timed_waiters();
  int untimed_waiters();

  // How many timed waits have started, and how many have returned (timed out
  // or not), since construction.
  int64_t timed_waits_started();
  int64_t timed_waits_returned();
  // Blocks until at least `n` timed waits have started. After advance(), a
  // test awaits `timed_waits_started() + 1` (read before advancing) to know
  // that the waiter it timed out has acted on it and is waiting again.
  void await_timed_waits_started(int64_t n);

 private:
  struct Entry {
    absl::CondVar* cv;
    absl::Mutex* mu;
    absl::Time deadline;
  };

  absl::Mutex mu_;
  absl::CondVar changed_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  std::list<Entry*> entries_ ABSL_GUARDED_BY(mu_);
  int timed_ ABSL_GUARDED_BY(mu_) = 0;
  int untimed_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t timed_started_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t timed_returned_ ABSL_GUARDED_BY(mu_) = 0;
  // Incremented on every wait entry and exit.
  uint64_t events_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace concurrent

#endif  // CONCURRENT_GIL_FAKE_GIL_CLOCK_H_
