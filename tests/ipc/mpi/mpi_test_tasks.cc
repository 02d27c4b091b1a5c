// Copyright 2026 The concurrent Authors.

#include "tests/ipc/mpi/mpi_test_tasks.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ipc/task_registry.h"

namespace concurrent {
namespace mpi_test {

int Multiply(int a, int b) { return a * b; }
std::int64_t Square(std::int64_t x) { return x * x; }
std::int64_t Pid() { return getpid(); }

std::int64_t SleepThenPid(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return getpid();
}

std::int64_t WaitForFile(std::string path) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (access(path.c_str(), F_OK) != 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("WaitForFile: " + path + " never appeared");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return getpid();
}

std::int64_t FailOnOdd(std::int64_t x) {
  if (x % 2 != 0) throw std::invalid_argument("bad " + std::to_string(x));
  return x;
}

int ThrowParseError(std::string text) { throw ParseError(text); }

std::vector<std::uint8_t> InvertBytes(std::vector<std::uint8_t> data,
                                      std::uint64_t bytes, std::uint8_t fill) {
  std::vector<std::uint8_t> out(bytes, fill);
  for (std::uint64_t i = 0; i < bytes && i < data.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(~data[i]);
  }
  return out;
}

int StartWaitWrite(std::pair<std::string, std::string> paths) {
  WriteFile(paths.second + ".started", "");
  WaitForFile(paths.first);
  WriteFile(paths.second, "");
  return 0;
}

void WriteFile(std::string path, std::string text) {
  std::ofstream(path) << text;
}

int KillSelf(int signal) {
  kill(getpid(), signal);
  return 0;
}

std::int64_t CountPrimes(std::int64_t below) {
  std::int64_t count = 0;
  for (std::int64_t n = 2; n < below; ++n) {
    bool prime = true;
    for (std::int64_t d = 2; d * d <= n; ++d) {
      if (n % d == 0) {
        prime = false;
        break;
      }
    }
    if (prime) ++count;
  }
  return count;
}

CONCURRENT_REGISTER_TASK(Multiply);
CONCURRENT_REGISTER_TASK(Square);
CONCURRENT_REGISTER_TASK(Pid);
CONCURRENT_REGISTER_TASK(SleepThenPid);
CONCURRENT_REGISTER_TASK(WaitForFile);
CONCURRENT_REGISTER_TASK(FailOnOdd);
CONCURRENT_REGISTER_TASK(ThrowParseError);
CONCURRENT_REGISTER_TASK(InvertBytes);
CONCURRENT_REGISTER_TASK(WriteFile);
CONCURRENT_REGISTER_TASK(StartWaitWrite);
CONCURRENT_REGISTER_TASK(KillSelf);
CONCURRENT_REGISTER_TASK(CountPrimes);

}  // namespace mpi_test
}  // namespace concurrent
