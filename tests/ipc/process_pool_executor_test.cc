// Copyright 2026 The concurrent Authors.
//
// ProcessPoolExecutor's contract with registered functions: submit, map,
// types across the boundary, exceptions, the worker lifecycle (initializer,
// max_tasks_per_child, per-worker GIL), failure policies, forced stops, and
// nothing left behind.

#include "ipc/process_pool_executor.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "executors/executor.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "gil/gil.h"
#include "gtest/gtest.h"
#include "ipc/codec.h"
#include "ipc/remote_error.h"
#include "ipc/task_registry.h"

namespace ppe_test {

// --- Registered functions ----------------------------------------------

int Square(int x) { return x * x; }
CONCURRENT_REGISTER_TASK(Square);

int Add(int a, int b) { return a + b; }
CONCURRENT_REGISTER_TASK(Add);

std::int64_t Pid() { return getpid(); }
CONCURRENT_REGISTER_TASK(Pid);

void Nothing() {}
CONCURRENT_REGISTER_TASK(Nothing);

std::string Upper(const std::string& s) {
  std::string out = s;
  for (char& c : out) c = static_cast<char>(std::toupper(c));
  return out;
}
CONCURRENT_REGISTER_TASK(Upper);

std::map<std::string, std::vector<double>> Scale(
    std::map<std::string, std::vector<double>> m, double k) {
  for (auto& [key, v] : m) {
    for (double& x : v) x *= k;
  }
  return m;
}
CONCURRENT_REGISTER_TASK(Scale);

struct Order {
  std::string symbol;
  std::vector<double> prices;
  std::optional<int> quantity;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(symbol, prices, quantity);
  }
};

Order Double(Order o) {
  for (double& p : o.prices) p *= 2;
  if (o.quantity) *o.quantity *= 2;
  return o;
}
CONCURRENT_REGISTER_TASK(Double);

std::vector<std::uint8_t> Echo(std::vector<std::uint8_t> v) { return v; }
CONCURRENT_REGISTER_TASK(Echo);

std::uint64_t Checksum(const std::vector<std::uint8_t>& v) {
  std::uint64_t sum = 0;
  for (std::uint8_t b : v) sum = sum * 31 + b;
  return sum;
}
CONCURRENT_REGISTER_TASK(Checksum);

std::string MakeString(std::uint64_t n) { return std::string(n, 'q'); }
CONCURRENT_REGISTER_TASK(MakeString);

int ThrowInvalid(int x) {
  throw std::invalid_argument("bad x " + std::to_string(x));
}
CONCURRENT_REGISTER_TASK(ThrowInvalid);

struct Unregistered : std::runtime_error {
  using std::runtime_error::runtime_error;
};
int ThrowUnregistered(int) { throw Unregistered("not registered"); }
CONCURRENT_REGISTER_TASK(ThrowUnregistered);

int FailAt(int x) {
  if (x == 5) throw std::out_of_range("five");
  return x;
}
CONCURRENT_REGISTER_TASK(FailAt);

