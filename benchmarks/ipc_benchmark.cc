// Copyright 2026 The concurrent Authors.
//
// ProcessPoolExecutor against CPython's ProcessPoolExecutor on the workloads
// of issue 8, 2 workers. One command runs both and prints them side by side
// (benchmarks/python/process_pool.py formats the table):
//
//   ./bazelw run -c opt //benchmarks:ipc -- --repetitions=5
//
// The script runs this binary with --benchmark_format=json (and once more
// under `taskset -c 0` for the pinned round trip), alternating with
// CPython's runs. To run only ours, pass any Google Benchmark flag, or
// --no_python:
//
//   ./bazelw run -c opt //benchmarks:ipc -- --benchmark_repetitions=5
//
// Workloads (ours):
//   BM_RoundTrip      submit one trivial task to a warm pool, wait for it
//   BM_Tasks20k       20,000 trivial submits, then wait for all
//   BM_MapChunk100    map() over 20,000 inputs, chunksize=100
//   BM_CpuPool/N      40 CPU-bound tasks on N workers
//   BM_CpuBare/N      the same 40 tasks in N bare forked processes (the
//                     ceiling a pool can reach)
//   BM_ColdStart      create a pool, run one task, shut it down
//   BM_Echo64MiB      a 64 MiB std::vector<uint8_t> echoed through a worker
//   BM_IdlePool       a warm, idle pool for 1 s: the CPU it uses
//   BM_PingPongBare   the floor of any process pool's round trip: two bare
//                     processes pass a word to and fro in shared memory
//                     (spinning if several CPUs, a shared futex if one),
//                     no task, no manager thread
// Counters: `workers_cpu` is the CPU time the workers used per iteration
// (from /proc/PID/schedstat), beside the process CPU time that Google
// Benchmark measures for this process (MeasureProcessCPUTime): together they
// show what spinning costs.

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <ranges>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "futures/future.h"
#include "ipc/process_pool_executor.h"
#include "ipc/task_registry.h"

