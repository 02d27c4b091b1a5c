// Copyright 2026 The concurrent Authors.
//
// Cross-process wait and wake on a 32-bit word in shared memory: the raw
// futex system call WITHOUT FUTEX_PRIVATE_FLAG, so a process can wake another
// one that mapped the same memory. (libstdc++ 12's std::atomic::wait uses the
// private futex and cannot.) Private to ipc/.

#ifndef CONCURRENT_IPC_INTERNAL_FUTEX_H_
#define CONCURRENT_IPC_INTERNAL_FUTEX_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace concurrent {
namespace internal {

static_assert(std::atomic<std::uint32_t>::is_always_lock_free,
              "a futex word must be a plain lock-free 32-bit word");
static_assert(sizeof(std::atomic<std::uint32_t>) == 4);

// Blocks while `*word == expected`, at most `timeout` (bounded: every wait
// in ipc/ re-checks liveness afterwards). Returns on a wake, a timeout, a
// signal or a changed word; the caller re-checks its condition.
void SharedFutexWait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                     absl::Duration timeout) noexcept;

// Wakes up to `count` waiters on `word`, in any process.
void SharedFutexWake(std::atomic<std::uint32_t>* word, int count) noexcept;

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_IPC_INTERNAL_FUTEX_H_
