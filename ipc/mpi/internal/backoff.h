// Copyright 2026 The concurrent Authors.
//
// How ipc/mpi's loops wait for a message without burning a core: MPI offers
// no way to block on a message and on anything else (a new task, shutdown),
// and Open MPI's own blocking calls spin. So a loop polls (MPI_Iprobe): first
// for kSpin, yielding now and then, then sleeping between polls, from kMinNap
// doubling to kMaxNap. A worker rank computing a long task and a master
// waiting for it thus cost no CPU beyond one poll per kMaxNap, while
// back-to-back short tasks find the loop still spinning. The master caps its
// naps while tasks run at a sixteenth of their mean run time, so that a task
// of a few milliseconds is not followed by a millisecond before its reply is
// seen and the next task sent (that cost up to 2.5 ms per hand-off). Private
// to ipc/mpi.

#ifndef CONCURRENT_IPC_MPI_INTERNAL_BACKOFF_H_
#define CONCURRENT_IPC_MPI_INTERNAL_BACKOFF_H_

#include <sched.h>

#include <algorithm>
#include <chrono>

namespace concurrent {
namespace internal {

class PollBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::microseconds kSpin{200};
  static constexpr std::chrono::microseconds kMinNap{20};
  static constexpr std::chrono::microseconds kMaxNap{1000};

  // Something happened: spin again on the next idle round.
  void reset() noexcept { idle_rounds_ = 0; }

  // An idle round: returns 0 if the caller should poll again at once, else
  // how long to nap before the next poll: at most `max_nap` (clamped to
  // [kMinNap, kMaxNap]).
  std::chrono::microseconds idle(
      std::chrono::microseconds max_nap = kMaxNap) noexcept {
    if (idle_rounds_++ == 0) {
      spin_start_ = Clock::now();
      nap_ = kMinNap;
      return std::chrono::microseconds(0);
    }
    if (Clock::now() - spin_start_ < kSpin) {
      if (idle_rounds_ % 16 == 0) sched_yield();
      return std::chrono::microseconds(0);
    }
    const std::chrono::microseconds nap =
        std::min(nap_, std::clamp(max_nap, kMinNap, kMaxNap));
    nap_ = std::min(nap_ * 2, kMaxNap);
    return nap;
  }

 private:
  long idle_rounds_ = 0;
  Clock::time_point spin_start_;
  std::chrono::microseconds nap_ = kMinNap;
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_MPI_INTERNAL_BACKOFF_H_
