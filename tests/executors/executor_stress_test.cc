// Copyright 2026 The concurrent Authors.
//
// Bounded stress of the thread pool: many submitters racing with cancel()
// and shutdown(). Every accepted future must end done, with its own value or
// cancelled; nothing may hang or leak (asan), and no race may exist (tsan).

#include <atomic>
#include <latch>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "executors/thread_pool_executor.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "gtest/gtest.h"

namespace concurrent {
namespace {

TEST(ThreadPoolStressTest, SubmittersRaceWithCancelAndShutdown) {
  constexpr int kRounds = 150;
  constexpr int kSubmitters = 3;
  constexpr int kTasksEach = 300;
  for (int round = 0; round < kRounds; ++round) {
    ThreadPoolExecutor pool(2);
    absl::Notification go;
    // Shutdown comes once every submitter is half-way.
    std::latch half_way(kSubmitters);
    std::atomic<int> ran{0};
    std::vector<std::vector<Future<int>>> accepted(kSubmitters);
    std::vector<std::thread> threads;
    for (int s = 0; s < kSubmitters; ++s) {
      threads.emplace_back([&, s] {
        go.WaitForNotification();
        for (int i = 0; i < kTasksEach; ++i) {
          if (i == kTasksEach / 2) half_way.count_down();
          try {
            Future<int> f = pool.submit([&ran, i] {
              ran.fetch_add(1, std::memory_order_relaxed);
              return i;
            });
            if (i % 7 == 0) f.cancel();
            accepted[s].push_back(std::move(f));
          } catch (const ExecutorShutdownError&) {
            break;
          }
        }
      });
    }
    go.Notify();
    half_way.wait();
    pool.shutdown(/*wait=*/round % 2 == 0, /*cancel_futures=*/round % 3 == 0);
    for (std::thread& t : threads) t.join();
    pool.shutdown(/*wait=*/true);
    int finished = 0;
    for (int s = 0; s < kSubmitters; ++s) {
      for (std::size_t i = 0; i < accepted[s].size(); ++i) {
        const Future<int>& f = accepted[s][i];
        ASSERT_TRUE(f.done());
        if (!f.cancelled()) {
          EXPECT_EQ(f.result(), static_cast<int>(i));
          ++finished;
        }
      }
    }
    EXPECT_EQ(finished, ran.load());
  }
}

TEST(ThreadPoolStressTest, ManyShortTasksAndWaitersFromInsideThePool) {
  ThreadPoolExecutor pool(2);
  std::vector<Future<long>> fs;
  for (int i = 0; i < 2000; ++i) {
    fs.push_back(pool.submit([&pool, i]() -> long {
      if (i % 10 != 0) return i;
      // Waits on tasks of its own pool, which may be queued, running or done.
      Future<long> a = pool.submit([i] { return static_cast<long>(i) * 2; });
      Future<long> b = pool.submit([i] { return static_cast<long>(i) * 3; });
      return a.result() + b.result() - 4L * i;
    }));
  }
  long sum = 0;
  for (const Future<long>& f : fs) sum += f.result();
  EXPECT_EQ(sum, 1999L * 2000 / 2);
}

}  // namespace
}  // namespace concurrent
