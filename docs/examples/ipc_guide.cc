// The process-pool examples of docs/ipc.md, as one program: each section
// prints what the guide shows as its output (pids and times vary).
//
//   ./bazelw run -c opt //docs/examples:ipc_guide

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <numeric>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "executors/thread_pool_executor.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "gil/gil.h"
#include "ipc/codec.h"
#include "ipc/process_pool_executor.h"
#include "ipc/remote_error.h"
#include "ipc/task_registry.h"

namespace guide {

// --- Register and submit
// ------------------------------------------------------
std::int64_t count_primes(std::int64_t below) {
  std::int64_t n = 0;
  for (std::int64_t i = 2; i < below; ++i) {
    bool prime = true;
    for (std::int64_t d = 2; d * d <= i; ++d) {
      if (i % d == 0) {
        prime = false;
        break;
      }
    }
    n += prime;
  }
  return n;
}
CONCURRENT_REGISTER_TASK(count_primes);

// --- A user type ----------------------------------------------------------
struct Order {
  std::string symbol;
  std::vector<double> prices;
  std::optional<int> quantity;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(symbol, prices, quantity);
  }
};

double order_value(const Order& o) {
  return std::accumulate(o.prices.begin(), o.prices.end(), 0.0) *
         o.quantity.value_or(0);
}
CONCURRENT_REGISTER_TASK(order_value);

// --- Large data -----------------------------------------------------------
std::vector<float> normalize(std::vector<float> v) {
  float max = 0;
  for (float x : v) max = std::max(max, x);
  for (float& x : v) x /= max;
  return v;
}
CONCURRENT_REGISTER_TASK(normalize);

// --- Failures -------------------------------------------------------------
int parse_quantity(std::string text) {
  std::size_t used = 0;
  const int q = std::stoi(text, &used);  // std::invalid_argument if no digit
  if (used != text.size()) throw std::invalid_argument("trailing: " + text);
  return q;
}
CONCURRENT_REGISTER_TASK(parse_quantity);

int crash(int) {
  volatile int* p = nullptr;
  return *p;  // SIGSEGV
}
CONCURRENT_REGISTER_TASK(crash);

// --- Workers: initializer, max_tasks_per_child ----------------------------
std::string g_model = "none";
void load_model(std::string path) { g_model = "loaded " + path; }
CONCURRENT_REGISTER_TASK(load_model);
std::string which_model() {
  return g_model + " in pid " + std::to_string(getpid());
}
CONCURRENT_REGISTER_TASK(which_model);
std::int64_t my_pid() { return getpid(); }
CONCURRENT_REGISTER_TASK(my_pid);

// --- Processes bypass the GIL ---------------------------------------------
// CPU-bound work that calls the GIL's check point, as Python bytecode does.
std::uint64_t spin(std::uint64_t rounds) {
  std::uint64_t x = 88172645463325252ull;
  for (std::uint64_t i = 0; i < rounds; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    if ((i & 1023) == 0) concurrent::check_gil();
  }
  return x;
}
CONCURRENT_REGISTER_TASK(spin);

