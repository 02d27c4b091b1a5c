// Copyright 2026 The concurrent Authors.
//
// CPU helpers for spin-then-park waits (the futures core and the executors).
// Private: not part of any public API.

#ifndef CONCURRENT_FUTURES_INTERNAL_CPU_H_
#define CONCURRENT_FUTURES_INTERNAL_CPU_H_

#include <sched.h>

namespace concurrent {
namespace internal {

// One polite pause in a spin loop.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Whether the calling thread may run on more than one CPU. When it may not
// (say, under `taskset -c 0`), spinning only delays the thread it waits for.
// Read once per thread.
inline bool MayRunOnSeveralCpus() {
  thread_local const bool several = [] {
    cpu_set_t set;
    CPU_ZERO(&set);
    return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1;
  }();
  return several;
}

}  // namespace internal
}  // namespace concurrent

#endif  // CONCURRENT_FUTURES_INTERNAL_CPU_H_
