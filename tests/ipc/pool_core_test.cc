// Copyright 2026 The concurrent Authors.
//
// The process pool's machinery with raw byte payloads (no codec): round
// trips, ordering, large payloads, chunks, and the worker lifecycle.

#include "ipc/internal/pool_core.h"

#include <signal.h>
#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "gtest/gtest.h"
#include "tests/ipc/raw_tasks.h"

namespace concurrent {
namespace {

using internal::PoolConfig;
using internal::PoolCore;
using testing::ParseChunk;
using testing::RawTaskError;
using testing::SubmitRaw;
using testing::SubmitRawChunk;

constexpr absl::Duration kBound = absl::Seconds(30);

#if defined(__SANITIZE_THREAD__)
constexpr std::size_t kLarge = std::size_t{8} << 20;  // see below
#else
constexpr std::size_t kLarge = std::size_t{64} << 20;
#endif

PoolConfig Config(int workers) {
  PoolConfig config;
  config.max_workers = workers;
  return config;
}

TEST(PoolCoreTest, EchoRoundTrip) {
  PoolCore pool(Config(2));
  Future<std::string> f = SubmitRaw(pool, "echo", "hello");
  EXPECT_EQ(f.result(kBound), "hello");
}

TEST(PoolCoreTest, ManyTasksAllComplete) {
  PoolCore pool(Config(2));
  std::vector<Future<std::string>> fs;
  for (int i = 0; i < 2000; ++i) {
    fs.push_back(SubmitRaw(pool, "echo", std::to_string(i)));
  }
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(fs[i].result(kBound), std::to_string(i));
  }
}

// A worker's responses never outnumber its response ring. The manager takes
// a task off a worker's in-flight list before it releases the task's
// response slot (it completes the future in between), so with a full queue
// ahead (short tasks) a submit in that gap used to send the worker one
// request more than its ring had room to answer: the worker exited (status
// 122, "request ring corrupt") and broke the pool. Slow done callbacks widen
// the gap; short tasks keep the worker's queue at its deepest.
TEST(PoolCoreTest, ResponsesFitTheRingWhileCallbacksAreSlow) {
  PoolCore pool(Config(1));
  // Teach the pool that the tasks are short (it queues ahead only then).
  {
    std::vector<Future<std::string>> warm;
    for (int i = 0; i < 500; ++i) warm.push_back(SubmitRaw(pool, "echo", "w"));
    for (Future<std::string>& f : warm) ASSERT_EQ(f.result(kBound), "w");
  }
  for (int round = 0; round < 20; ++round) {
    std::vector<Future<std::string>> fs;
    for (int i = 0; i < 300; ++i) {
      fs.push_back(SubmitRaw(pool, "echo", std::to_string(i)));
      if (i % 16 == 0) {
        fs.back().add_done_callback([](const Future<std::string>&) {
          absl::SleepFor(absl::Microseconds(200));
        });
      }
    }
    for (int i = 0; i < 300; ++i) {
      ASSERT_EQ(fs[i].result(kBound), std::to_string(i)) << "round " << round;
    }
  }
}

TEST(PoolCoreTest, WorkersAreOtherProcesses) {
  PoolCore pool(Config(2));
  const std::string pid = SubmitRaw(pool, "pid", "").result(kBound);
  EXPECT_NE(pid, std::to_string(getpid()));
  const std::vector<pid_t> pids = pool.worker_pids();
  ASSERT_FALSE(pids.empty());
  EXPECT_NE(std::find(pids.begin(), pids.end(), std::stoi(pid)), pids.end());
}

TEST(PoolCoreTest, TaskExceptionReachesTheFuture) {
  PoolCore pool(Config(1));
  Future<std::string> f = SubmitRaw(pool, "throw", "boom");
  EXPECT_THROW(
      {
        try {
          f.result(kBound);
        } catch (const RawTaskError& e) {
          EXPECT_STREQ(e.what(), "boom");
          throw;
        }
      },
      RawTaskError);
  // The worker survives a task that throws.
  EXPECT_EQ(SubmitRaw(pool, "echo", "after").result(kBound), "after");
}

TEST(PoolCoreTest, LargePayloadsBothWays) {
  PoolCore pool(Config(1));
  // ThreadSanitizer checks this process's threads: 64 MiB only slows it.
  const std::size_t size = kLarge;
  std::string big(size, 'a');
  big[12345] = 'b';
  EXPECT_EQ(SubmitRaw(pool, "length", big).result(4 * kBound),
            std::to_string(size));
  const std::string back =
      SubmitRaw(pool, "size", std::to_string(size)).result(4 * kBound);
  EXPECT_EQ(back.size(), size);
  EXPECT_EQ(back.find_first_not_of('x'), std::string::npos);
  const std::string echoed = SubmitRaw(pool, "echo", big).result(4 * kBound);
  EXPECT_EQ(echoed, big);
}

TEST(PoolCoreTest, ManyMediumPayloadsInFlight) {
  PoolCore pool(Config(2));
  std::vector<Future<std::string>> fs;
  for (int i = 0; i < 200; ++i) {
    fs.push_back(
        SubmitRaw(pool, "echo", std::string(10'000 + i, 'a' + i % 26)));
  }
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(fs[i].result(kBound), std::string(10'000 + i, 'a' + i % 26));
  }
}

TEST(PoolCoreTest, PayloadLargerThanTheLimitFailsThatFuture) {
  PoolConfig config = Config(1);
  config.max_payload_bytes = 1 << 20;
  PoolCore pool(std::move(config));

  Future<std::string> f = SubmitRaw(pool, "echo", std::string(3 << 20, 'z'));
  EXPECT_THROW(f.result(kBound), Error);
  Future<std::string> g = SubmitRaw(pool, "size", std::to_string(3 << 20));
  try {
    g.result(kBound);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("max_payload_bytes"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(SubmitRaw(pool, "echo", "fine").result(kBound), "fine");
}

TEST(PoolCoreTest, ChunkRunsEveryItemAndStopsAtTheFirstFailure) {
  PoolCore pool(Config(1));
  auto items = ParseChunk(
      SubmitRawChunk(pool, "echo", {"a", "bb", "ccc"}).result(kBound));
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[2], std::make_pair(true, std::string("ccc")));
  items = ParseChunk(SubmitRawChunk(pool, "throw", {"x", "y"}).result(kBound));
  ASSERT_EQ(items.size(), 1u);
  EXPECT_FALSE(items[0].first);
}

TEST(PoolCoreTest, KilledWorkerBreaksThePool) {
  PoolCore pool(Config(2));
  Future<std::string> ok = SubmitRaw(pool, "echo", "x");
  ASSERT_EQ(ok.result(kBound), "x");
  Future<std::string> f = SubmitRaw(pool, "sigkill", "");
  try {
    f.result(kBound);
    ADD_FAILURE() << "no error";
  } catch (const BrokenProcessPool& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("SIGKILL"), std::string::npos) << what;
    EXPECT_NE(what.find("worker pid"), std::string::npos) << what;
    EXPECT_NE(what.find("sigkill"), std::string::npos) << what;
  }
  EXPECT_THROW(SubmitRaw(pool, "echo", "y"), BrokenProcessPool);
  pool.shutdown(true, false);
}

TEST(PoolCoreTest, MaxTasksPerChildReplacesTheWorker) {
  PoolConfig config = Config(1);
  config.max_tasks_per_child = 2;
  PoolCore pool(std::move(config));
  std::vector<Future<std::string>> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(SubmitRaw(pool, "pid", ""));
  std::vector<std::string> pids;
  for (auto& f : fs) pids.push_back(f.result(kBound));
  for (int i = 0; i < 10; i += 2) {
    EXPECT_EQ(pids[i], pids[i + 1]);
    if (i > 0) {
      EXPECT_NE(pids[i], pids[i - 1]);
    }
  }
  EXPECT_EQ(std::set<std::string>(pids.begin(), pids.end()).size(), 5u);
}

TEST(PoolCoreTest, ShutdownWithoutTasks) {
  PoolCore pool(Config(2));
  pool.shutdown(true, false);
  EXPECT_THROW(SubmitRaw(pool, "echo", "x"), ExecutorShutdownError);
}

}  // namespace
}  // namespace concurrent
