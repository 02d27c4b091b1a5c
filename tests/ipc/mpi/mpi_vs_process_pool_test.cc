// Copyright 2026 The concurrent Authors.
//
// The same registered functions run through ProcessPoolExecutor and
// MpiCommExecutor give the same results, the same exception types and the
// same RemoteError fields (issue 12): switching executors is one line. Runs
// under mpirun with 3 ranks (tools/mpi/run_mpi.sh); the tests run on rank 0,
// which owns both executors, while ranks 1 and 2 serve the MPI one.

#include <unistd.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "executors/executor.h"
#include "futures/future.h"
#include "gtest/gtest.h"
#include "ipc/mpi/mpi_comm_executor.h"
#include "ipc/process_pool_executor.h"
#include "ipc/remote_error.h"
#include "tests/ipc/mpi/mpi_test_tasks.h"

namespace concurrent {
namespace {

using mpi_test::CountPrimes;
using mpi_test::FailOnOdd;
using mpi_test::InvertBytes;
using mpi_test::Multiply;
using mpi_test::Pid;
using mpi_test::Square;
using mpi_test::ThrowParseError;

// Runs `body` over a process pool and an MPI executor, each with 2 workers,
// and returns what it returned for each: {pool's, mpi's}.
template <typename Body>
auto RunOnBoth(Body body) {
  ProcessPoolExecutor pool({.max_workers = 2});
  MpiCommExecutor mpi;
  auto from_pool = body(pool);
  auto from_mpi = body(mpi);
  return std::make_pair(std::move(from_pool), std::move(from_mpi));
}

TEST(MpiVsProcessPoolTest, SubmitGivesTheSameResults) {
  auto [pool, mpi] = RunOnBoth([](auto& executor) {
    std::vector<Future<std::int64_t>> primes;
    for (std::int64_t below : {10, 1000, 100'000}) {
      primes.push_back(executor.submit(CountPrimes, below));
    }
    std::vector<std::int64_t> out;
    for (auto& f : primes) out.push_back(f.result());
    out.push_back(executor.submit(Multiply, -6, 7).result());
    return out;
  });
  EXPECT_EQ(pool, (std::vector<std::int64_t>{4, 168, 9592, -42}));
  EXPECT_EQ(mpi, pool);
}

TEST(MpiVsProcessPoolTest, ALargeArgumentAndResultGiveTheSameBytes) {
  std::vector<std::uint8_t> data(std::size_t{3} << 20);
  std::iota(data.begin(), data.end(), std::uint8_t{7});
  const std::uint64_t bytes = (std::uint64_t{4} << 20) + 13;
  auto [pool, mpi] = RunOnBoth([&](auto& executor) {
    return executor.submit(InvertBytes, data, bytes, std::uint8_t{0x5a})
        .result();
  });
  ASSERT_EQ(pool.size(), bytes);
  EXPECT_EQ(pool[1], static_cast<std::uint8_t>(~std::uint8_t{8}));
  EXPECT_EQ(pool.back(), 0x5a);
  EXPECT_TRUE(mpi == pool);  // not EXPECT_EQ: 4 MiB would be printed
}

TEST(MpiVsProcessPoolTest, MapWithChunksGivesTheSameResults) {
  for (std::size_t chunksize : {1, 7, 1000}) {
    auto [pool, mpi] = RunOnBoth([&](auto& executor) {
      std::vector<std::int64_t> out;
      for (std::int64_t y :
           executor.map(Square, std::views::iota(std::int64_t{-50}, 250),
                        {.chunksize = chunksize})) {
        out.push_back(y);
      }
      return out;
    });
    ASSERT_EQ(pool.size(), 300u) << "chunksize " << chunksize;
    EXPECT_EQ(pool[0], 2500);
    EXPECT_EQ(mpi, pool) << "chunksize " << chunksize;
  }
}

// What a failed future holds, as the fields a caller can see.
struct Failure {
  std::string type;  // typeid name of the caught object
  std::string what;
  std::string remote_type;      // RemoteError::type_name(), else ""
  std::string remote_function;  // RemoteError::function_name(), else ""
  bool remote_pid_is_a_worker = false;

  bool operator==(const Failure&) const = default;
};

template <typename T>
Failure Catch(Future<T>& f) {
  Failure failure;
  try {
    f.result();
    ADD_FAILURE() << "the task did not fail";
  } catch (const RemoteError& e) {
    failure.type = typeid(e).name();
    failure.remote_type = e.type_name();
    failure.remote_function = e.function_name();
    failure.remote_pid_is_a_worker = e.pid() != getpid() && e.pid() > 0;
    // what() names the worker's pid, which differs: compare the message.
    failure.what = e.message();
  } catch (const std::exception& e) {
    failure.type = typeid(e).name();
    failure.what = e.what();
  }
  return failure;
}

TEST(MpiVsProcessPoolTest, ExceptionsArriveAsTheSameTypes) {
  auto [pool, mpi] = RunOnBoth([](auto& executor) {
    std::vector<Failure> out;
    // A registered standard type comes back as itself.
    auto bad = executor.submit(FailOnOdd, std::int64_t{3});
    out.push_back(Catch(bad));
    // An unregistered user type comes back as RemoteError.
    auto parse = executor.submit(ThrowParseError, std::string("at 12"));
    out.push_back(Catch(parse));
    // The first failed item of a map.
    auto results = executor.map(FailOnOdd, std::vector<std::int64_t>{2, 4, 5},
                                {.chunksize = 2});
    Failure in_map;
    try {
      for (std::int64_t y : results) EXPECT_EQ(y % 2, 0);
      ADD_FAILURE() << "the map did not fail";
    } catch (const std::exception& e) {
      in_map.type = typeid(e).name();
      in_map.what = e.what();
    }
    out.push_back(in_map);
    return out;
  });
  ASSERT_EQ(pool.size(), 3u);
  EXPECT_EQ(pool[0].type, typeid(std::invalid_argument).name());
  EXPECT_EQ(pool[0].what, "bad 3");
  EXPECT_EQ(pool[1].type, typeid(RemoteError).name());
  EXPECT_EQ(pool[1].remote_type, "concurrent::mpi_test::ParseError");
  EXPECT_EQ(pool[1].what, "at 12");
  EXPECT_TRUE(pool[1].remote_pid_is_a_worker);
  EXPECT_EQ(pool[2].what, "bad 5");
  for (std::size_t i = 0; i < pool.size(); ++i) {
    EXPECT_EQ(mpi[i].type, pool[i].type) << i;
    EXPECT_EQ(mpi[i].what, pool[i].what) << i;
    EXPECT_EQ(mpi[i].remote_type, pool[i].remote_type) << i;
    EXPECT_EQ(mpi[i].remote_function, pool[i].remote_function) << i;
    EXPECT_EQ(mpi[i].remote_pid_is_a_worker, pool[i].remote_pid_is_a_worker)
        << i;
  }
}

TEST(MpiVsProcessPoolTest, BothRunTasksInOtherProcesses) {
  auto [pool, mpi] =
      RunOnBoth([](auto& executor) { return executor.submit(Pid).result(); });
  EXPECT_NE(pool, getpid());
  EXPECT_NE(mpi, getpid());
  EXPECT_NE(mpi, pool);
}

}  // namespace
}  // namespace concurrent

int main(int argc, char** argv) {
  // The process pool forks its workers from a fork server, which must start
  // while this process has one thread: before MPI_Init (Open MPI starts
  // threads). Every rank starts one; the worker ranks' servers stay idle and
  // die with their rank.
  concurrent::ProcessPoolExecutor::start_fork_server();
  return concurrent::MpiCommExecutor::main(argc, argv, [&] {
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
  });
}
