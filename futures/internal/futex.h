// Copyright 2026 The concurrent Authors.
//
// The one futex wrapper of the library (futures' status word, the thread
// pool's parked workers, the wait hubs), and deadlines on the monotonic clock
// that every timed wait uses. Private: not part of any public API.

#ifndef CONCURRENT_FUTURES_INTERNAL_FUTEX_H_
#define CONCURRENT_FUTURES_INTERNAL_FUTEX_H_

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <ctime>

#include "absl/time/time.h"

namespace concurrent {
namespace internal {

// CLOCK_MONOTONIC, as a duration since its (arbitrary) epoch.
inline absl::Duration MonotonicNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return absl::DurationFromTimespec(ts);
}

// A point on the monotonic clock, or "never". Timeouts become deadlines once,
// at the start of a wait, so a wait that wakes up spuriously or in several
// steps does not stretch, and a jump of the wall clock changes nothing.
class Deadline {
 public:
  // Never passes.
  static Deadline Infinite() { return Deadline(absl::InfiniteDuration()); }
  // `timeout` from now (one clock read; none for an infinite timeout). A zero
  // or negative timeout has passed already.
  static Deadline After(absl::Duration timeout) {
    if (timeout == absl::InfiniteDuration()) return Infinite();
    return Deadline(MonotonicNow() + timeout);
  }

  bool infinite() const { return at_ == absl::InfiniteDuration(); }
  bool passed() const { return !infinite() && MonotonicNow() >= at_; }
  // What is left (zero once passed; infinite for Infinite()).
  absl::Duration remaining() const {
    if (infinite()) return absl::InfiniteDuration();
    return std::max(at_ - MonotonicNow(), absl::ZeroDuration());
  }
  // The absolute CLOCK_MONOTONIC time, for FUTEX_WAIT_BITSET. Requires
  // !infinite().
  timespec to_timespec() const { return absl::ToTimespec(at_); }

 private:
  explicit Deadline(absl::Duration at) : at_(at) {}
  absl::Duration at_;  // since the monotonic epoch
};

// Sleeps while `word` holds `expected`, until woken or `deadline` passes.
// Spurious returns happen: callers re-check the word (and the deadline).
inline void FutexWait(const std::atomic<std::uint32_t>& word,
                      std::uint32_t expected,
                      const Deadline& deadline = Deadline::Infinite()) {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  timespec ts;
  const timespec* at = nullptr;
  if (!deadline.infinite()) {
    ts = deadline.to_timespec();
    at = &ts;
  }
  syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word),
          FUTEX_WAIT_BITSET_PRIVATE, expected, at, nullptr,
          FUTEX_BITSET_MATCH_ANY);
}

// Wakes up to `count` threads sleeping on `word`.
inline void FutexWake(const std::atomic<std::uint32_t>& word, int count) {
  syscall(SYS_futex, reinterpret_cast<const std::uint32_t*>(&word),
          FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

inline void FutexWakeAll(const std::atomic<std::uint32_t>& word) {
  FutexWake(word, INT_MAX);
}

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_FUTURES_INTERNAL_FUTEX_H_
