// The seed's claim, through the real executor: ThreadPoolExecutor tasks that
// hold a GIL (around_task = hold_gil) gain nothing from a second worker when
// CPU-bound, and gain from more workers when I/O-bound (blocking calls release
// the GIL); without a GIL, CPU-bound tasks scale.
//
//   PoolCpuBound/<gil|no_gil>/workers:W   4 CPU-bound units (~20 ms each)
//   PoolIoBound/<gil|no_gil>/workers:W    8 tasks of 5 x 2 ms sleeps
//
// Speedup = time with 1 worker / time with W workers, read off the medians.

#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "benchmarks/gil_experiments.h"
#include "executors/thread_pool_executor.h"
#include "futures/future.h"
#include "gil/gil.h"

namespace {

using concurrent::Future;
using concurrent::Gil;
using concurrent::ThreadPoolExecutor;

int64_t unit_steps() {
  static const int64_t steps =
      concurrent::bench::calibrate_unit(absl::Milliseconds(20));
  return steps;
}

std::unique_ptr<ThreadPoolExecutor> MakePool(int workers, Gil* gil) {
  ThreadPoolExecutor::Options options{.max_workers = workers};
  if (gil != nullptr) options.around_task = concurrent::hold_gil(*gil);
  return std::make_unique<ThreadPoolExecutor>(std::move(options));
}

// One CPU-bound unit; calls the check point when the task holds a GIL.
uint64_t CpuUnit() {
  if (Gil* gil = concurrent::current_gil()) {
    return concurrent::bench::work_unit(*gil, unit_steps());
  }
  Gil private_gil;  // uncontended: the same instructions, no sharing
  std::scoped_lock hold(private_gil);
  return concurrent::bench::work_unit(private_gil, unit_steps());
}

void PoolCpuBound(benchmark::State& state, bool with_gil) {
  const int workers = static_cast<int>(state.range(0));
  unit_steps();  // calibrate outside the timing
  for (auto _ : state) {
    Gil gil;
    auto pool = MakePool(workers, with_gil ? &gil : nullptr);
    std::vector<Future<uint64_t>> fs;
    for (int i = 0; i < 4; ++i) fs.push_back(pool->submit(CpuUnit));
    for (auto& f : fs) benchmark::DoNotOptimize(f.result());
  }
}

void PoolIoBound(benchmark::State& state, bool with_gil) {
  const int workers = static_cast<int>(state.range(0));
  for (auto _ : state) {
    Gil gil;
    auto pool = MakePool(workers, with_gil ? &gil : nullptr);
    std::vector<Future<void>> fs;
    for (int i = 0; i < 8; ++i) {
      fs.push_back(pool->submit([] {
        for (int k = 0; k < 5; ++k) {
          concurrent::gil_sleep(absl::Milliseconds(2));  // "I/O"
        }
      }));
    }
    for (auto& f : fs) f.result();
  }
}

BENCHMARK_CAPTURE(PoolCpuBound, gil, true)
    ->Name("PoolCpuBound/gil")
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(PoolCpuBound, no_gil, false)
    ->Name("PoolCpuBound/no_gil")
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(PoolIoBound, gil, true)
    ->Name("PoolIoBound/gil")
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(PoolIoBound, no_gil, false)
    ->Name("PoolIoBound/no_gil")
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