int SleepMs(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
CONCURRENT_REGISTER_TASK(SleepMs);

std::int64_t NapThenPid(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return getpid();
}
CONCURRENT_REGISTER_TASK(NapThenPid);

// Creates `path`, then sleeps up to 2 min (the test kills or releases it).
int StartedThenWait(std::string started, std::string release) {
  if (FILE* f = std::fopen(started.c_str(), "w")) std::fclose(f);
  struct stat st;
  for (int i = 0; i < 120'000 && stat(release.c_str(), &st) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return 0;
}
CONCURRENT_REGISTER_TASK(StartedThenWait);

std::string g_state = "fresh";
void SetState(std::string s) { g_state = std::move(s); }
CONCURRENT_REGISTER_TASK(SetState);
std::string GetState() { return g_state; }
CONCURRENT_REGISTER_TASK(GetState);

void FailInit(std::string why) { throw std::runtime_error(why); }
CONCURRENT_REGISTER_TASK(FailInit);

bool HoldsGil() {
  return concurrent::current_gil() != nullptr &&
         concurrent::current_gil()->held_by_current_thread();
}
CONCURRENT_REGISTER_TASK(HoldsGil);

int Crash(int how) {
  if (how == 0) raise(SIGKILL);
  if (how == 1) std::abort();
  _exit(how);
}
CONCURRENT_REGISTER_TASK(Crash);

// A type whose hook throws when it is encoded (a result that cannot be
// serialized), or decoded, as its field asks.
struct Fussy {
  int refuse = 0;  // 1: refuse to be encoded; 2: refuse to be decoded
  template <class Archive>
  void serialize(Archive& ar) {
    ar(refuse);
    if (refuse == (Archive::is_loading ? 2 : 1)) {
      throw std::domain_error(Archive::is_loading ? "no decoding"
                                                  : "no encoding");
    }
  }
};
Fussy MakeFussy(int refuse) { return Fussy{refuse}; }
CONCURRENT_REGISTER_TASK(MakeFussy);
int TakeFussy(Fussy f) { return f.refuse; }
CONCURRENT_REGISTER_TASK(TakeFussy);

int NotRegistered(int x) { return x; }

}  // namespace ppe_test

namespace concurrent {
namespace {

using namespace ppe_test;  // NOLINT: the test's own functions

constexpr absl::Duration kBound = absl::Seconds(30);

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer checks this process's threads; 64 MiB payloads only make
// it slow (the plain and ASan builds move 64 MiB).
constexpr std::size_t kLarge = std::size_t{8} << 20;
#else
constexpr std::size_t kLarge = std::size_t{64} << 20;
#endif

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  static int counter = 0;
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name, "-", getpid(),
                      "-", ++counter);
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

void AwaitFile(const std::string& path) {
  const absl::Time deadline = absl::Now() + kBound;
  while (!Exists(path)) {
    ASSERT_LT(absl::Now(), deadline) << path;
    absl::SleepFor(absl::Milliseconds(1));
  }
}

void Touch(const std::string& path) {
  if (FILE* f = std::fopen(path.c_str(), "w")) std::fclose(f);
}

std::set<std::string> ShmEntries() {
  std::set<std::string> names;
  if (DIR* d = opendir("/dev/shm")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') names.insert(e->d_name);
    }
    closedir(d);
  }
  return names;
}

TEST(ProcessPoolExecutorTest, SubmitRunsInAnotherProcess) {
  ProcessPoolExecutor pool(2);
  EXPECT_EQ(pool.submit(Square, 7).result(kBound), 49);
  EXPECT_EQ(pool.submit(Add, 2, 3).result(kBound), 5);
  const std::int64_t pid = pool.submit(Pid).result(kBound);
  EXPECT_NE(pid, getpid());
  const std::vector<pid_t> pids = pool.worker_pids();
  EXPECT_NE(std::find(pids.begin(), pids.end(), pid), pids.end());
  pool.submit(Nothing).result(kBound);
}

TEST(ProcessPoolExecutorTest, ArgumentsConvertToTheParameterTypes) {
  ProcessPoolExecutor pool(1);
  // A const char* becomes the std::string parameter; a short an int.
  EXPECT_EQ(pool.submit(Upper, "abc").result(kBound), "ABC");
  const short five = 5;
  EXPECT_EQ(pool.submit(Square, five).result(kBound), 25);
}

TEST(ProcessPoolExecutorTest, ContainersAndUserTypesCross) {
  ProcessPoolExecutor pool(1);
  std::map<std::string, std::vector<double>> m = {{"a", {1, 2}}, {"b", {3}}};
  const auto scaled = pool.submit(Scale, m, 10.0).result(kBound);
  EXPECT_EQ(scaled.at("a"), (std::vector<double>{10, 20}));
  EXPECT_EQ(scaled.at("b"), (std::vector<double>{30}));
  const Order o =
      pool.submit(Double, Order{"ACME", {1.5, 2.5}, 10}).result(kBound);
  EXPECT_EQ(o.symbol, "ACME");
  EXPECT_EQ(o.prices, (std::vector<double>{3, 5}));
  EXPECT_EQ(o.quantity, 20);
}

TEST(ProcessPoolExecutorTest, StandardExceptionsComeBackAsThemselves) {
  ProcessPoolExecutor pool(1);
  Future<int> f = pool.submit(ThrowInvalid, 3);
  try {
    f.result(kBound);
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "bad x 3");
  }
}

TEST(ProcessPoolExecutorTest, OtherExceptionsComeBackAsRemoteError) {
  ProcessPoolExecutor pool(1);
  Future<int> f = pool.submit(ThrowUnregistered, 0);
  try {
    f.result(kBound);
    ADD_FAILURE() << "no exception";
  } catch (const RemoteError& e) {
    EXPECT_NE(e.type_name().find("Unregistered"), std::string::npos)
        << e.type_name();
    EXPECT_EQ(e.message(), "not registered");
    EXPECT_NE(e.pid(), getpid());
    EXPECT_NE(e.function_name().find("ThrowUnregistered"), std::string::npos);
  }
  // The worker lives on.
  EXPECT_EQ(pool.submit(Square, 2).result(kBound), 4);
}

