#include "gil/fake_gil_clock.h"

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
    ++events_;
    changed_.SignalAll();
  }
  // `mu` stays held from the registration above until cv.Wait releases it, so
  // advance() (which takes `mu` before signalling) cannot slip in between.
  cv.Wait(&mu);
  absl::MutexLock lock(&mu_);
  entries_.erase(it);
  --timed_;
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
  std::vector<Entry> due;
  {
    absl::MutexLock lock(&mu_);
    now_ += d;
    for (Entry* e : entries_) {
      if (e->deadline <= now_) due.push_back(*e);
    }
  }
  // The condition variables and mutexes belong to the GIL, which outlives the
  // wait; the entries themselves may be gone by now, so they were copied.
  for (const Entry& e : due) {
    absl::MutexLock lock(e.mu);
    e.cv->SignalAll();
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

int FakeGilClock::untimed_waiters() {
  absl::MutexLock lock(&mu_);
  return untimed_;
}

}  // namespace concurrent