namespace {

constexpr int kWorkers = 2;
constexpr int kTasks = 20'000;
constexpr int kCpuTasks = 40;
constexpr std::uint64_t kCpuRounds = 3'000'000;

std::int64_t Identity(std::int64_t x) { return x; }
CONCURRENT_REGISTER_TASK(Identity);

std::vector<std::uint8_t> Echo(std::vector<std::uint8_t> v) { return v; }
CONCURRENT_REGISTER_TASK(Echo);

// The CPU-bound task: xorshift rounds (no memory traffic, no system call).
std::uint64_t Spin(std::uint64_t seed, std::uint64_t rounds) {
  std::uint64_t x = seed | 1;
  for (std::uint64_t i = 0; i < rounds; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}
CONCURRENT_REGISTER_TASK(Spin);

// CPU time (ns) a process has used, from /proc/PID/schedstat (its only
// thread: the workers are single-threaded).
double CpuNs(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/schedstat"));
  double ns = 0;
  in >> ns;
  return ns;
}

double WorkersCpuNs(const concurrent::ProcessPoolExecutor& pool) {
  double total = 0;
  for (pid_t pid : pool.worker_pids()) total += CpuNs(pid);
  return total;
}

void Warm(concurrent::ProcessPoolExecutor& pool) {
  std::vector<concurrent::Future<std::int64_t>> fs;
  for (int i = 0; i < 200; ++i) fs.push_back(pool.submit(Identity, i));
  for (auto& f : fs) f.result();
}

void ReportWorkersCpu(benchmark::State& state, double before, double after) {
  state.counters["workers_cpu"] = benchmark::Counter(
      (after - before) * 1e-9, benchmark::Counter::kAvgIterations);
}

void BM_RoundTrip(benchmark::State& state) {
  concurrent::ProcessPoolExecutor pool(kWorkers);
  Warm(pool);
  const double cpu = WorkersCpuNs(pool);
  std::int64_t sum = 0;
  for (auto _ : state) sum += pool.submit(Identity, 1).result();
  benchmark::DoNotOptimize(sum);
  ReportWorkersCpu(state, cpu, WorkersCpuNs(pool));
}
BENCHMARK(BM_RoundTrip)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMicrosecond);

void BM_Tasks20k(benchmark::State& state) {
  concurrent::ProcessPoolExecutor pool(kWorkers);
  Warm(pool);
  const double cpu = WorkersCpuNs(pool);
  std::vector<concurrent::Future<std::int64_t>> fs;
  fs.reserve(kTasks);
  for (auto _ : state) {
    for (int i = 0; i < kTasks; ++i) fs.push_back(pool.submit(Identity, i));
    std::int64_t sum = 0;
    for (auto& f : fs) sum += f.result();
    if (sum != std::int64_t{kTasks} * (kTasks - 1) / 2) std::abort();
    fs.clear();
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
  ReportWorkersCpu(state, cpu, WorkersCpuNs(pool));
}
BENCHMARK(BM_Tasks20k)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

void BM_MapChunk100(benchmark::State& state) {
  concurrent::ProcessPoolExecutor pool(kWorkers);
  Warm(pool);
  const double cpu = WorkersCpuNs(pool);
  for (auto _ : state) {
    std::int64_t sum = 0;
    for (std::int64_t y :
         pool.map(Identity, std::views::iota(std::int64_t{0}, kTasks),
                  {.chunksize = 100})) {
      sum += y;
    }
    if (sum != std::int64_t{kTasks} * (kTasks - 1) / 2) std::abort();
  }
  state.SetItemsProcessed(state.iterations() * kTasks);
  ReportWorkersCpu(state, cpu, WorkersCpuNs(pool));
}
BENCHMARK(BM_MapChunk100)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

void BM_CpuPool(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  concurrent::ProcessPoolExecutor pool(workers);
  Warm(pool);
  std::vector<concurrent::Future<std::uint64_t>> fs;
  for (auto _ : state) {
    for (int i = 0; i < kCpuTasks; ++i) {
      fs.push_back(pool.submit(Spin, std::uint64_t(i), kCpuRounds));
    }
    std::uint64_t x = 0;
    for (auto& f : fs) x ^= f.result();
    benchmark::DoNotOptimize(x);
    fs.clear();
  }
  state.SetItemsProcessed(state.iterations() * kCpuTasks);
}
BENCHMARK(BM_CpuPool)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

void BM_CpuBare(benchmark::State& state) {
  const int processes = static_cast<int>(state.range(0));
  for (auto _ : state) {
    std::vector<pid_t> pids;
    for (int p = 0; p < processes; ++p) {
      const pid_t pid = fork();  // no other thread runs here
      if (pid == 0) {
        std::uint64_t x = 0;
        for (int i = p; i < kCpuTasks; i += processes) {
          x ^= Spin(std::uint64_t(i), kCpuRounds);
        }
        benchmark::DoNotOptimize(x);
        _exit(0);
      }
      pids.push_back(pid);
    }
    for (pid_t pid : pids) {
      int status;
      waitpid(pid, &status, 0);
    }
  }
  state.SetItemsProcessed(state.iterations() * kCpuTasks);
}
BENCHMARK(BM_CpuBare)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_ColdStart(benchmark::State& state) {
  for (auto _ : state) {
    concurrent::ProcessPoolExecutor pool(kWorkers);
    benchmark::DoNotOptimize(pool.submit(Identity, 1).result());
  }
}
BENCHMARK(BM_ColdStart)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

void BM_Echo64MiB(benchmark::State& state) {
  concurrent::ProcessPoolExecutor pool(kWorkers);
  Warm(pool);
  std::vector<std::uint8_t> payload(std::size_t{64} << 20, 7);
  pool.submit(Echo, payload).result();  // the shared memory's first touch
  const double cpu = WorkersCpuNs(pool);
  for (auto _ : state) {
    std::vector<std::uint8_t> back =
        std::move(pool.submit(Echo, payload)).result();
    if (back.size() != payload.size()) std::abort();
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<std::int64_t>(payload.size()));
  ReportWorkersCpu(state, cpu, WorkersCpuNs(pool));
}
BENCHMARK(BM_Echo64MiB)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

void BM_IdlePool(benchmark::State& state) {
  concurrent::ProcessPoolExecutor pool(kWorkers);
  Warm(pool);
  absl::SleepFor(absl::Milliseconds(100));  // past every spin
  double cpu_ns = 0;
  absl::Duration wall = absl::ZeroDuration();
  for (auto _ : state) {
    const double before = WorkersCpuNs(pool);
    timespec t0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    const absl::Time start = absl::Now();
    absl::SleepFor(absl::Seconds(1));
    wall += absl::Now() - start;
    timespec t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    cpu_ns += WorkersCpuNs(pool) - before + (t1.tv_sec - t0.tv_sec) * 1e9 +
              (t1.tv_nsec - t0.tv_nsec);
  }
  // CPU time of the workers and this process (its manager thread) over the
  // idle time, as a fraction of one CPU.
  state.counters["cpu_fraction"] = cpu_ns * 1e-9 / absl::ToDoubleSeconds(wall);
}
BENCHMARK(BM_IdlePool)
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One word in shared memory: the parent writes odd values, the child answers
// with the next even one. Each side spins for a while if it may use several
// CPUs, then parks on a shared futex (a wake is sent only to a sleeper).
struct PingPongWord {
  std::atomic<std::uint32_t> value;
  std::atomic<std::uint32_t> sleeping[2];  // [0] the parent, [1] the child
};

void FutexCall(std::atomic<std::uint32_t>* word, int op, std::uint32_t val) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op, val, nullptr,
          nullptr, 0);
}