TEST(ProcessPoolExecutorTest, UnregisteredFunctionIsARunTimeErrorNamingIt) {
  ProcessPoolExecutor pool(1);
  try {
    pool.submit(NotRegistered, 1);
    ADD_FAILURE() << "no exception";
  } catch (const UnregisteredTaskError& e) {
    EXPECT_NE(std::string(e.what()).find("NotRegistered"), std::string::npos)
        << e.what();
  }
}

TEST(ProcessPoolExecutorTest, ClosuresThroughTheExecutorBaseAreRejected) {
  ProcessPoolExecutor pool(1);
  Executor& base = pool;
  EXPECT_THROW(base.submit([] { return 1; }), std::invalid_argument);
}

TEST(ProcessPoolExecutorTest, ResultThatCannotBeEncodedFailsThatFuture) {
  ProcessPoolExecutor pool(1);
  EXPECT_THROW(pool.submit(MakeFussy, 1).result(kBound), std::domain_error);
  // The parent's decode throws: that future fails too.
  EXPECT_THROW(pool.submit(MakeFussy, 2).result(kBound), std::domain_error);
  EXPECT_EQ(pool.submit(MakeFussy, 0).result(kBound).refuse, 0);
}

TEST(ProcessPoolExecutorTest, ArgumentThatCannotBeEncodedIsNotSubmitted) {
  ProcessPoolExecutor pool(1);
  // Idle worker (encoded straight into its ring) and busy pool (encoded
  // into the task): submit() throws, and nothing is left half-sent.
  EXPECT_THROW(pool.submit(TakeFussy, Fussy{1}), std::domain_error);
  EXPECT_EQ(pool.submit(TakeFussy, Fussy{0}).result(kBound), 0);
  Future<int> busy = pool.submit(SleepMs, 200);
  EXPECT_THROW(pool.submit(TakeFussy, Fussy{1}), std::domain_error);
  EXPECT_EQ(busy.result(kBound), 200);
  EXPECT_EQ(pool.submit(TakeFussy, Fussy{0}).result(kBound), 0);
}

TEST(ProcessPoolExecutorTest, LargePayloadsBothWays) {
  ProcessPoolExecutor pool(1);
  std::vector<std::uint8_t> big(kLarge);
  for (std::size_t i = 0; i < big.size(); i += 4093) big[i] = i & 0xff;
  const std::uint64_t sum = Checksum(big);
  EXPECT_EQ(pool.submit(Checksum, big).result(4 * kBound), sum);
  const std::string s =
      pool.submit(MakeString, std::uint64_t{kLarge}).result(4 * kBound);
  EXPECT_EQ(s.size(), kLarge);
  EXPECT_EQ(pool.submit(Echo, big).result(4 * kBound), big);
}

TEST(ProcessPoolExecutorTest, PayloadOverTheLimitFailsThatFuture) {
  ProcessPoolExecutor pool({.max_workers = 1, .max_payload_bytes = 1 << 20});
  Future<std::vector<std::uint8_t>> f =
      pool.submit(Echo, std::vector<std::uint8_t>(2 << 20));
  EXPECT_THROW(f.result(kBound), CodecError);
  Future<std::string> g = pool.submit(MakeString, std::uint64_t{2} << 20);
  EXPECT_THROW(g.result(kBound), CodecError);
  EXPECT_EQ(pool.submit(Square, 3).result(kBound), 9);
}

TEST(ProcessPoolExecutorTest, MapKeepsOrderWithChunks) {
  ProcessPoolExecutor pool(2);
  for (std::size_t chunksize : {1, 7, 100}) {
    std::vector<int> out;
    for (int y :
         pool.map(Square, std::views::iota(0, 500), {.chunksize = chunksize})) {
      out.push_back(y);
    }
    ASSERT_EQ(out.size(), 500u);
    for (int i = 0; i < 500; ++i) ASSERT_EQ(out[i], i * i) << chunksize;
  }
}

TEST(ProcessPoolExecutorTest, MapRethrowsAtTheFailingItem) {
  ProcessPoolExecutor pool(2);
  for (std::size_t chunksize : {1, 3}) {
    std::vector<int> seen;
    try {
      for (int y : pool.map(FailAt, std::views::iota(0, 10),
                            {.chunksize = chunksize})) {
        seen.push_back(y);
      }
      ADD_FAILURE() << "no exception";
    } catch (const std::out_of_range& e) {
      EXPECT_STREQ(e.what(), "five");
    }
    EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4}));
  }
}

