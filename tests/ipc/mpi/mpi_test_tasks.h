// Copyright 2026 The concurrent Authors.
//
// Registered tasks that the MpiCommExecutor tests and examples run on worker
// ranks (tests/ipc/mpi/mpi_test_tasks.cc registers them).

#ifndef CONCURRENT_TESTS_IPC_MPI_MPI_TEST_TASKS_H_
#define CONCURRENT_TESTS_IPC_MPI_MPI_TEST_TASKS_H_

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace concurrent {
namespace mpi_test {

// An exception type that is not registered: it comes back as RemoteError.
struct ParseError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

int Multiply(int a, int b);
std::int64_t Square(std::int64_t x);
// The pid of the process that runs it.
std::int64_t Pid();
// Sleeps `ms` milliseconds, then returns the pid of the process that ran it.
std::int64_t SleepThenPid(int ms);
// Waits (bounded: 60 s) until the file `path` exists; returns the pid.
std::int64_t WaitForFile(std::string path);
// Throws std::invalid_argument("bad " + std::to_string(x)) if x is odd.
std::int64_t FailOnOdd(std::int64_t x);
// Throws ParseError(text).
int ThrowParseError(std::string text);
// Returns a vector of `bytes` bytes, each ~ the input's byte at that index
// (or `fill` past the input's end): a large argument and a large result.
std::vector<std::uint8_t> InvertBytes(std::vector<std::uint8_t> data,
                                      std::uint64_t bytes, std::uint8_t fill);
// Creates `paths.second + ".started"`, waits (bounded: 60 s) until the file
// `paths.first` exists, then creates `paths.second`.
int StartWaitWrite(std::pair<std::string, std::string> paths);
// Writes `text` to the file `path`.
void WriteFile(std::string path, std::string text);
// Kills its own process with SIGKILL (worker death tests).
int KillSelf(int signal);
// The number of primes below `below` (trial division: CPU-bound).
std::int64_t CountPrimes(std::int64_t below);

}  // namespace mpi_test
}  // namespace concurrent

#endif  // CONCURRENT_TESTS_IPC_MPI_MPI_TEST_TASKS_H_
