// Copyright 2026 The concurrent Authors.
//
// MpiCommExecutor under mpirun with 3 ranks (the master and 2 worker ranks):
//   * RoundTrip: submit one tiny task and wait for it (latency);
//   * Throughput20k: 20,000 tiny tasks submitted, then all awaited; and the
//     same through map() in chunks of 100;
//   * CpuBound: 16 CPU-bound tasks (~10 ms each) on 1 and on 2 worker ranks,
//     against the ceiling: the same tasks in 1 and 2 bare processes forked
//     from the master (no MPI, no codec) in the same run.
// Each workload also runs over ProcessPoolExecutor with the same worker
// counts in the same run (<workload>/process_pool), the peer on one machine.
// benchmarks/mpi.sh runs it, then mpi4py.futures.MPICommExecutor on the
// same workloads (benchmarks/python/mpi4py_futures.py), and prints medians
// and ratios:
//   ./bazelw run -c opt //benchmarks:mpi -- --benchmark_repetitions=5
//
// Names are <workload>/<implementation>[/arg] (benchmarks/python/ratios.py).

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <type_traits>
#include <vector>

#include "benchmark/benchmark.h"
#include "futures/future.h"
#include "ipc/mpi/mpi_comm_executor.h"
#include "ipc/process_pool_executor.h"
#include "ipc/task_registry.h"

namespace {

int Multiply(int a, int b) { return a * b; }
CONCURRENT_REGISTER_TASK(Multiply);

// Trial division: CPU-bound, no memory traffic.
std::int64_t CountPrimes(std::int64_t below) {
  std::int64_t count = 0;
  for (std::int64_t n = 2; n < below; ++n) {
    bool prime = true;
    for (std::int64_t d = 2; d * d <= n; ++d) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    if (prime) ++count;
  }
  return count;
}
CONCURRENT_REGISTER_TASK(CountPrimes);

constexpr int kTasks = 20'000;
constexpr int kCpuTasks = 16;
constexpr std::int64_t kCpuTaskSize = 60'000;  // ~10 ms at -O2

// By worker count (1 or 2), created in main() on the master.
concurrent::MpiCommExecutor* g_executors[3] = {};
concurrent::ProcessPoolExecutor* g_pools[3] = {};

template <typename E>
E& ExecutorWith(int workers) {
  if constexpr (std::is_same_v<E, concurrent::MpiCommExecutor>) {
    return *g_executors[workers];
  } else {
    return *g_pools[workers];
  }
}

template <typename E>
void BM_RoundTrip(benchmark::State& state) {
  E& ex = ExecutorWith<E>(2);
  int i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ex.submit(Multiply, i++, 3).result());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RoundTrip<concurrent::MpiCommExecutor>)
    ->Name("RoundTrip/concurrent")
    ->UseRealTime();
BENCHMARK(BM_RoundTrip<concurrent::ProcessPoolExecutor>)
    ->Name("RoundTrip/process_pool")
    ->UseRealTime();

template <typename E>
void BM_Throughput(benchmark::State& state) {
  E& ex = ExecutorWith<E>(2);
  std::vector<concurrent::Future<int>> futures;
  futures.reserve(kTasks);
  for (auto _ : state) {
    futures.clear();
    for (int i = 0; i < kTasks; ++i)
      futures.push_back(ex.submit(Multiply, i, 3));
    for (auto& f : futures) benchmark::DoNotOptimize(f.result());
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_Throughput<concurrent::MpiCommExecutor>)
    ->Name("Throughput20k/concurrent")
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Throughput<concurrent::ProcessPoolExecutor>)
    ->Name("Throughput20k/process_pool")
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

std::int64_t Square(std::int64_t x) { return x * x; }
CONCURRENT_REGISTER_TASK(Square);

template <typename E>
void BM_MapChunks(benchmark::State& state) {
  E& ex = ExecutorWith<E>(2);
  std::vector<std::int64_t> inputs(kTasks);
  for (int i = 0; i < kTasks; ++i) inputs[i] = i;
  for (auto _ : state) {
    std::int64_t sum = 0;
    for (std::int64_t y : ex.map(Square, inputs, {.chunksize = 100})) sum += y;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_MapChunks<concurrent::MpiCommExecutor>)
    ->Name("Map20kChunks100/concurrent")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MapChunks<concurrent::ProcessPoolExecutor>)
    ->Name("Map20kChunks100/process_pool")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

template <typename E>
void BM_CpuBound(benchmark::State& state) {
  E& ex = ExecutorWith<E>(static_cast<int>(state.range(0)));
  std::vector<concurrent::Future<std::int64_t>> futures;
  for (auto _ : state) {
    futures.clear();
    for (int i = 0; i < kCpuTasks; ++i) {
      futures.push_back(ex.submit(CountPrimes, kCpuTaskSize));
    }
    for (auto& f : futures) benchmark::DoNotOptimize(f.result());
  }
  state.SetItemsProcessed(state.iterations() * kCpuTasks);
}
BENCHMARK(BM_CpuBound<concurrent::MpiCommExecutor>)
    ->Name("CpuBound/concurrent")
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CpuBound<concurrent::ProcessPoolExecutor>)
    ->Name("CpuBound/process_pool")
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

// The ceiling: the same tasks split over `workers` processes forked from
// the master, which run CountPrimes directly.
void BM_CpuBoundBare(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::vector<pid_t> children;
    for (int w = 0; w < workers; ++w) {
      const pid_t pid = fork();
      if (pid == 0) {
        std::int64_t sink = 0;
        for (int i = w; i < kCpuTasks; i += workers) {
          sink += CountPrimes(kCpuTaskSize);
        }
        _exit(sink > 0 ? 0 : 1);
      }
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = 0;
      waitpid(pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        state.SkipWithError("a bare process failed");
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * kCpuTasks);
}
BENCHMARK(BM_CpuBoundBare)
    ->Name("CpuBound/bare_processes")
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  // The process pool's fork server must start while this process has one
  // thread: before MPI_Init. Worker ranks' servers stay idle.
  concurrent::ProcessPoolExecutor::start_fork_server();
  return concurrent::MpiCommExecutor::main(argc, argv, [&] {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    concurrent::MpiCommExecutor two;
    concurrent::MpiCommExecutor one({.max_workers = 1});
    g_executors[1] = &one;
    g_executors[2] = &two;
    concurrent::ProcessPoolExecutor pool_two(2);
    concurrent::ProcessPoolExecutor pool_one(1);
    g_pools[1] = &pool_one;
    g_pools[2] = &pool_two;
    std::fprintf(stderr, "mpi_benchmark: %d ranks, MPI thread level %d\n",
                 two.world_size(), concurrent::MpiCommExecutor::thread_level());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  });
}
