// Copyright 2026 The concurrent Authors.

#include "tests/executors/contract_tasks.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace concurrent {
namespace testing {
namespace contract {

TaskError::TaskError(int i)
    : std::runtime_error("task error " + std::to_string(i)), item(i) {}

TaskError::TaskError(const std::string& what)
    : std::runtime_error(what),
      item(std::atoi(what.c_str() + what.find_last_of(' ') + 1)) {}

int Multiply(int a, int b) { return a * b; }
std::string Identity(std::string s) { return s; }
int IntIdentity(int x) { return x; }
int Square(int x) { return x * x; }
int Double(int x) { return 2 * x; }
std::string ToString(int x) { return std::to_string(x); }
int ReturnOne() { return 1; }
int ReturnThree() { return 3; }
int ReturnFive() { return 5; }
int ThrowTaskError(int i) { throw TaskError(i); }
int FailAtFive(int x) {
  if (x == 5) throw TaskError(x);
  return x;
}

int Touch(std::string path) {
  if (FILE* f = std::fopen(path.c_str(), "w")) std::fclose(f);
  return 1;
}
void TouchVoid(std::string path) { Touch(std::move(path)); }

int GatedTouch(std::pair<std::string, std::string> gate_and_path) {
  const std::string& gate = gate_and_path.first;
  for (int i = 0; i < 30'000 && !gate.empty() && !Exists(gate); ++i) {
    usleep(1000);
  }
  return Touch(std::move(gate_and_path.second));
}

std::string TempPath(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name + "-" +
         std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1));
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace contract
}  // namespace testing
}  // namespace concurrent
