// Copyright 2026 The concurrent Authors.
//
// ThreadPoolExecutor against the C++ peers, in one binary, 2 workers:
//
//   * Throughput: submit 100,000 tasks that each return an int through a
//     future, then wait for all of them. Peers: boost::asio::thread_pool +
//     std::packaged_task, oneTBB task_group + std::packaged_task, oneTBB
//     task_group without futures (the ceiling: no future at all), and
//     std::async (2,000 tasks: one thread per task).
//   * Latency: submit one task to an idle pool and block on its result.
//     Peer: asio thread_pool + std::future. Run it also under `taskset -c 0`.
//     Wall time and the whole process's CPU time (an idle worker of ours
//     spins for up to 50 us before it parks; asio's park at once).
//   * LatencyParked: the same, but the worker has been idle for 1 ms first,
//     so ours is parked too (a futex wake-up instead of a spinning poll).
//   * Scaling: CPU-bound tasks, 2 workers against 1.
//
//   ./bazelw run -c opt //benchmarks:executors --
//       --benchmark_repetitions=10 --benchmark_report_aggregates_only=true
//   (one command line)
//
// benchmarks/python/thread_pool.py runs the same workloads on CPython's
// ThreadPoolExecutor.

#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "boost/asio/post.hpp"
#include "boost/asio/thread_pool.hpp"
#include "executors/thread_pool_executor.h"
#include "futures/future.h"
#include "oneapi/tbb/global_control.h"
#include "oneapi/tbb/task_arena.h"
#include "oneapi/tbb/task_group.h"

