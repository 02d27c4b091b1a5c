// Copyright 2026 The concurrent Authors.
//
// The process model's proof: create and use a process pool 100 times while
// a ThreadPoolExecutor in the same process is busy taking locks (std::mutex,
// absl::Mutex, stdio's) and allocating. A worker forked from this
// multi-threaded process could inherit one of those locks held by a thread
// that does not exist in the child, and hang on it; our workers are forked
// by the fork server, which was forked while the process had one thread, so
// this never hangs. (//ipc:gtest_main starts the server before the tests.)

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "executors/thread_pool_executor.h"
#include "futures/future.h"
#include "gtest/gtest.h"
#include "ipc/process_pool_executor.h"
#include "ipc/task_registry.h"

namespace fork_safety {

std::string Echo(std::string s) { return s; }
CONCURRENT_REGISTER_TASK(Echo);

// Allocates and formats in the worker.
std::vector<std::string> Allocate(int n) {
  std::vector<std::string> out;
  std::map<int, std::string> map;
  for (int i = 0; i < n; ++i) {
    map[i] = std::to_string(i);
    out.push_back(map[i] + std::string(100, 'x'));
  }
  return out;
}
CONCURRENT_REGISTER_TASK(Allocate);

}  // namespace fork_safety

namespace concurrent {
namespace {

constexpr absl::Duration kBound = absl::Seconds(30);

TEST(ForkSafetyTest, HundredPoolsWhileAThreadPoolLocksAndAllocates) {
  // main() (//ipc:gtest_main) started the fork server, as a program should.
  std::mutex std_mutex;
  absl::Mutex absl_mutex;
  std::atomic<bool> stop{false};
  std::atomic<long> rounds{0};
  ThreadPoolExecutor threads(2);
  std::vector<Future<void>> busy;
  for (int t = 0; t < 2; ++t) {
    busy.push_back(threads.submit([&, t] {
      std::map<int, std::string> map;
      char line[128];
      while (!stop.load(std::memory_order_relaxed)) {
        {
          std::lock_guard<std::mutex> lock(std_mutex);
          map[t] = std::string(1000, 'x');  // malloc under a lock
        }
        {
          absl::MutexLock lock(&absl_mutex);
          std::vector<int> v(257, t);
          std::snprintf(line, sizeof(line), "%d", v[3]);
        }
        std::string* s = new std::string(std::to_string(rounds.fetch_add(1)));
        delete s;
      }
    }));
  }

  const absl::Time start = absl::Now();
  for (int i = 0; i < 100; ++i) {
    ProcessPoolExecutor pool(2);
    Future<std::string> a = pool.submit(fork_safety::Echo, "ping");
    Future<std::vector<std::string>> b =
        pool.submit(fork_safety::Allocate, 1000);
    ASSERT_EQ(a.result(kBound), "ping") << "round " << i;
    ASSERT_EQ(b.result(kBound).size(), 1000u) << "round " << i;
  }
  const absl::Duration took = absl::Now() - start;
  stop = true;
  for (Future<void>& f : busy) f.result();
  std::printf("100 pools in %s while the thread pool ran %ld rounds\n",
              absl::FormatDuration(took).c_str(), rounds.load());
  EXPECT_GT(rounds.load(), 0);
}

}  // namespace
}  // namespace concurrent