TEST(ProcessPoolExecutorTest, MapBuffersizeBoundsWhatIsConsumed) {
  ProcessPoolExecutor pool(2);
  std::size_t consumed = 0;
  auto endless = std::views::iota(0) | std::views::transform([&](int i) {
                   ++consumed;
                   return i;
                 });
  std::size_t yielded = 0;
  for (int y : pool.map(Square, endless, {.chunksize = 4, .buffersize = 3})) {
    EXPECT_EQ(y, static_cast<int>(yielded * yielded));
    ++yielded;
    EXPECT_LE(consumed, 4 * ((yielded + 3) / 4 + 3));
    if (yielded == 100) break;
  }
}

TEST(ProcessPoolExecutorTest, MapTimeoutCountsFromTheCall) {
  ProcessPoolExecutor pool(1);
  auto results = pool.map(SleepMs, std::vector<int>{2000, 1},
                          {.timeout = absl::Milliseconds(100)});
  EXPECT_THROW(
      {
        for (int y : results) (void)y;
      },
      TimeoutError);
}

TEST(ProcessPoolExecutorTest, MaxTasksPerChildGivesNewPids) {
  ProcessPoolExecutor pool({.max_workers = 1, .max_tasks_per_child = 2});
  std::vector<Future<std::int64_t>> fs;
  for (int i = 0; i < 10; ++i) fs.push_back(pool.submit(Pid));
  std::set<std::int64_t> pids;
  for (auto& f : fs) pids.insert(f.result(kBound));
  EXPECT_EQ(pids.size(), 5u);
}

TEST(ProcessPoolExecutorTest, MaxTasksPerChildWithMapDoesNotHang) {
  // CPython gh-111498 / gh-115634: map() larger than max_tasks_per_child.
  ProcessPoolExecutor pool({.max_workers = 1, .max_tasks_per_child = 5});
  int n = 0;
  for (int y : pool.map(Square, std::views::iota(0, 100))) {
    EXPECT_EQ(y, n * n);
    ++n;
  }
  EXPECT_EQ(n, 100);
}

TEST(ProcessPoolExecutorTest, InitializerRunsInEachWorker) {
  ProcessPoolExecutor pool(
      {.max_workers = 2, .initializer = {SetState, "initialized"}});
  EXPECT_EQ(pool.submit(GetState).result(kBound), "initialized");
}

