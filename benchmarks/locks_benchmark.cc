// Uncontended lock + unlock of the standard and Abseil mutexes: the baseline
// that this project's locks are measured against.
#include <mutex>

#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"

namespace {

void BM_StdMutexLockUnlock(benchmark::State& state) {
  std::mutex mu;
  for (auto _ : state) {
    mu.lock();
    benchmark::ClobberMemory();
    mu.unlock();
  }
}
BENCHMARK(BM_StdMutexLockUnlock);

void BM_AbslMutexLockUnlock(benchmark::State& state) {
  absl::Mutex mu;
  for (auto _ : state) {
    mu.Lock();
    benchmark::ClobberMemory();
    mu.Unlock();
  }
}
BENCHMARK(BM_AbslMutexLockUnlock);

}  // namespace