void AwaitValue(PingPongWord& w, int side, std::uint32_t expected, bool spin) {
  for (int i = 0; spin && i < 20'000; ++i) {
    if (w.value.load(std::memory_order_acquire) == expected) return;
  }
  for (;;) {
    const std::uint32_t seen = w.value.load(std::memory_order_acquire);
    if (seen == expected) return;
    w.sleeping[side].store(1, std::memory_order_seq_cst);
    if (w.value.load(std::memory_order_seq_cst) == seen) {
      FutexCall(&w.value, FUTEX_WAIT, seen);
    }
    w.sleeping[side].store(0, std::memory_order_relaxed);
  }
}

void Publish(PingPongWord& w, int peer, std::uint32_t value) {
  w.value.store(value, std::memory_order_seq_cst);
  if (w.sleeping[peer].load(std::memory_order_seq_cst) != 0) {
    FutexCall(&w.value, FUTEX_WAKE, 1);
  }
}

void BM_PingPongBare(benchmark::State& state) {
  void* mem = mmap(nullptr, sizeof(PingPongWord), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) std::abort();
  auto* w = new (mem) PingPongWord{};
  cpu_set_t cpus;
  sched_getaffinity(0, sizeof(cpus), &cpus);
  const bool spin = CPU_COUNT(&cpus) > 1;
  const pid_t pid = fork();  // (the fork server has no other thread here)
  if (pid == 0) {
    for (std::uint32_t v = 1;; v += 2) {
      AwaitValue(*w, 1, v, spin);
      Publish(*w, 0, v + 1);
      if (v + 1 == 0) break;
    }
    _exit(0);
  }
  std::uint32_t v = 1;
  for (auto _ : state) {
    Publish(*w, 1, v);
    AwaitValue(*w, 0, v + 1, spin);
    v += 2;
  }
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  munmap(mem, sizeof(PingPongWord));
}
BENCHMARK(BM_PingPongBare)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  concurrent::ProcessPoolExecutor::start_fork_server();
  bool python = true;
  int repetitions = 3;
  std::string python_bin = "python3";
  std::vector<char*> args = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--no_python") {
      python = false;
    } else if (absl::StartsWith(arg, "--python=")) {
      python_bin = arg.substr(9);
    } else if (absl::StartsWith(arg, "--repetitions=")) {
      repetitions = std::atoi(arg.c_str() + 14);
    } else {
      if (absl::StartsWith(arg, "--benchmark_")) python = false;
      args.push_back(argv[i]);
    }
  }
  if (!python) {
    int n = static_cast<int>(args.size());
    benchmark::Initialize(&n, args.data());
    if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  }
  // bazel run: the working directory is the runfiles tree; run directly, the
  // script is in the binary's runfiles.
  std::string script = "benchmarks/python/process_pool.py";
  if (access(script.c_str(), R_OK) != 0) {
    script = absl::StrCat(argv[0], ".runfiles/concurrent/", script);
  }
  const std::string cmd =
      absl::StrCat(python_bin, " ", script, " --repetitions ", repetitions,
                   " --ours-cmd '", argv[0], " --no_python'");
  std::printf("$ %s\n", cmd.c_str());
  std::fflush(stdout);
  return std::system(cmd.c_str()) == 0 ? 0 : 1;
}