TEST(ProcessPoolExecutorTest, InitializerFailureBreaksThePool) {
  ProcessPoolExecutor pool(
      {.max_workers = 2, .initializer = {FailInit, "no model file"}});
  Future<int> f = pool.submit(Square, 2);
  try {
    f.result(kBound);
    ADD_FAILURE() << "no exception";
  } catch (const BrokenProcessPool& e) {
    EXPECT_NE(std::string(e.what()).find("no model file"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(pool.submit(Square, 2), BrokenProcessPool);
}

TEST(ProcessPoolExecutorTest, WorkerGilOption) {
  ProcessPoolExecutor with({.max_workers = 1, .worker_gil = GilOptions{}});
  EXPECT_TRUE(with.submit(HoldsGil).result(kBound));
  ProcessPoolExecutor without(1);
  EXPECT_FALSE(without.submit(HoldsGil).result(kBound));
}

TEST(ProcessPoolExecutorTest, BadOptionsAreInvalidArguments) {
  EXPECT_THROW(ProcessPoolExecutor(0), std::invalid_argument);
  EXPECT_THROW(ProcessPoolExecutor({.max_tasks_per_child = 0}),
               std::invalid_argument);
  EXPECT_THROW(ProcessPoolExecutor({.max_payload_bytes = 0}),
               std::invalid_argument);
  EXPECT_THROW(
      ProcessPoolExecutor(
          {.worker_gil = GilOptions{.switch_interval = absl::ZeroDuration()}}),
      std::invalid_argument);
  ProcessPoolExecutor pool;
  EXPECT_GE(pool.max_workers(), 1);
}

TEST(ProcessPoolExecutorTest, WorkerDeathBreaksThePoolNamingPidAndSignal) {
  ProcessPoolExecutor pool(2);
  pool.submit(Square, 1).result(kBound);
  Future<int> f = pool.submit(Crash, 0);
  try {
    f.result(kBound);
    ADD_FAILURE() << "no exception";
  } catch (const BrokenProcessPool& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("SIGKILL"), std::string::npos) << what;
    EXPECT_NE(what.find("worker pid "), std::string::npos) << what;
    EXPECT_NE(what.find("Crash"), std::string::npos) << what;
  }
  EXPECT_THROW(pool.submit(Square, 1), BrokenProcessPool);
  pool.shutdown();
}

TEST(ProcessPoolExecutorTest, ReplacePolicyKeepsThePoolUsable) {
  ProcessPoolExecutor pool(
      {.max_workers = 1,
       .on_worker_death =
           ProcessPoolExecutor::WorkerDeathPolicy::kReplaceWorker});
  const std::int64_t first = pool.submit(Pid).result(kBound);
  EXPECT_THROW(pool.submit(Crash, 3).result(kBound), BrokenProcessPool);
  const std::int64_t second = pool.submit(Pid).result(kBound);
  EXPECT_NE(first, second);
  EXPECT_EQ(pool.submit(Square, 4).result(kBound), 16);
}

TEST(ProcessPoolExecutorTest, TerminateAndKillWorkers) {
  for (bool kill : {false, true}) {
    ProcessPoolExecutor pool(2);
    const std::string started = TempPath("started");
    Future<int> running =
        pool.submit(StartedThenWait, started, TempPath("never"));
    // (Tasks that cannot finish before the workers are stopped, however slow
    // the build: one of 50 ms once did, under ASan.)
    std::vector<Future<int>> pending;
    for (int i = 0; i < 20; ++i) {
      pending.push_back(
          pool.submit(StartedThenWait, TempPath("other"), TempPath("never")));
    }
    AwaitFile(started);
    const std::vector<pid_t> pids = pool.worker_pids();
    if (kill) {
      pool.kill_workers();
    } else {
      pool.terminate_workers();
    }
    EXPECT_THROW(running.result(kBound), BrokenProcessPool);
    for (Future<int>& f : pending) {
      EXPECT_TRUE(f.cancelled() || f.exception(kBound) != nullptr);
    }
    EXPECT_THROW(pool.submit(Square, 1), BrokenProcessPool);
    pool.shutdown();
    for (pid_t pid : pids) EXPECT_NE(::kill(pid, 0), 0) << pid;
  }
}

TEST(ProcessPoolExecutorTest, ShutdownCancelFutures) {
  ProcessPoolExecutor pool(1);
  const std::string started = TempPath("started");
  const std::string release = TempPath("release");
  Future<int> running = pool.submit(StartedThenWait, started, release);
  std::vector<Future<int>> queued;
  for (int i = 0; i < 10; ++i) queued.push_back(pool.submit(Square, i));
  AwaitFile(started);
  pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  Touch(release);
  EXPECT_EQ(running.result(kBound), 0);
  for (Future<int>& f : queued) EXPECT_TRUE(f.cancelled());
  EXPECT_THROW(pool.submit(Square, 1), ExecutorShutdownError);
}

// Dispatch queues a task behind another one in a worker's ring only when its
// own function is known to be short. It once used the worker's average over
// whatever it had run: after short tasks on one worker (the other never ran
// one), 11 of 12 long tasks were queued behind each other on the first.
TEST(ProcessPoolExecutorTest, LongTasksAfterShortOnesAreSpreadOverTheWorkers) {
  ProcessPoolExecutor pool(2);
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(pool.submit(Square, i).result(), i * i);
  std::vector<Future<std::int64_t>> fs;
  for (int i = 0; i < 12; ++i) fs.push_back(pool.submit(NapThenPid, 20));
  std::map<std::int64_t, int> per_worker;
  for (auto& f : fs) ++per_worker[f.result(kBound)];
  ASSERT_EQ(per_worker.size(), 2u);
  for (const auto& [pid, count] : per_worker) EXPECT_GE(count, 4) << pid;
}

// A task of a function known to be long is sent ahead to a busy worker only
// as its next task, and only while enough tasks are pending for every
// worker: the rest stay pending, where cancel() works.
TEST(ProcessPoolExecutorTest, LongTasksAreSentAtMostOneAheadPerWorker) {
  ProcessPoolExecutor pool(1);
  {
    // Teaches the pool that StartedThenWait takes milliseconds.
    const std::string started = TempPath("warm-started");
    const std::string release = TempPath("warm-release");
    Future<int> warm = pool.submit(StartedThenWait, started, release);
    AwaitFile(started);
    absl::SleepFor(absl::Milliseconds(5));
    Touch(release);
    ASSERT_EQ(warm.result(kBound), 0);
  }
  const std::string started = TempPath("started");
  const std::string release = TempPath("release");
  std::vector<Future<int>> fs;
  for (int i = 0; i < 6; ++i) {
    fs.push_back(pool.submit(StartedThenWait, started, release));
  }
  AwaitFile(started);
  EXPECT_FALSE(fs[0].cancel());  // running
  EXPECT_FALSE(fs[1].cancel());  // sent ahead: claimed, as if running
  for (int i = 2; i < 6; ++i) EXPECT_TRUE(fs[i].cancel()) << i;
  Touch(release);
  EXPECT_EQ(fs[0].result(kBound), 0);
  EXPECT_EQ(fs[1].result(kBound), 0);
}

// A thread waiting in result() for the only task in flight, a short one,
// reads the response itself (PoolCore::await_response). These exercise that
// path against the manager thread, timeouts, callbacks and pool teardown.
TEST(ProcessPoolExecutorTest, WaiterReadsItsOwnResponseManyTimes) {
  ProcessPoolExecutor pool(2);
  for (int i = 0; i < 2000; ++i)
    ASSERT_EQ(pool.submit(Square, i).result(), i * i);
}

TEST(ProcessPoolExecutorTest, TimedWaitOnATaskExpectedShortEndsAtItsDeadline) {
  ProcessPoolExecutor pool(1);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(pool.submit(SleepMs, 0).result(), 0);
  // Expected to be short, it sleeps: the waiter stops polling at its
  // deadline.
  Future<int> slow = pool.submit(SleepMs, 300);
  EXPECT_THROW(slow.result(absl::Milliseconds(5)), TimeoutError);
  EXPECT_EQ(slow.result(kBound), 300);
  EXPECT_EQ(pool.submit(SleepMs, 0).result(kBound), 0);
}

TEST(ProcessPoolExecutorTest, CallbackOfAFutureItsWaiterCompletesRunsOnce) {
  ProcessPoolExecutor pool(1);
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(pool.submit(Square, i).result(), i * i);
  std::atomic<int> calls{0};
  for (int i = 0; i < 200; ++i) {
    Future<int> f = pool.submit(Square, i);
    f.add_done_callback([&calls](const Future<int>&) { ++calls; });
    ASSERT_EQ(f.result(kBound), i * i);
  }
  pool.shutdown();
  EXPECT_EQ(calls.load(), 200);
}

TEST(ProcessPoolExecutorTest, WaitersOnSeveralThreadsWithReplacedWorkers) {
  // Waiters race each other and the manager for the rings while workers
  // retire (max_tasks_per_child) and new ones take their slots.
  ProcessPoolExecutor pool(
      ProcessPoolExecutor::Options{.max_workers = 2, .max_tasks_per_child = 7});
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, &wrong, t] {
      for (int i = 0; i < 150; ++i) {
        const int x = t * 1000 + i;
        if (pool.submit(Square, x).result(kBound) != x * x) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ProcessPoolExecutorTest, PoolDestroyedWhileAnotherThreadWaits) {
  // The waiter's future outlives the pool; the destructor waits for the task
  // and for the waiter to leave the pool.
  for (int round = 0; round < 50; ++round) {
    std::optional<ProcessPoolExecutor> pool(std::in_place, 1);
    ASSERT_EQ(pool->submit(Square, 3).result(kBound), 9);
    Future<int> f = pool->submit(Square, round);
    std::thread waiter(
        [f, round] { EXPECT_EQ(f.result(kBound), round * round); });
    pool.reset();
    waiter.join();
    EXPECT_EQ(f.result(), round * round);
  }
}

TEST(ProcessPoolExecutorTest, DestructorWaitsAndLeavesNothingBehind) {
  const std::set<std::string> shm_before = ShmEntries();
  std::vector<pid_t> pids;
  std::vector<Future<int>> fs;
  {
    ProcessPoolExecutor pool(2);
    for (int i = 0; i < 20; ++i) fs.push_back(pool.submit(SleepMs, 5));
    pids = pool.worker_pids();
  }
  for (Future<int>& f : fs) {
    ASSERT_TRUE(f.done());
    EXPECT_EQ(f.result(), 5);
  }
  // The workers exited and were reaped (kill() fails on a reaped pid only).
  for (pid_t pid : pids) EXPECT_NE(kill(pid, 0), 0) << pid;
  EXPECT_EQ(ShmEntries(), shm_before);
}

}  // namespace
}  // namespace concurrent
