// Copyright 2026 The concurrent Authors.
//
// A program the process-pool tests run as a child process:
//
//   pool_child parent_sigkill   starts a pool of two busy workers, prints
//                               "server PID", "worker PID" (x2) and "ready",
//                               then waits to be killed
//   pool_child no_hook          starts a thread, then a pool without having
//                               started the fork server: prints what the
//                               pool's future fails with, and how long it took

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futures/errors.h"
#include "ipc/internal/fork_server.h"
#include "ipc/internal/pool_core.h"
#include "tests/ipc/raw_tasks.h"

namespace {

using concurrent::internal::PoolConfig;
using concurrent::internal::PoolCore;
using concurrent::testing::SubmitRaw;

int ParentSigkill() {
  PoolConfig config;
  config.max_workers = 2;
  static PoolCore* pool =
      new PoolCore(std::move(config));  // never destroyed: killed
  auto a = SubmitRaw(*pool, "sleep_ms", "600000");
  auto b = SubmitRaw(*pool, "sleep_ms", "600000");
  // Both workers exist once both tasks are in flight.
  std::printf("server %d\n", concurrent::internal::ForkServerPid());
  for (pid_t pid : pool->worker_pids()) std::printf("worker %d\n", pid);
  std::printf("ready\n");
  std::fflush(stdout);
  for (;;) pause();
}

int NoHook() {
  std::thread busy([] { absl::SleepFor(absl::Seconds(60)); });
  busy.detach();
  PoolConfig config;
  config.max_workers = 2;
  PoolCore pool(std::move(config));
  const absl::Time start = absl::Now();
  try {
    SubmitRaw(pool, "echo", "x").result(absl::Seconds(30));
    std::printf("result\n");
  } catch (const concurrent::BrokenProcessPool& e) {
    std::printf("BrokenProcessPool: %s\n", e.what());
  } catch (const std::exception& e) {
    std::printf("other: %s\n", e.what());
  }
  std::printf(
      "after %lld ms\n",
      static_cast<long long>(absl::ToInt64Milliseconds(absl::Now() - start)));
  std::fflush(stdout);
  std::_Exit(0);  // the detached thread still sleeps
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "parent_sigkill") == 0) {
    return ParentSigkill();
  }
  if (argc == 2 && std::strcmp(argv[1], "no_hook") == 0) return NoHook();
  std::fprintf(stderr, "usage: pool_child parent_sigkill|no_hook\n");
  return 2;
}
