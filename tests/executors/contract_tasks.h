// Copyright 2026 The concurrent Authors.
//
// The tasks of the executor contract suite (tests/executors/
// executor_contract.h): free functions, so that every executor can run them,
// the process pool included (tests/ipc/process_pool_contract_test.cc
// registers them). Their side effects are files, which any process can
// leave and the test can see.

#ifndef CONCURRENT_TESTS_EXECUTORS_CONTRACT_TASKS_H_
#define CONCURRENT_TESTS_EXECUTORS_CONTRACT_TASKS_H_

#include <stdexcept>
#include <string>
#include <utility>

namespace concurrent {
namespace testing {
namespace contract {

// What the failing tasks throw: carries the item, and rebuilds it from its
// what() ("task error 7"), so that it can cross a process boundary.
struct TaskError : std::runtime_error {
  explicit TaskError(int i);
  explicit TaskError(const std::string& what);
  int item;
};

int Multiply(int a, int b);
std::string Identity(std::string s);
int IntIdentity(int x);
int Square(int x);
int Double(int x);
std::string ToString(int x);
int ReturnOne();
int ReturnThree();
int ReturnFive();
// Throws TaskError(i).
int ThrowTaskError(int i);
// Throws TaskError(x) for x == 5, returns x otherwise.
int FailAtFive(int x);
// Creates the file `path`; returns 1.
int Touch(std::string path);
void TouchVoid(std::string path);
// Waits (at most 30 s) until the file `gate` exists, unless `gate` is empty;
// then creates the file `path`; returns 1.
int GatedTouch(std::pair<std::string, std::string> gate_and_path);

// A unique path in the test's temporary directory, not created.
std::string TempPath(const std::string& name);
bool Exists(const std::string& path);

}  // namespace contract
}  // namespace testing
}  // namespace concurrent

#endif  // CONCURRENT_TESTS_EXECUTORS_CONTRACT_TASKS_H_
