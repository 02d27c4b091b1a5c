// concurrent::Gil against its peers and against CPython's GIL.
//
// Part 1, costs: uncontended lock + unlock of the GIL (each policy, with and
// without record_times) against std::mutex and absl::Mutex, and the cost of
// the check point when no drop is requested.
//
// Part 2, the fidelity experiments of issue 5 with our GIL (the same as
// benchmarks/python/gil_experiments.py runs on CPython): CPU-bound speedup of
// threads and processes, hand-off latency of a thread doing gil_sleep(0)
// against a CPU-bound thread, and the switch rate of two CPU-bound threads.
// The hand-off and switch-rate experiments pin their two threads to the first
// two CPUs this process may use. Each experiment is one iteration; run with
// repetitions and read the medians:
//
//   ./bazelw run -c opt //benchmarks:gil -- --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
//
// //benchmarks:gil_fidelity runs part 2 and CPython's script in one go and
// prints them side by side.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>

#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#endif

#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"
#include "benchmarks/gil_experiments.h"
#include "gil/gil.h"

namespace concurrent {
namespace {

// ---- Part 1: costs ---------------------------------------------------------
//
// Whether the process has ever created a thread matters to the lock costs:
// glibc (2.34+) skips the atomic instructions of a process-private mutex while
// the process has a single thread (__libc_single_threaded; it stays false
// once a thread was created), and std::mutex is a pthread mutex. So the
// lock + unlock rows run in both states: `process:1` rows are registered
// first and run before this binary creates any thread (they fail with an
// error if a thread exists already, e.g. with
// --benchmark_enable_random_interleaving); `process:2` rows create and join
// a thread first. Compare rows of the same state.

constexpr int kSingleThreaded = 1;
constexpr int kMultiThreaded = 2;

// Puts the process in the state `state.range(0)` asks for, or fails the
// benchmark. Returns false on failure.
bool enter_process_state(benchmark::State& state) {
  if (state.range(0) == kMultiThreaded) {
    std::thread([] {}).join();
    return true;
  }
#if __has_include(<sys/single_threaded.h>)
  if (!__libc_single_threaded) {
    state.SkipWithError(
        "the process has already created a thread: run the process:1 rows "
        "first (registration order, no random interleaving)");
    return false;
  }
#endif
  return true;
}

void BM_StdMutexLockUnlock(benchmark::State& state) {
  if (!enter_process_state(state)) return;
  std::mutex mu;
  for (auto _ : state) {
    mu.lock();
    benchmark::ClobberMemory();
    mu.unlock();
  }
}

void BM_AbslMutexLockUnlock(benchmark::State& state) {
  if (!enter_process_state(state)) return;
  absl::Mutex mu;
  for (auto _ : state) {
    mu.Lock();
    benchmark::ClobberMemory();
    mu.Unlock();
  }
}

// The floor of any lock that takes and releases with an atomic
// read-modify-write: two compare-and-swaps on one word, nothing else.
void BM_TwoCasFloor(benchmark::State& state) {
  if (!enter_process_state(state)) return;
  std::atomic<uint64_t> word{0};
  for (auto _ : state) {
    uint64_t expected = 0;
    if (!word.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      state.SkipWithError("?");
    }
    benchmark::ClobberMemory();
    expected = 1;
    word.compare_exchange_strong(expected, 0, std::memory_order_release,
                                 std::memory_order_relaxed);
  }
}

// Args: the process state, the GilPolicy, record_times.
void BM_GilLockUnlock(benchmark::State& state) {
  if (!enter_process_state(state)) return;
  Gil gil({.policy = static_cast<GilPolicy>(state.range(1)),
           .record_times = state.range(2) != 0});
  for (auto _ : state) {
    gil.lock();
    benchmark::ClobberMemory();
    gil.unlock();
  }
  state.SetLabel(std::string(gil_policy_name(gil.policy())) +
                 (state.range(2) ? ", record_times" : ""));
}

void register_lock_costs(int process) {
  benchmark::RegisterBenchmark("BM_StdMutexLockUnlock", BM_StdMutexLockUnlock)
      ->ArgName("process")
      ->Arg(process);
  benchmark::RegisterBenchmark("BM_AbslMutexLockUnlock", BM_AbslMutexLockUnlock)
      ->ArgName("process")
      ->Arg(process);
  benchmark::RegisterBenchmark("BM_TwoCasFloor", BM_TwoCasFloor)
      ->ArgName("process")
      ->Arg(process);
  auto* gil = benchmark::RegisterBenchmark("BM_GilLockUnlock", BM_GilLockUnlock)
                  ->ArgNames({"process", "policy", "record_times"});
  gil->Args({process, static_cast<int>(GilPolicy::kNewGil), 0})
      ->Args({process, static_cast<int>(GilPolicy::kOldGil), 0})
      ->Args({process, static_cast<int>(GilPolicy::kFair), 0});
  if (process == kMultiThreaded) {
    gil->Args({process, static_cast<int>(GilPolicy::kNewGil), 1});
  }
}

// Registered before everything else in this file, in this order.
const bool lock_costs_registered = [] {
  register_lock_costs(kSingleThreaded);
  register_lock_costs(kMultiThreaded);
  return true;
}();

void BM_GilTryLockUnlock(benchmark::State& state) {
  Gil gil;
  for (auto _ : state) {
    if (!gil.try_lock()) state.SkipWithError("try_lock failed");
    benchmark::ClobberMemory();
    gil.unlock();
  }
}
BENCHMARK(BM_GilTryLockUnlock);

constexpr int kChecksPerIteration = 1000;

// The check point, holding the GIL, nobody waiting. The counter check_time is
// the time per check (seconds), loop included.
void BM_GilCheck(benchmark::State& state) {
  Gil gil;
  std::scoped_lock hold(gil);
  for (auto _ : state) {
    for (int i = 0; i < kChecksPerIteration; ++i) {
      gil.check();
      benchmark::ClobberMemory();
    }
  }
  state.counters["check_time"] = benchmark::Counter(
      kChecksPerIteration, benchmark::Counter::kIsIterationInvariantRate |
                               benchmark::Counter::kInvert);
}
BENCHMARK(BM_GilCheck);

// The free check point (finds the GIL through the thread-local current GIL).
void BM_CheckGilFree(benchmark::State& state) {
  Gil gil;
  std::scoped_lock hold(gil);
  for (auto _ : state) {
    for (int i = 0; i < kChecksPerIteration; ++i) {
      check_gil();
      benchmark::ClobberMemory();
    }
  }
  state.counters["check_time"] = benchmark::Counter(
      kChecksPerIteration, benchmark::Counter::kIsIterationInvariantRate |
                               benchmark::Counter::kInvert);
}
BENCHMARK(BM_CheckGilFree);

// The same loop with a relaxed load of a plain atomic: the floor.
void BM_RelaxedLoadBaseline(benchmark::State& state) {
  std::atomic<uint32_t> flag{0};
  for (auto _ : state) {
    for (int i = 0; i < kChecksPerIteration; ++i) {
      if (flag.load(std::memory_order_relaxed) != 0) state.SkipWithError("?");
      benchmark::ClobberMemory();
    }
  }
  state.counters["check_time"] = benchmark::Counter(
      kChecksPerIteration, benchmark::Counter::kIsIterationInvariantRate |
                               benchmark::Counter::kInvert);
}
BENCHMARK(BM_RelaxedLoadBaseline);

// The old GIL's check point counts down every time (out of line).
void BM_GilCheckOldGil(benchmark::State& state) {
  Gil gil({.policy = GilPolicy::kOldGil, .check_interval = 1 << 30});
  std::scoped_lock hold(gil);
  for (auto _ : state) {
    for (int i = 0; i < kChecksPerIteration; ++i) {
      gil.check();
      benchmark::ClobberMemory();
    }
  }
  state.counters["check_time"] = benchmark::Counter(
      kChecksPerIteration, benchmark::Counter::kIsIterationInvariantRate |
                               benchmark::Counter::kInvert);
}
BENCHMARK(BM_GilCheckOldGil);

// ---- Part 2: the fidelity experiments
// ----------------------------------------

int64_t unit_steps() {
  static const int64_t steps = bench::calibrate_unit(absl::Milliseconds(300));
  return steps;
}

void BM_CpuBoundThreads(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  double speedup = 0;
  for (auto _ : state)
    speedup = bench::cpu_bound_threads_speedup(k, unit_steps());
  state.counters["speedup"] = speedup;
}
BENCHMARK(BM_CpuBoundThreads)
    ->ArgName("threads")
    ->Arg(2)
    ->Arg(4)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_CpuBoundProcesses(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  double speedup = 0;
  for (auto _ : state) {
    speedup = bench::cpu_bound_processes_speedup(k, unit_steps());
  }
  state.counters["speedup"] = speedup;
}
BENCHMARK(BM_CpuBoundProcesses)
    ->ArgName("processes")
    ->Arg(2)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Arg: switch interval in microseconds; second arg: the GilPolicy.
void BM_Handoff(benchmark::State& state) {
  const absl::Duration interval = absl::Microseconds(state.range(0));
  const int samples =
      std::clamp(static_cast<int>(absl::Seconds(1) / interval), 50, 3000);
  bench::HandoffResult r;
  for (auto _ : state) {
    r = bench::handoff(interval, samples,
                       static_cast<GilPolicy>(state.range(1)));
  }
  state.counters["median_ms"] = absl::ToDoubleMilliseconds(r.median);
  state.counters["p90_ms"] = absl::ToDoubleMilliseconds(r.p90);
  state.SetLabel(gil_policy_name(static_cast<GilPolicy>(state.range(1))));
}
BENCHMARK(BM_Handoff)
    ->ArgNames({"interval_us", "policy"})
    ->Args({5000, static_cast<int>(GilPolicy::kNewGil)})
    ->Args({1000, static_cast<int>(GilPolicy::kNewGil)})
    ->Args({100, static_cast<int>(GilPolicy::kNewGil)})
    ->Args({5000, static_cast<int>(GilPolicy::kFair)})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_SwitchRate(benchmark::State& state) {
  const absl::Duration interval = absl::Microseconds(state.range(0));
  bench::SwitchRateResult r;
  for (auto _ : state) {
    r = bench::switch_rate(interval, absl::Seconds(1),
                           static_cast<GilPolicy>(state.range(1)));
  }
  state.counters["switches_per_s"] = r.per_second;
  state.counters["min_share"] = r.min_share;
  state.SetLabel(gil_policy_name(static_cast<GilPolicy>(state.range(1))));
}
BENCHMARK(BM_SwitchRate)
    ->ArgNames({"interval_us", "policy"})
    ->Args({5000, static_cast<int>(GilPolicy::kNewGil)})
    ->Args({1000, static_cast<int>(GilPolicy::kNewGil)})
    ->Args({100, static_cast<int>(GilPolicy::kNewGil)})
    ->Args({5000, static_cast<int>(GilPolicy::kOldGil)})
    ->Args({5000, static_cast<int>(GilPolicy::kFair)})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace concurrent
