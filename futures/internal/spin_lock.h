// Copyright 2026 The concurrent Authors.
//
// A one-byte lock for critical sections of a few instructions that never
// block inside (a future's listener list). Private: not part of any public
// API.
//
// Why not absl::Mutex: Debian's Abseil runs its deadlock detector on every
// Lock() and in the destructor of every mutex that was locked, even in
// release builds; on a future's listener list that cost 3x the rest of a done
// callback (callgrind: GraphCycles was a third of the instructions).
// Why not std::mutex: 40 bytes in every future's state, for a lock that is
// almost never contended (one registration against one completion).
//
// Contention is handled by spinning a little and then yielding the CPU, so a
// holder that was preempted gets to run.

#ifndef CONCURRENT_FUTURES_INTERNAL_SPIN_LOCK_H_
#define CONCURRENT_FUTURES_INTERNAL_SPIN_LOCK_H_

#include <sched.h>

#include <atomic>

#include "absl/base/thread_annotations.h"
#include "futures/internal/cpu.h"

namespace concurrent {
namespace internal {

class ABSL_LOCKABLE SpinLock {
 public:
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    lock_slow();
  }
  void unlock() ABSL_UNLOCK_FUNCTION() {
    locked_.store(false, std::memory_order_release);
  }

 private:
  void lock_slow() {
    for (int i = 0;; ++i) {
      if (!locked_.load(std::memory_order_relaxed) &&
          !locked_.exchange(true, std::memory_order_acquire)) {
        return;
      }
      if (i < 64 && MayRunOnSeveralCpus()) {
        CpuRelax();
      } else {
        sched_yield();
      }
    }
  }

  std::atomic<bool> locked_{false};
};

class ABSL_SCOPED_LOCKABLE SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock* lock) ABSL_EXCLUSIVE_LOCK_FUNCTION(lock)
      : lock_(lock) {
    lock_->lock();
  }
  ~SpinLockHolder() ABSL_UNLOCK_FUNCTION() { lock_->unlock(); }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock* const lock_;
};

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_FUTURES_INTERNAL_SPIN_LOCK_H_
