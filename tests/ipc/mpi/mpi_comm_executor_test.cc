// Copyright 2026 The concurrent Authors.
//
// MpiCommExecutor's contract, run under mpirun with 3 ranks (the master and
// two workers) by tools/mpi/run_mpi.sh: `MpiCommExecutor::main` runs the tests
// on rank 0 while ranks 1 and 2 serve every executor the tests create. Tasks
// synchronise through files (a task that waits for a file the test creates),
// never through sleeps.

#include "ipc/mpi/mpi_comm_executor.h"

#define OMPI_SKIP_MPICXX 1  // <mpi.h>'s C API only, for MPI_THREAD_MULTIPLE
#include <mpi.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "executors/executor.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "futures/wait.h"
#include "gtest/gtest.h"
#include "ipc/codec.h"
#include "ipc/remote_error.h"
#include "ipc/task_registry.h"
#include "tests/ipc/mpi/mpi_test_tasks.h"

namespace concurrent {
namespace {

using mpi_test::CountPrimes;
using mpi_test::FailOnOdd;
using mpi_test::InvertBytes;
using mpi_test::Multiply;
using mpi_test::Pid;
using mpi_test::SleepThenPid;
using mpi_test::Square;
using mpi_test::StartWaitWrite;
using mpi_test::ThrowParseError;
using mpi_test::WaitForFile;
using mpi_test::WriteFile;

// A file path unique to this process and test, removed at the end.
class TempFile {
 public:
  explicit TempFile(const std::string& tag) {
    const char* dir = std::getenv("TEST_TMPDIR");
    path_ = std::string(dir != nullptr ? dir : "/tmp") + "/mpi_test_" +
            std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() +
            "_" + tag;
    std::remove(path_.c_str());
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  void create() const { std::ofstream(path_) << "go"; }
  bool exists() const { return access(path_.c_str(), F_OK) == 0; }
  std::string read() const {
    std::ifstream in(path_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string path_;
};

// Waits (bounded) until the executor has sent `f`'s task to a worker rank.
template <typename T>
void WaitUntilRunning(const Future<T>& f) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!f.running() && !f.done() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_TRUE(f.running()) << "the task was not sent within 60 s";
}

TEST(MpiCommExecutorTest, RunsOnThreeRanksWithThreadMultiple) {
  MpiCommExecutor executor;
  ASSERT_TRUE(executor.is_master());
  EXPECT_EQ(executor.rank(), 0);
  EXPECT_EQ(executor.world_size(), 3);
  EXPECT_EQ(executor.max_workers(), 2);
  // Recorded in docs/distributed.md: Debian's Open MPI 4.1.4 provides
  // MPI_THREAD_MULTIPLE.
  EXPECT_EQ(MpiCommExecutor::thread_level(), MPI_THREAD_MULTIPLE);
}

TEST(MpiCommExecutorTest, SubmitReturnsTheResultFromAWorkerRank) {
  MpiCommExecutor executor;
  Future<int> f = executor.submit(Multiply, 6, 7);
  EXPECT_EQ(f.result(), 42);
  const std::int64_t pid = executor.submit(Pid).result();
  EXPECT_NE(pid, getpid()) << "the task ran in the master";
}

TEST(MpiCommExecutorTest, VoidTaskAndArgumentsEncodedAtSubmit) {
  TempFile file("void");
  MpiCommExecutor executor;
  std::string text = "before";
  Future<void> f = executor.submit(WriteFile, file.path(), text);
  text = "after";
  f.result();
  EXPECT_EQ(file.read(), "before");
}

TEST(MpiCommExecutorTest, IdleRanksGetTasksFirst) {
  TempFile go("go");  // outlives the executor, which waits for the tasks
  MpiCommExecutor executor;
  // Two tasks that block until `go` exists: each must be on its own rank
  // (the second may not queue behind the first while a rank is idle).
  Future<std::int64_t> a = executor.submit(WaitForFile, go.path());
  Future<std::int64_t> b = executor.submit(WaitForFile, go.path());
  // And while both ranks are busy, a third stays pending (long tasks are
  // not queued ahead): it can still be cancelled.
  Future<std::int64_t> c = executor.submit(WaitForFile, go.path());
  EXPECT_TRUE(c.cancel());
  go.create();
  EXPECT_NE(a.result(), b.result());
  EXPECT_NE(a.result(), getpid());
  EXPECT_THROW(c.result(), CancelledError);
}

TEST(MpiCommExecutorTest, ResultsCompleteFuturesAsTheyArrive) {
  TempFile go("go");  // outlives the executor, which waits for the tasks
  MpiCommExecutor executor;
  Future<std::int64_t> slow = executor.submit(WaitForFile, go.path());
  Future<int> fast = executor.submit(Multiply, 2, 3);
  EXPECT_EQ(fast.result(absl::Seconds(60)), 6);
  EXPECT_FALSE(slow.done());
  go.create();
  EXPECT_GT(slow.result(), 0);
}

TEST(MpiCommExecutorTest, ThrowingTaskFailsOnlyItsFuture) {
  MpiCommExecutor executor;
  Future<std::int64_t> bad = executor.submit(FailOnOdd, 3);
  Future<std::int64_t> good = executor.submit(FailOnOdd, 4);
  try {
    bad.result();
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    // The registered standard type, as the process pool gives it.
    EXPECT_EQ(typeid(e), typeid(std::invalid_argument));
    EXPECT_STREQ(e.what(), "bad 3");
    // result() rethrows the same stored object every time.
    try {
      bad.result();
    } catch (const std::invalid_argument& again) {
      EXPECT_EQ(&again, &e);
    }
  }
  EXPECT_EQ(good.result(), 4);
  EXPECT_EQ(executor.submit(Multiply, 3, 3).result(), 9);
}

TEST(MpiCommExecutorTest, UnregisteredExceptionTypeComesBackAsRemoteError) {
  MpiCommExecutor executor;
  Future<int> f = executor.submit(ThrowParseError, "line 3");
  try {
    f.result();
    ADD_FAILURE() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_EQ(e.type_name(), "concurrent::mpi_test::ParseError");
    EXPECT_EQ(e.message(), "line 3");
    EXPECT_NE(e.pid(), getpid());
    EXPECT_EQ(e.function_name(), "concurrent::mpi_test::ThrowParseError");
  }
}

TEST(MpiCommExecutorTest, SixtyFourMebibyteArgumentAndResult) {
  MpiCommExecutor executor;
  constexpr std::uint64_t kSize = std::uint64_t{64} << 20;
  std::vector<std::uint8_t> data(kSize);
  for (std::uint64_t i = 0; i < kSize; ++i) {
    data[i] = static_cast<std::uint8_t>(i * 131 + 7);
  }
  std::vector<std::uint8_t> out =
      executor.submit(InvertBytes, data, kSize, std::uint8_t{0}).result();
  ASSERT_EQ(out.size(), kSize);
  for (std::uint64_t i = 0; i < kSize; i += 4093) {
    ASSERT_EQ(out[i], static_cast<std::uint8_t>(~data[i])) << "at " << i;
  }
  EXPECT_EQ(out.back(), static_cast<std::uint8_t>(~data.back()));
}

TEST(MpiCommExecutorTest, PayloadsOverMaxPayloadBytesFailTheirFuture) {
  MpiCommExecutor executor({.max_payload_bytes = 4096});
  // Arguments too large: the future fails, nothing is sent.
  Future<std::vector<std::uint8_t>> big_args = executor.submit(
      InvertBytes, std::vector<std::uint8_t>(8192), 1, std::uint8_t{0});
  EXPECT_THROW(big_args.result(), CodecError);
  // A result too large: the worker says so instead of sending it.
  Future<std::vector<std::uint8_t>> big_result = executor.submit(
      InvertBytes, std::vector<std::uint8_t>(), 8192, std::uint8_t{1});
  try {
    big_result.result();
    ADD_FAILURE() << "no exception";
  } catch (const CodecError& e) {
    EXPECT_NE(std::string(e.what()).find("max_payload_bytes"),
              std::string::npos)
        << e.what();
  }
  // The executor goes on.
  EXPECT_EQ(executor.submit(Multiply, 5, 5).result(), 25);
}

TEST(MpiCommExecutorTest, MapYieldsResultsInInputOrderWithChunks) {
  MpiCommExecutor executor;
  std::vector<std::int64_t> inputs(1000);
  for (int i = 0; i < 1000; ++i) inputs[i] = i;
  for (std::size_t chunksize :
       {std::size_t{1}, std::size_t{7}, std::size_t{1000}}) {
    std::vector<std::int64_t> out;
    for (std::int64_t y :
         executor.map(Square, inputs, {.chunksize = chunksize})) {
      out.push_back(y);
    }
    ASSERT_EQ(out.size(), inputs.size()) << "chunksize " << chunksize;
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(out[i], std::int64_t{i} * i);
  }
}

TEST(MpiCommExecutorTest, MapRaisesTheFailedItemsExceptionAfterTheOnesBefore) {
  MpiCommExecutor executor;
  std::vector<std::int64_t> inputs = {0, 2, 4, 5, 6, 8};
  std::vector<std::int64_t> seen;
  try {
    for (std::int64_t y : executor.map(FailOnOdd, inputs, {.chunksize = 4})) {
      seen.push_back(y);
    }
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "bad 5");
  }
  EXPECT_EQ(seen, (std::vector<std::int64_t>{0, 2, 4}));
}

TEST(MpiCommExecutorTest, MapWithBuffersizeTakesAnEndlessInput) {
  MpiCommExecutor executor;
  std::vector<std::int64_t> out;
  for (std::int64_t y : executor.map(Square, std::views::iota(std::int64_t{0}),
                                     {.chunksize = 3, .buffersize = 2})) {
    out.push_back(y);
    if (out.size() == 20) break;
  }
  ASSERT_EQ(out.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(out[i], std::int64_t{i} * i);
}

TEST(MpiCommExecutorTest, MapTimeoutCountsFromTheCall) {
  TempFile go("go");  // outlives the executor, which waits for the tasks
  MpiCommExecutor executor;
  std::vector<std::string> paths = {go.path()};
  auto results =
      executor.map(WaitForFile, paths, {.timeout = absl::Milliseconds(50)});
  EXPECT_THROW(results.begin(), TimeoutError);
  go.create();  // the task, already running, finishes
}

// Item 0 finishes at once (its go file exists); items 1 and 2 then wait on
// `go`, one per worker rank; items 3 to 5 wait in the master. Call
// make_tasks_look_long() first: the dispatcher queues several tasks per rank
// only for an executor whose tasks ran short (under 100 us) so far.
struct StartWaitWriteMap {
  TempFile ready{"ready"};
  TempFile go{"go"};
  std::vector<std::unique_ptr<TempFile>> outs;
  std::vector<std::pair<std::string, std::string>> inputs;

  StartWaitWriteMap() {
    ready.create();
    for (int i = 0; i < 6; ++i) {
      outs.push_back(std::make_unique<TempFile>("out" + std::to_string(i)));
      inputs.emplace_back(i == 0 ? ready.path() : go.path(),
                          outs.back()->path());
    }
  }
  static void make_tasks_look_long(MpiCommExecutor& executor) {
    executor.submit(SleepThenPid, 200).result();
  }
  bool started(int i) const {
    return access((outs[i]->path() + ".started").c_str(), F_OK) == 0;
  }
  // Waits (bounded) until items 1 and 2 run.
  bool wait_until_both_ranks_busy() const {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (!(started(1) && started(2)) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    return started(1) && started(2);
  }
  int written() const {
    int n = 0;
    for (const auto& out : outs) {
      n += out->exists() ? 1 : 0;
      std::remove((out->path() + ".started").c_str());
    }
    return n;
  }
};

TEST(MpiCommExecutorTest, DestroyingAnIteratedMapRangeCancelsChunksNotSent) {
  StartWaitWriteMap m;
  MpiCommExecutor executor;
  m.make_tasks_look_long(executor);
  {
    auto results = executor.map(StartWaitWrite, m.inputs);
    auto it = results.begin();  // item 0's result
    EXPECT_EQ(*it, 0);
    ASSERT_TRUE(m.wait_until_both_ranks_busy());
  }  // destroyed: the three chunks not sent are cancelled
  m.go.create();
  executor.shutdown();
  EXPECT_EQ(m.written(), 3);
}

TEST(MpiCommExecutorTest, AMapRangeNeverIteratedLetsItsTasksRun) {
  StartWaitWriteMap m;
  MpiCommExecutor executor;
  m.make_tasks_look_long(executor);
  {
    auto results = executor.map(StartWaitWrite, m.inputs);
    ASSERT_TRUE(m.wait_until_both_ranks_busy());
  }  // destroyed unread: every task still runs (CPython's map)
  m.go.create();
  executor.shutdown();
  EXPECT_EQ(m.written(), 6);
}

TEST(MpiCommExecutorTest, ShutdownWaitRunsEveryAcceptedTask) {
  MpiCommExecutor executor;
  std::vector<Future<int>> fs;
  for (int i = 0; i < 200; ++i) fs.push_back(executor.submit(Multiply, i, 2));
  executor.shutdown(/*wait=*/true);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(fs[i].done());
    EXPECT_EQ(fs[i].result(), 2 * i);
  }
}

TEST(MpiCommExecutorTest, ShutdownCancelFuturesCancelsPendingWork) {
  TempFile go("go");  // outlives the executor, which waits for the tasks
  MpiCommExecutor executor;
  Future<std::int64_t> a = executor.submit(WaitForFile, go.path());
  Future<std::int64_t> b = executor.submit(WaitForFile, go.path());
  std::vector<Future<int>> pending;
  // a and b are running (sent to the two ranks) before the others are
  // submitted; those wait, as long tasks are not queued ahead.
  WaitUntilRunning(a);
  WaitUntilRunning(b);
  for (int i = 0; i < 10; ++i)
    pending.push_back(executor.submit(Multiply, i, i));
  executor.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  for (Future<int>& f : pending) {
    EXPECT_TRUE(f.cancelled());
    EXPECT_THROW(f.result(), CancelledError);
  }
  EXPECT_THROW(executor.submit(Multiply, 1, 1), ExecutorShutdownError);
  go.create();
  // The running tasks still finish.
  EXPECT_GT(a.result(), 0);
  EXPECT_GT(b.result(), 0);
}

TEST(MpiCommExecutorTest, SubmitAndMapAfterShutdownThrow) {
  MpiCommExecutor executor;
  executor.shutdown();
  EXPECT_THROW(executor.submit(Multiply, 1, 2), ExecutorShutdownError);
  EXPECT_THROW(executor.map(Square, std::vector<std::int64_t>{1, 2}),
               ExecutorShutdownError);
  executor.shutdown();  // idempotent
  executor.shutdown(false, true);
}

TEST(MpiCommExecutorTest, ClosuresThroughTheExecutorInterfaceAreRejected) {
  MpiCommExecutor executor;
  Executor& base = executor;
  EXPECT_THROW(base.submit([] { return 1; }), std::invalid_argument);
}

TEST(MpiCommExecutorTest, BadOptionsAreInvalidArguments) {
  EXPECT_THROW(MpiCommExecutor({.max_workers = 0}), std::invalid_argument);
  EXPECT_THROW(MpiCommExecutor({.max_workers = 3}), std::invalid_argument);
  EXPECT_THROW(MpiCommExecutor({.max_payload_bytes = 0}),
               std::invalid_argument);
  MpiCommExecutor executor;
  EXPECT_THROW(
      executor.map(Square, std::vector<std::int64_t>{1}, {.chunksize = 0}),
      std::invalid_argument);
}

TEST(MpiCommExecutorTest, MaxWorkersOneUsesOneRank) {
  MpiCommExecutor executor({.max_workers = 1});
  std::set<std::int64_t> pids;
  std::vector<Future<std::int64_t>> fs;
  for (int i = 0; i < 20; ++i) fs.push_back(executor.submit(SleepThenPid, 1));
  for (auto& f : fs) pids.insert(f.result());
  EXPECT_EQ(pids.size(), 1u);
}

TEST(MpiCommExecutorTest, DoneCallbacksRunAndMaySubmit) {
  MpiCommExecutor executor;
  absl::Notification done;
  std::atomic<int> seen{0};
  Future<int> f = executor.submit(Multiply, 4, 5);
  f.add_done_callback([&](const Future<int>& first) {
    Future<int> second = executor.submit(Multiply, first.result(), 2);
    second.add_done_callback([&](const Future<int>& s) {
      seen = s.result();
      done.Notify();
    });
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(seen.load(), 40);
}

TEST(MpiCommExecutorTest, ConcurrentExecutorsAndSubmittingThreads) {
  MpiCommExecutor one;
  MpiCommExecutor two({.max_workers = 1});
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      MpiCommExecutor& executor = t % 2 == 0 ? one : two;
      std::vector<Future<int>> fs;
      for (int i = 0; i < 300; ++i)
        fs.push_back(executor.submit(Multiply, i, t));
      for (int i = 0; i < 300; ++i) {
        if (fs[i].result() != i * t) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(MpiCommExecutorTest, TwentyThousandSmallTasks) {
  MpiCommExecutor executor;
  std::vector<Future<int>> fs;
  fs.reserve(20000);
  for (int i = 0; i < 20000; ++i) fs.push_back(executor.submit(Multiply, i, 3));
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(fs[i].result(), 3 * i);
}

TEST(MpiCommExecutorTest, CpuBoundTasksUseBothRanks) {
  MpiCommExecutor executor;
  std::vector<Future<std::int64_t>> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(executor.submit(CountPrimes, 20000));
  for (auto& f : fs) EXPECT_EQ(f.result(), 2262);
}

}  // namespace
}  // namespace concurrent

int main(int argc, char** argv) {
  return concurrent::MpiCommExecutor::main(argc, argv, [&] {
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
  });
}
