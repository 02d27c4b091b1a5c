// Copyright 2026 The concurrent Authors.
//
// The process model's proof: create and use a process pool 100 times while
// a ThreadPoolExecutor in the same process is busy taking locks (std::mutex,
// absl::Mutex, stdio's) and allocating. A worker forked from this
// multi-threaded process could inherit one of those locks held by a thread
// that does not exist in the child, and hang on it; our workers are forked
// by the fork server, which was forked while the process had one thread, so
// this never hangs.

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
#include "ipc/internal/fork_server.h"
#include "ipc/internal/pool_core.h"
#include "tests/ipc/raw_tasks.h"

namespace concurrent {
namespace {

constexpr absl::Duration kBound = absl::Seconds(30);

TEST(ForkSafetyTest, HundredPoolsWhileAThreadPoolLocksAndAllocates) {
  // What main() does first (ProcessPoolExecutor::start_fork_server()).
  internal::StartForkServer();

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
    internal::PoolConfig config;
    config.max_workers = 2;
    internal::PoolCore pool(std::move(config));
    Future<std::string> a = testing::SubmitRaw(pool, "echo", "ping");
    Future<std::string> b = testing::SubmitRaw(pool, "size", "100000");
    ASSERT_EQ(a.result(kBound), "ping") << "round " << i;
    ASSERT_EQ(b.result(kBound).size(), 100000u) << "round " << i;
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
