// Futures, side by side: concurrent::Future vs std::future vs boost::future
// (BOOST_THREAD_VERSION 5), same workloads, same binary.
//
// Names are <workload>/<implementation>; benchmarks/python/ratios.py turns a
// --benchmark_format=json run into medians and ratios to "concurrent".
//
//   RoundTrip    create a promise, take its future, set a value, get it.
//   OneCallback  the same with one completion callback (Boost: then(sync)).
//   ThenChain10  ten inline continuations off one promise, then get the end.
//   Handoff      ping-pong between two threads: set in one, result() in the
//                other, and back (two cross-thread hand-offs per iteration).
//                Wall time and the whole process's CPU time: our waiters spin
//                briefly before they park, the peers park at once, so the
//                CPU column shows what the spinning costs.

#define BOOST_THREAD_VERSION 5

#include <atomic>
#include <future>
#include <thread>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "boost/thread/future.hpp"
#include "futures/future.h"
#include "futures/promise.h"

namespace {

// ---------------------------------------------------------------------------
// RoundTrip

void RoundTripConcurrent(benchmark::State& state) {
  for (auto _ : state) {
    concurrent::Promise<int> p;
    concurrent::Future<int> f = p.get_future();
    p.set_result(1);
    benchmark::DoNotOptimize(f.result());
  }
}
BENCHMARK(RoundTripConcurrent)->Name("RoundTrip/concurrent");

void RoundTripStd(benchmark::State& state) {
  for (auto _ : state) {
    std::promise<int> p;
    std::future<int> f = p.get_future();
    p.set_value(1);
    benchmark::DoNotOptimize(f.get());
  }
}
BENCHMARK(RoundTripStd)->Name("RoundTrip/std_future");

void RoundTripBoost(benchmark::State& state) {
  for (auto _ : state) {
    boost::promise<int> p;
    boost::future<int> f = p.get_future();
    p.set_value(1);
    benchmark::DoNotOptimize(f.get());
  }
}
BENCHMARK(RoundTripBoost)->Name("RoundTrip/boost_future");

// ---------------------------------------------------------------------------
// OneCallback

void OneCallbackConcurrent(benchmark::State& state) {
  int calls = 0;
  for (auto _ : state) {
    concurrent::Promise<int> p;
    p.get_future().add_done_callback(
        [&calls](const concurrent::Future<int>& f) { calls += f.result(); });
    p.set_result(1);
  }
  benchmark::DoNotOptimize(calls);
}
BENCHMARK(OneCallbackConcurrent)->Name("OneCallback/concurrent");

void OneCallbackBoost(benchmark::State& state) {
  int calls = 0;
  for (auto _ : state) {
    boost::promise<int> p;
    auto done = p.get_future().then(
        boost::launch::sync,
        [&calls](boost::future<int> f) { calls += f.get(); });
    p.set_value(1);
    done.wait();
  }
  benchmark::DoNotOptimize(calls);
}
BENCHMARK(OneCallbackBoost)->Name("OneCallback/boost_future");

// ---------------------------------------------------------------------------
// ThenChain10

void ThenChainConcurrent(benchmark::State& state) {
  for (auto _ : state) {
    concurrent::Promise<int> p;
    concurrent::Future<int> f = p.get_future();
    for (int i = 0; i < 10; ++i) f = f.then([](int v) { return v + 1; });
    p.set_result(0);
    benchmark::DoNotOptimize(f.result());
  }
}
BENCHMARK(ThenChainConcurrent)->Name("ThenChain10/concurrent");

void ThenChainBoost(benchmark::State& state) {
  for (auto _ : state) {
    boost::promise<int> p;
    boost::future<int> f = p.get_future();
    for (int i = 0; i < 10; ++i) {
      f = f.then(boost::launch::sync,
                 [](boost::future<int> prev) { return prev.get() + 1; });
    }
    p.set_value(0);
    benchmark::DoNotOptimize(f.get());
  }
}
BENCHMARK(ThenChainBoost)->Name("ThenChain10/boost_future");

// ---------------------------------------------------------------------------
// Handoff: all promises are made before timing starts; the partner thread
// waits on ping[i] and answers on pong[i].

constexpr int kHandoffs = 20000;

template <typename Promise, typename Future, typename Get, typename Set>
void Handoff(benchmark::State& state, Get get, Set set) {
  const auto n = static_cast<std::size_t>(state.max_iterations);
  std::vector<Promise> ping(n), pong(n);
  std::vector<Future> ping_f, pong_f;
  ping_f.reserve(n);
  pong_f.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    ping_f.push_back(ping[i].get_future());
    pong_f.push_back(pong[i].get_future());
  }
  std::thread partner([&] {
    for (std::size_t i = 0; i < n; ++i) {
      benchmark::DoNotOptimize(get(ping_f[i]));
      set(pong[i], static_cast<int>(i));
    }
  });
  std::size_t i = 0;
  for (auto _ : state) {
    set(ping[i], static_cast<int>(i));
    benchmark::DoNotOptimize(get(pong_f[i]));
    ++i;
  }
  partner.join();
}

void HandoffConcurrent(benchmark::State& state) {
  Handoff<concurrent::Promise<int>, concurrent::Future<int>>(
      state, [](concurrent::Future<int>& f) { return f.result(); },
      [](concurrent::Promise<int>& p, int v) { p.set_result(v); });
}
BENCHMARK(HandoffConcurrent)
    ->MeasureProcessCPUTime()
    ->Name("Handoff/concurrent")
    ->Iterations(kHandoffs)
    ->UseRealTime();

void HandoffStd(benchmark::State& state) {
  Handoff<std::promise<int>, std::future<int>>(
      state, [](std::future<int>& f) { return f.get(); },
      [](std::promise<int>& p, int v) { p.set_value(v); });
}
BENCHMARK(HandoffStd)
    ->MeasureProcessCPUTime()
    ->Name("Handoff/std_future")
    ->Iterations(kHandoffs)
    ->UseRealTime();

void HandoffBoost(benchmark::State& state) {
  Handoff<boost::promise<int>, boost::future<int>>(
      state, [](boost::future<int>& f) { return f.get(); },
      [](boost::promise<int>& p, int v) { p.set_value(v); });
}
BENCHMARK(HandoffBoost)
    ->MeasureProcessCPUTime()
    ->Name("Handoff/boost_future")
    ->Iterations(kHandoffs)
    ->UseRealTime();

}  // namespace
