// The asyncio flavour (futures/aio) against Boost.Asio's awaitable/co_spawn
// in the same binary, and CPython's asyncio (benchmarks/python/
// asyncio_bench.py) in the same command:
//
//   ./bazelw run -c opt //benchmarks:aio -- --benchmark_repetitions=5
//
// Workloads (<workload>/<implementation>, as benchmarks/python/ratios.py
// reads them):
//   * AwaitReady: co_await of a done aio::Future (Asio has no future: its
//     peer awaits an awaitable that returns at once, as does our
//     AwaitReady/concurrent_coroutine);
//   * TaskSwitch: a task yielding through the loop, `co_await sleep(0)`
//     (Asio: `co_await post(use_awaitable)`);
//   * Sleep100k: 100,000 tasks each sleeping 10 ms, created and awaited;
//     counters: heap bytes per live task (mallinfo2) and the process RSS
//     while all are live (run one implementation per process for a clean
//     RSS: --benchmark_filter=Sleep100k/concurrent);
//   * EchoPingPong: 32-byte loopback round trips, client and server in one
//     loop (one io_context);
//   * HandOff: a thread completes a concurrent::Future and the coroutine
//     awaiting it through wrap_future() resumes on the loop (manual time:
//     completion to resumption); HandOffThreadsafe: a thread's
//     call_soon_threadsafe() until the callback runs (Asio: post() from a
//     thread until the handler runs).
//
// After the suite, unless --no_python, the binary runs the CPython script
// on the same workloads, which prints the side-by-side table with ratios
// and the targets. Flags: --no_python, --python=PATH (default
// python3); Google Benchmark's flags pass through (the JSON report goes to
// --benchmark_out, a temporary file by default).

#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>  // before Boost 1.74's awaitable.hpp, which forgets it
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "boost/asio.hpp"
#include "boost/asio/awaitable.hpp"
#include "boost/asio/co_spawn.hpp"
#include "boost/asio/detached.hpp"
#include "boost/asio/use_awaitable.hpp"
#include "futures/aio/event_loop.h"
#include "futures/aio/streams.h"
#include "futures/aio/wrap_future.h"
#include "futures/future.h"
#include "futures/promise.h"

