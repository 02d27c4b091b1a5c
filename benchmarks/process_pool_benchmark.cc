// Copyright 2026 The concurrent Authors.
//
// The process pool's overheads as the tour measures them (experiment 5,
// benchmarks/tour/overheads.cc), on ProcessPoolExecutor(2) with a trivial
// registered task:
//
//   ProcessLatency/concurrent          submit one task to a warm, idle pool
//                                      and wait for its result
//   ProcessThroughput20k/concurrent    20,000 submits, then wait for all (the
//   ProcessThroughput1k/concurrent     tour's --quick uses 1,000)
//
// CPython's counterparts are in benchmarks/python/tour.py (overheads).
// //benchmarks:ipc has the fuller set (map, CPU-bound, large payloads, cold
// start, idle CPU) with its own main(); this file is a library (alwayslink:
// the functions register themselves with Google Benchmark) so that the tour
// links and runs these by name. A program that links it must call
// ProcessPoolExecutor::start_fork_server() at the top of main().

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "benchmark/benchmark.h"
#include "futures/future.h"
#include "ipc/process_pool_executor.h"
#include "ipc/task_registry.h"

namespace concurrent::bench {
namespace {

constexpr int kWorkers = 2;

std::int64_t process_identity(std::int64_t x) { return x; }
CONCURRENT_REGISTER_TASK(process_identity);

// Both workers up and past their first tasks before timing starts.
void warm(ProcessPoolExecutor& pool) {
  std::vector<Future<std::int64_t>> fs;
  for (int i = 0; i < 200; ++i) fs.push_back(pool.submit(process_identity, i));
  for (auto& f : fs) f.result();
}

void BM_ProcessLatency(benchmark::State& state) {
  ProcessPoolExecutor pool(kWorkers);
  warm(pool);
  std::int64_t sum = 0;
  for (auto _ : state) sum += pool.submit(process_identity, 1).result();
  benchmark::DoNotOptimize(sum);
}
// Process CPU time: the manager thread's spinning shows there.
BENCHMARK(BM_ProcessLatency)
    ->Name("ProcessLatency/concurrent")
    ->UseRealTime()
    ->MeasureProcessCPUTime();

void BM_ProcessThroughput(benchmark::State& state) {
  const auto tasks = static_cast<int>(state.range(0));
  ProcessPoolExecutor pool(kWorkers);
  warm(pool);
  std::vector<Future<std::int64_t>> fs;
  fs.reserve(tasks);
  for (auto _ : state) {
    for (int i = 0; i < tasks; ++i)
      fs.push_back(pool.submit(process_identity, i));
    std::int64_t sum = 0;
    for (auto& f : fs) sum += f.result();
    if (sum != std::int64_t{tasks} * (tasks - 1) / 2) {
      state.SkipWithError("wrong results");
      break;
    }
    fs.clear();
  }
  state.SetItemsProcessed(state.iterations() * tasks);
}
BENCHMARK(BM_ProcessThroughput)
    ->Name("ProcessThroughput20k/concurrent")
    ->Arg(20'000)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProcessThroughput)
    ->Name("ProcessThroughput1k/concurrent")
    ->Arg(1'000)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace concurrent::bench