void RegisterAndSubmit() {
  std::puts("# register and submit");
  concurrent::ProcessPoolExecutor pool({.max_workers = 2});
  concurrent::Future<std::int64_t> f = pool.submit(count_primes, 100'000);
  std::printf("%lld primes below 100000\n", static_cast<long long>(f.result()));
}

void Map() {
  std::puts("# map");
  concurrent::ProcessPoolExecutor pool({.max_workers = 2});
  std::vector<std::int64_t> limits = {10, 100, 1000, 10'000};
  for (std::int64_t n : pool.map(count_primes, limits)) {
    std::printf("%lld ", static_cast<long long>(n));
  }
  std::puts("");
  // Many small inputs: send them 100 at a time.
  std::int64_t total = 0;
  for (std::int64_t n :
       pool.map(count_primes, std::views::iota(std::int64_t{0}, 1000),
                {.chunksize = 100})) {
    total += n;
  }
  std::printf("sum over 0..999: %lld\n", static_cast<long long>(total));
}

void UserType() {
  std::puts("# a user type");
  concurrent::ProcessPoolExecutor pool({.max_workers = 1});
  Order order{"ACME", {1.5, 2.5}, 10};
  std::printf("%.1f\n", pool.submit(order_value, order).result());
}

void LargeData() {
  std::puts("# large data");
  concurrent::ProcessPoolExecutor pool({.max_workers = 1});
  std::vector<float> v(16 << 20);  // 64 MiB
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<float>(i % 1000);
  const absl::Time start = absl::Now();
  std::vector<float> out = pool.submit(normalize, std::move(v)).result();
  std::printf("%zu floats, last %.3f, round trip %s\n", out.size(), out.back(),
              absl::FormatDuration(
                  absl::Trunc(absl::Now() - start, absl::Milliseconds(1)))
                  .c_str());
}

void Failures() {
  std::puts("# failures");
  {
    concurrent::ProcessPoolExecutor pool({.max_workers = 1});
    try {
      pool.submit(parse_quantity, "12x").result();
    } catch (const std::invalid_argument& e) {
      std::printf("std::invalid_argument: %s\n", e.what());
    }
    concurrent::Future<int> f = pool.submit(crash, 0);
    try {
      f.result();
    } catch (const concurrent::BrokenProcessPool& e) {
      std::printf("BrokenProcessPool: %s\n", e.what());
    }
    try {
      pool.submit(parse_quantity, "1");
    } catch (const concurrent::BrokenProcessPool&) {
      std::puts("later submit(): BrokenProcessPool");
    }
  }
  {
    concurrent::ProcessPoolExecutor pool(
        {.max_workers = 1,
         .on_worker_death = concurrent::ProcessPoolExecutor::WorkerDeathPolicy::
             kReplaceWorker});
    concurrent::Future<int> f = pool.submit(crash, 0);
    try {
      f.result();
    } catch (const concurrent::BrokenProcessPool&) {
      std::puts("kReplaceWorker: that future failed;");
    }
    std::printf("the pool goes on: %d\n",
                pool.submit(parse_quantity, "7").result());
  }
}

void Workers() {
  std::puts("# workers");
  concurrent::ProcessPoolExecutor pool(
      {.max_workers = 1,
       .initializer = {load_model, "model.bin"},
       .max_tasks_per_child = 2});
  std::printf("%s\n", pool.submit(which_model).result().c_str());
  std::vector<concurrent::Future<std::int64_t>> pids;
  for (int i = 0; i < 6; ++i) pids.push_back(pool.submit(my_pid));
  for (auto& f : pids) std::printf("%lld ", static_cast<long long>(f.result()));
  std::puts("");
}

void BypassTheGil() {
  std::puts("# processes bypass the GIL");
  constexpr std::uint64_t kRounds = 200'000'000;
  auto time = [](auto run) {
    const absl::Time start = absl::Now();
    run();
    return absl::ToDoubleSeconds(absl::Now() - start);
  };
  concurrent::Gil gil;
  concurrent::ThreadPoolExecutor threads(
      {.max_workers = 2, .around_task = concurrent::hold_gil(gil)});
  const double one_thread =
      time([&] { threads.submit(spin, kRounds).result(); });
  const double two_threads = time([&] {
    auto a = threads.submit(spin, kRounds);
    auto b = threads.submit(spin, kRounds);
    a.result();
    b.result();
  });
  concurrent::ProcessPoolExecutor processes(
      {.max_workers = 2, .worker_gil = concurrent::GilOptions{}});
  processes.submit(spin, 1).result();  // start a worker
  processes.submit(spin, 1).result();
  const double two_processes = time([&] {
    auto a = processes.submit(spin, kRounds);
    auto b = processes.submit(spin, kRounds);
    a.result();
    b.result();
  });
  std::printf(
      "1 task: %.2f s; 2 tasks on 2 threads, one GIL: %.2f s; "
      "2 tasks on 2 processes, a GIL each: %.2f s\n",
      one_thread, two_threads, two_processes);
}

}  // namespace guide

int main() {
  concurrent::ProcessPoolExecutor::start_fork_server();
  guide::RegisterAndSubmit();
  guide::Map();
  guide::UserType();
  guide::LargeData();
  guide::Failures();
  guide::Workers();
  guide::BypassTheGil();
}
