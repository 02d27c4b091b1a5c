// Copyright 2026 The concurrent Authors.

#include "ipc/internal/futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

namespace concurrent {
namespace internal {

void SharedFutexWait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                     absl::Duration timeout) noexcept {
  timeout = std::clamp(timeout, absl::ZeroDuration(), absl::Hours(1));
  const timespec ts = absl::ToTimespec(timeout);
  // FUTEX_WAIT's timeout is relative (CLOCK_MONOTONIC). No PRIVATE flag.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT,
          expected, &ts, nullptr, 0);
}

void SharedFutexWake(std::atomic<std::uint32_t>* word, int count) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE, count,
          nullptr, nullptr, 0);
}

}  // namespace internal
}  // namespace concurrent