namespace {

constexpr int kWorkers = 2;
constexpr int kTasks = 100'000;
constexpr int kAsyncTasks = 2'000;

// --- Throughput ------------------------------------------------------------

void BM_Throughput_ThreadPoolExecutor(benchmark::State& state) {
  concurrent::ThreadPoolExecutor pool(kWorkers);
  std::vector<concurrent::Future<int>> fs;
  fs.reserve(kTasks);
  for (auto _ : state) {
    for (int i = 0; i < kTasks; ++i) {
      fs.push_back(pool.submit([i] { return i; }));
    }
    std::int64_t sum = 0;
    for (const concurrent::Future<int>& f : fs) sum += f.result();
    benchmark::DoNotOptimize(sum);
    fs.clear();
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_Throughput_ThreadPoolExecutor)
    ->Name("Throughput100k/concurrent")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Throughput_AsioPackagedTask(benchmark::State& state) {
  boost::asio::thread_pool pool(kWorkers);
  std::vector<std::future<int>> fs;
  fs.reserve(kTasks);
  for (auto _ : state) {
    for (int i = 0; i < kTasks; ++i) {
      std::packaged_task<int()> task([i] { return i; });
      fs.push_back(task.get_future());
      boost::asio::post(pool, std::move(task));
    }
    std::int64_t sum = 0;
    for (std::future<int>& f : fs) sum += f.get();
    benchmark::DoNotOptimize(sum);
    fs.clear();
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
  pool.join();
}
BENCHMARK(BM_Throughput_AsioPackagedTask)
    ->Name("Throughput100k/asio_packaged_task")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// An arena of kWorkers worker slots plus one reserved for this (external)
// thread, so that kWorkers TBB workers run the tasks, as the pools above.
tbb::task_arena& Arena() {
  static tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                                   kWorkers + 1);
  static tbb::task_arena arena(kWorkers + 1, 1);
  return arena;
}

void BM_Throughput_TbbTaskGroupPackagedTask(benchmark::State& state) {
  tbb::task_arena& arena = Arena();
  tbb::task_group group;
  std::vector<std::future<int>> fs;
  fs.reserve(kTasks);
  for (auto _ : state) {
    arena.execute([&] {
      for (int i = 0; i < kTasks; ++i) {
        auto task =
            std::make_shared<std::packaged_task<int()>>([i] { return i; });
        fs.push_back(task->get_future());
        group.run([task] { (*task)(); });
      }
    });
    std::int64_t sum = 0;
    for (std::future<int>& f : fs) sum += f.get();
    benchmark::DoNotOptimize(sum);
    arena.execute([&] { group.wait(); });
    fs.clear();
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_Throughput_TbbTaskGroupPackagedTask)
    ->Name("Throughput100k/tbb_packaged_task")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The ceiling: the same tasks with no future at all (results go to an array).
void BM_Throughput_TbbTaskGroupNoFutures(benchmark::State& state) {
  tbb::task_arena& arena = Arena();
  tbb::task_group group;
  std::vector<int> out(kTasks);
  for (auto _ : state) {
    arena.execute([&] {
      for (int i = 0; i < kTasks; ++i) {
        group.run([i, &out] { out[i] = i; });
      }
      group.wait();
    });
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
}
BENCHMARK(BM_Throughput_TbbTaskGroupNoFutures)
    ->Name("Throughput100k/tbb_no_futures")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Throughput_StdAsync(benchmark::State& state) {
  std::vector<std::future<int>> fs;
  fs.reserve(kAsyncTasks);
  for (auto _ : state) {
    for (int i = 0; i < kAsyncTasks; ++i) {
      fs.push_back(std::async(std::launch::async, [i] { return i; }));
    }
    std::int64_t sum = 0;
    for (std::future<int>& f : fs) sum += f.get();
    benchmark::DoNotOptimize(sum);
    fs.clear();
  }
  state.SetItemsProcessed(state.iterations() * kAsyncTasks);
}
BENCHMARK(BM_Throughput_StdAsync)
    ->Name("Throughput2000/std_async")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The same 2,000 tasks through the pool, for a like-for-like ratio.
void BM_Throughput_ThreadPoolExecutor2000(benchmark::State& state) {
  concurrent::ThreadPoolExecutor pool(kWorkers);
  std::vector<concurrent::Future<int>> fs;
  fs.reserve(kAsyncTasks);
  for (auto _ : state) {
    for (int i = 0; i < kAsyncTasks; ++i) {
      fs.push_back(pool.submit([i] { return i; }));
    }
    std::int64_t sum = 0;
    for (const concurrent::Future<int>& f : fs) sum += f.result();
    benchmark::DoNotOptimize(sum);
    fs.clear();
  }
  state.SetItemsProcessed(state.iterations() * kAsyncTasks);
}
BENCHMARK(BM_Throughput_ThreadPoolExecutor2000)
    ->Name("Throughput2000/concurrent")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- Latency ---------------------------------------------------------------

void BM_Latency_ThreadPoolExecutor(benchmark::State& state) {
  concurrent::ThreadPoolExecutor pool(kWorkers);
  pool.submit([] { return 0; }).result();  // start a worker
  for (auto _ : state) {
    benchmark::DoNotOptimize(pool.submit([] { return 1; }).result());
  }
}
// CPU time is the whole process's: it shows what the spinning worker costs.
BENCHMARK(BM_Latency_ThreadPoolExecutor)
    ->Name("Latency/concurrent")
    ->UseRealTime()
    ->MeasureProcessCPUTime();

void BM_Latency_AsioFuture(benchmark::State& state) {
  boost::asio::thread_pool pool(kWorkers);
  for (auto _ : state) {
    std::packaged_task<int()> task([] { return 1; });
    std::future<int> f = task.get_future();
    boost::asio::post(pool, std::move(task));
    benchmark::DoNotOptimize(f.get());
  }
  pool.join();
}
BENCHMARK(BM_Latency_AsioFuture)
    ->Name("Latency/asio_future")
    ->UseRealTime()
    ->MeasureProcessCPUTime();

// A pause long enough (outside the timing) that the pool's idle worker has
// stopped spinning and parked.
constexpr auto kParkPause = std::chrono::milliseconds(1);

void BM_LatencyParked_ThreadPoolExecutor(benchmark::State& state) {
  concurrent::ThreadPoolExecutor pool(kWorkers);
  pool.submit([] { return 0; }).result();  // start a worker
  for (auto _ : state) {
    state.PauseTiming();
    std::this_thread::sleep_for(kParkPause);
    state.ResumeTiming();
    benchmark::DoNotOptimize(pool.submit([] { return 1; }).result());
  }
}
BENCHMARK(BM_LatencyParked_ThreadPoolExecutor)
    ->Name("LatencyParked/concurrent")
    ->UseRealTime()
    ->MeasureProcessCPUTime();

void BM_LatencyParked_AsioFuture(benchmark::State& state) {
  boost::asio::thread_pool pool(kWorkers);
  for (auto _ : state) {
    state.PauseTiming();
    std::this_thread::sleep_for(kParkPause);
    state.ResumeTiming();
    std::packaged_task<int()> task([] { return 1; });
    std::future<int> f = task.get_future();
    boost::asio::post(pool, std::move(task));
    benchmark::DoNotOptimize(f.get());
  }
  pool.join();
}
BENCHMARK(BM_LatencyParked_AsioFuture)
    ->Name("LatencyParked/asio_future")
    ->UseRealTime()
    ->MeasureProcessCPUTime();

// --- Scaling ---------------------------------------------------------------

// About 100 microseconds of arithmetic that the compiler cannot fold.
std::uint64_t Spin(std::uint64_t seed) {
  std::uint64_t x = seed | 1;
  for (int i = 0; i < 200'000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

constexpr int kCpuTasks = 200;

void BM_Scaling_ThreadPoolExecutor(benchmark::State& state) {
  concurrent::ThreadPoolExecutor pool(static_cast<int>(state.range(0)));
  std::vector<concurrent::Future<std::uint64_t>> fs;
  fs.reserve(kCpuTasks);
  for (auto _ : state) {
    for (int i = 0; i < kCpuTasks; ++i) {
      fs.push_back(pool.submit(Spin, static_cast<std::uint64_t>(i)));
    }
    std::uint64_t sum = 0;
    for (const auto& f : fs) sum += f.result();
    benchmark::DoNotOptimize(sum);
    fs.clear();
  }
  state.SetItemsProcessed(state.iterations() * kCpuTasks);
}
BENCHMARK(BM_Scaling_ThreadPoolExecutor)
    ->Name("ScalingCpuBound/concurrent")
    ->ArgName("workers")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