namespace {

namespace aio = concurrent::aio;
namespace asio = boost::asio;
using asio::use_awaitable;

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Resident set size of the process, in bytes.
std::size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

std::size_t HeapInUse() { return mallinfo2().uordblks; }

// --- AwaitReady ---

aio::Coroutine<void> AwaitReadyFuture(benchmark::State& state) {
  aio::Future<int> f = aio::get_running_loop().create_future<int>();
  f.set_result(1);
  long sum = 0;
  for (auto _ : state) sum += co_await f;
  benchmark::DoNotOptimize(sum);
}
void BM_AwaitReady_Concurrent(benchmark::State& state) {
  aio::run(AwaitReadyFuture(state));
}
BENCHMARK(BM_AwaitReady_Concurrent)->Name("AwaitReady/concurrent");

aio::Coroutine<int> ReadyCoroutine() { co_return 1; }
aio::Coroutine<void> AwaitReadyCoroutine(benchmark::State& state) {
  long sum = 0;
  for (auto _ : state) sum += co_await ReadyCoroutine();
  benchmark::DoNotOptimize(sum);
}
void BM_AwaitReady_ConcurrentCoroutine(benchmark::State& state) {
  aio::run(AwaitReadyCoroutine(state));
}
BENCHMARK(BM_AwaitReady_ConcurrentCoroutine)
    ->Name("AwaitReady/concurrent_coroutine");

asio::awaitable<int> AsioReady() { co_return 1; }
asio::awaitable<void> AsioAwaitReady(benchmark::State& state) {
  long sum = 0;
  for (auto _ : state) sum += co_await AsioReady();
  benchmark::DoNotOptimize(sum);
}
void BM_AwaitReady_Asio(benchmark::State& state) {
  asio::io_context ctx(1);
  asio::co_spawn(ctx, AsioAwaitReady(state), asio::detached);
  ctx.run();
}
BENCHMARK(BM_AwaitReady_Asio)->Name("AwaitReady/asio");

// --- TaskSwitch ---

aio::Coroutine<void> YieldLoop(benchmark::State& state) {
  for (auto _ : state) co_await aio::sleep(absl::ZeroDuration());
}
void BM_TaskSwitch_Concurrent(benchmark::State& state) {
  aio::run(YieldLoop(state));
}
BENCHMARK(BM_TaskSwitch_Concurrent)->Name("TaskSwitch/concurrent");

asio::awaitable<void> AsioYieldLoop(benchmark::State& state) {
  auto ex = co_await asio::this_coro::executor;
  for (auto _ : state) co_await asio::post(ex, use_awaitable);
}
void BM_TaskSwitch_Asio(benchmark::State& state) {
  asio::io_context ctx(1);
  asio::co_spawn(ctx, AsioYieldLoop(state), asio::detached);
  ctx.run();
}
BENCHMARK(BM_TaskSwitch_Asio)->Name("TaskSwitch/asio");

// --- Sleep100k ---

constexpr int kSleepers = 100'000;
constexpr auto kSleep = std::chrono::milliseconds(10);

struct MemoryPeak {
  std::size_t heap_before = 0, heap_peak = 0, rss_peak = 0;
  void start() { heap_before = HeapInUse(); }
  void peak() {
    heap_peak = HeapInUse();
    rss_peak = RssBytes();
  }
  void report(benchmark::State& state) const {
    state.counters["bytes_per_task"] =
        static_cast<double>(heap_peak - heap_before) / kSleepers;
    state.counters["rss_MiB"] = static_cast<double>(rss_peak) / (1 << 20);
  }
};

aio::Coroutine<void> SleepOne() {
  co_await aio::sleep(absl::FromChrono(kSleep));
}
aio::Coroutine<void> Sleep100k(MemoryPeak* mem) {
  std::vector<aio::Task<void>> tasks;
  tasks.reserve(kSleepers);
  for (int i = 0; i < kSleepers; ++i)
    tasks.push_back(aio::create_task(SleepOne()));
  co_await aio::sleep(absl::ZeroDuration());  // every task has started
  mem->peak();
  for (aio::Task<void>& t : tasks) co_await t;
}
void BM_Sleep100k_Concurrent(benchmark::State& state) {
  MemoryPeak mem;
  for (auto _ : state) {
    malloc_trim(0);
    mem.start();
    aio::run(Sleep100k(&mem));
  }
  mem.report(state);
  state.SetItemsProcessed(state.iterations() * kSleepers);
}
BENCHMARK(BM_Sleep100k_Concurrent)
    ->Name("Sleep100k/concurrent")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();

asio::awaitable<void> AsioSleepOne() {
  asio::steady_timer timer(co_await asio::this_coro::executor, kSleep);
  co_await timer.async_wait(use_awaitable);
}
asio::awaitable<void> AsioProbe(MemoryPeak* mem) {
  // Spawned last: when it runs, every sleeper has started.
  mem->peak();
  co_return;
}
void BM_Sleep100k_Asio(benchmark::State& state) {
  MemoryPeak mem;
  for (auto _ : state) {
    malloc_trim(0);
    mem.start();
    asio::io_context ctx(1);
    for (int i = 0; i < kSleepers; ++i) {
      asio::co_spawn(ctx, AsioSleepOne(), asio::detached);
    }
    asio::co_spawn(ctx, AsioProbe(&mem), asio::detached);
    ctx.run();
  }
  mem.report(state);
  state.SetItemsProcessed(state.iterations() * kSleepers);
}
BENCHMARK(BM_Sleep100k_Asio)
    ->Name("Sleep100k/asio")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();

// --- EchoPingPong ---

constexpr std::size_t kMessage = 32;

aio::Coroutine<void> EchoExactly(aio::StreamReader reader,
                                 aio::StreamWriter writer) {
  for (;;) {
    std::string data;
    try {
      data = co_await reader.readexactly(kMessage);
    } catch (const aio::IncompleteReadError&) {
      break;
    }
    writer.write(data);
    co_await writer.drain();
  }
  writer.close();
}

aio::Coroutine<void> PingPong(benchmark::State& state) {
  aio::Server server = co_await aio::start_server(EchoExactly, "127.0.0.1", 0);
  aio::Connection c =
      co_await aio::open_connection("127.0.0.1", server.sockets()[0].port());
  const std::string message(kMessage, 'm');
  for (auto _ : state) {
    c.writer.write(message);
    co_await c.writer.drain();
    std::string reply = co_await c.reader.readexactly(kMessage);
    benchmark::DoNotOptimize(reply);
  }
  c.writer.close();
  server.close();
  co_await server.wait_closed();
}
void BM_EchoPingPong_Concurrent(benchmark::State& state) {
  aio::run(PingPong(state));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EchoPingPong_Concurrent)
    ->Name("EchoPingPong/concurrent")
    ->UseRealTime();

asio::awaitable<void> AsioEchoSession(asio::ip::tcp::socket socket) {
  char data[kMessage];
  try {
    for (;;) {
      co_await asio::async_read(socket, asio::buffer(data), use_awaitable);
      co_await asio::async_write(socket, asio::buffer(data), use_awaitable);
    }
  } catch (const std::exception&) {
    // end of stream
  }
}
asio::awaitable<void> AsioServer(asio::ip::tcp::acceptor& acceptor) {
  asio::ip::tcp::socket socket = co_await acceptor.async_accept(use_awaitable);
  socket.set_option(asio::ip::tcp::no_delay(true));
  co_await AsioEchoSession(std::move(socket));
}
asio::awaitable<void> AsioClient(benchmark::State& state,
                                 asio::ip::tcp::endpoint endpoint) {
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(endpoint, use_awaitable);
  socket.set_option(asio::ip::tcp::no_delay(true));
  char message[kMessage] = {};
  char reply[kMessage];
  for (auto _ : state) {
    co_await asio::async_write(socket, asio::buffer(message), use_awaitable);
    co_await asio::async_read(socket, asio::buffer(reply), use_awaitable);
  }
  socket.close();
}
void BM_EchoPingPong_Asio(benchmark::State& state) {
  asio::io_context ctx(1);
  asio::ip::tcp::acceptor acceptor(
      ctx, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::co_spawn(ctx, AsioServer(acceptor), asio::detached);
  asio::co_spawn(ctx, AsioClient(state, acceptor.local_endpoint()),
                 asio::detached);
  ctx.run();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EchoPingPong_Asio)->Name("EchoPingPong/asio")->UseRealTime();

// --- HandOff ---

// A thread that runs one action per request of the loop's thread, spinning
// (with yields) so that what is timed is the hand-off back, not its wake-up.
class Helper {
 public:
  template <typename F>
  explicit Helper(F action)
      : thread_([this, action = std::move(action)]() mutable {
          std::uint64_t seen = 0;
          for (;;) {
            std::uint64_t r;
            while ((r = requests_.load(std::memory_order_acquire)) == seen) {
              std::this_thread::yield();
            }
            if (r == kStop) return;
            seen = r;
            action();
          }
        }) {}
  ~Helper() {
    requests_.store(kStop, std::memory_order_release);
    thread_.join();
  }
  void request() { requests_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  static constexpr std::uint64_t kStop = ~std::uint64_t{0};
  std::atomic<std::uint64_t> requests_{0};
  std::thread thread_;
};

aio::Coroutine<void> WrapFutureHandOffs(benchmark::State& state) {
  // Shared: the helper may still be inside set_result() when the loop
  // resumes and starts the next iteration.
  std::shared_ptr<concurrent::Promise<std::int64_t>> pending;
  Helper helper([&pending] {
    std::shared_ptr<concurrent::Promise<std::int64_t>> p = pending;
    p->set_result(NowNs());
  });
  for (auto _ : state) {
    auto promise = std::make_shared<concurrent::Promise<std::int64_t>>();
    aio::Future<std::int64_t> f = aio::wrap_future(promise->get_future());
    pending = promise;
    helper.request();
    const std::int64_t t0 = co_await f;
    state.SetIterationTime(static_cast<double>(NowNs() - t0) * 1e-9);
  }
}
void BM_HandOff_Concurrent(benchmark::State& state) {
  aio::run(WrapFutureHandOffs(state));
}
BENCHMARK(BM_HandOff_Concurrent)
    ->Name("HandOff/concurrent")
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

aio::Coroutine<void> ThreadsafeHandOffs(benchmark::State& state) {
  aio::EventLoop& loop = aio::get_running_loop();
  aio::Future<std::int64_t> pending;
  std::int64_t latency = 0;
  Helper helper([&] {
    const std::int64_t t0 = NowNs();
    loop.call_soon_threadsafe([&latency, t0, f = pending] {
      latency = NowNs() - t0;
      f.set_result(latency);
    });
  });
  for (auto _ : state) {
    pending = loop.create_future<std::int64_t>();
    aio::Future<std::int64_t> f = pending;
    helper.request();
    co_await f;
    state.SetIterationTime(static_cast<double>(latency) * 1e-9);
  }
}
void BM_HandOffThreadsafe_Concurrent(benchmark::State& state) {
  aio::run(ThreadsafeHandOffs(state));
}
BENCHMARK(BM_HandOffThreadsafe_Concurrent)
    ->Name("HandOffThreadsafe/concurrent")
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

void BM_HandOffThreadsafe_Asio(benchmark::State& state) {
  asio::io_context ctx(1);
  auto guard = asio::make_work_guard(ctx);
  std::int64_t latency = 0;
  Helper helper([&] {
    const std::int64_t t0 = NowNs();
    asio::post(ctx, [&latency, t0] { latency = NowNs() - t0; });
  });
  for (auto _ : state) {
    helper.request();
    ctx.run_one();
    state.SetIterationTime(static_cast<double>(latency) * 1e-9);
  }
}
BENCHMARK(BM_HandOffThreadsafe_Asio)
    ->Name("HandOffThreadsafe/asio")
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  bool python = true;
  std::string python_bin = "python3";
  std::string out;
  std::vector<char*> args;
  std::vector<std::string> added;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--no_python") {
      python = false;
    } else if (absl::StartsWith(arg, "--python=")) {
      python_bin = arg.substr(9);
    } else {
      if (absl::StartsWith(arg, "--benchmark_out=")) out = arg.substr(16);
      args.push_back(argv[i]);
    }
  }
  if (python && out.empty()) {
    char tmpl[] = "/tmp/aio_benchmark.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    out = absl::StrCat(tmpl, "/ours.json");
    added = {"--benchmark_out=" + out, "--benchmark_out_format=json"};
    for (std::string& a : added) args.push_back(a.data());
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (!python) return 0;
  // bazel run: the working directory is the runfiles tree of this workspace;
  // run directly, the script is in the binary's runfiles.
  std::string script = "benchmarks/python/asyncio_bench.py";
  if (access(script.c_str(), R_OK) != 0) {
    script = absl::StrCat(argv[0], ".runfiles/concurrent/", script);
  }
  const std::string cmd =
      absl::StrCat(python_bin, " ", script, " --ours ", out);
  std::cout << "\n$ " << cmd << "\n" << std::flush;
  return std::system(cmd.c_str()) == 0 ? 0 : 1;
}
