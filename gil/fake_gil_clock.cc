#include "gil/fake_gil_clock.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace concurrent {

FakeGilClock::FakeGilClock(absl::Time start) : now_(start) {}

absl::Time FakeGilClock::now() {
  absl::MutexLock lock(&mu_);
  return now_;
}

bool FakeGilClock::wait_with_timeout(absl::CondVar& cv, absl::Mutex& mu,
                                     absl::Duration timeout) {
  Entry entry{&cv, &mu, absl::InfinitePast()};
  std::list<Entry*>::iterator it;
  {
    absl::MutexLock lock(&mu_);
    entry.deadline = now_ + timeout;
    it = entries_.insert(entries_.end(), &entry);
    ++timed_;
    ++timed_started_;
    ++events_;
    changed_.SignalAll();
  }
  // `mu` stays held from the registration above until cv.Wait releases it, so
  // advance() (which takes `mu` before signalling) cannot slip in between.
  cv.Wait(&mu);
  absl::MutexLock lock(&mu_);
  entries_.erase(it);
  --timed_;
  ++timed_returned_;
  ++events_;
  changed_.SignalAll();
  return now_ >= entry.deadline;
}

void FakeGilClock::wait(absl::CondVar& cv, absl::Mutex& mu) {
  {
    absl::MutexLock lock(&mu_);
    ++untimed_;
    ++events_;
    changed_.SignalAll();
  }
  cv.Wait(&mu);
  absl::MutexLock lock(&mu_);
  --untimed_;
  ++events_;
  changed_.SignalAll();
}

void FakeGilClock::advance(absl::Duration d) {
  if (d < absl::ZeroDuration()) {
    throw std::invalid_argument("FakeGilClock::advance: negative duration");
  }
  std::vector<absl::Mutex*> mutexes;
  {
    absl::MutexLock lock(&mu_);
    now_ += d;
    for (Entry* e : entries_) {
      if (e->deadline <= now_) mutexes.push_back(e->mu);
    }
  }
  std::sort(mutexes.begin(), mutexes.end());
  mutexes.erase(std::unique(mutexes.begin(), mutexes.end()), mutexes.end());
  // A due entry's mutex belongs to the GIL, which outlives the wait; its entry
  // and condition variable may be gone by now (the wait was signalled and
  // returned), so they are looked up again while holding the waiters' mutex:
  // an entry still listed is still waiting (it unlists itself holding that
  // mutex) and its condition variable is alive.
  for (absl::Mutex* m : mutexes) {
    absl::MutexLock waiters(m);
    absl::MutexLock lock(&mu_);
    for (Entry* e : entries_) {
      if (e->mu == m && e->deadline <= now_) e->cv->SignalAll();
    }
  }
}

void FakeGilClock::await_waiters(int timed, int untimed) {
  absl::MutexLock lock(&mu_);
  while (timed_ != timed || untimed_ != untimed) changed_.Wait(&mu_);
}

void FakeGilClock::await_drop_request(const Gil& gil) {
  absl::MutexLock lock(&mu_);
  while (!gil.drop_requested()) changed_.Wait(&mu_);
}

int FakeGilClock::timed_waiters() {
  absl::MutexLock lock(&mu_);
  return timed_;
}

int64_t FakeGilClock::timed_waits_started() {
  absl::MutexLock lock(&mu_);
  return timed_started_;
}

int64_t FakeGilClock::timed_waits_returned() {
  absl::MutexLock lock(&mu_);
  return timed_returned_;
}

void FakeGilClock::await_timed_waits_started(int64_t n) {
  absl::MutexLock lock(&mu_);
  while (timed_started_ < n) changed_.Wait(&mu_);
}

int FakeGilClock::untimed_waiters() {
  absl::MutexLock lock(&mu_);
  return untimed_;
}

}  // namespace concurrent
