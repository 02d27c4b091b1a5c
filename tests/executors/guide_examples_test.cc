// Copyright 2026 The concurrent Authors.
//
// The examples of docs/executors.md, compiled and run: each prints what the
// guide shows as its output, and checks it.

#include <algorithm>
#include <cstdio>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "executors/inline_executor.h"
#include "executors/manual_executor.h"
#include "executors/thread_pool_executor.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "futures/wait.h"
#include "gtest/gtest.h"

namespace {

using concurrent::Future;
using concurrent::ThreadPoolExecutor;

TEST(GuideExamples, SubmitAndResult) {
  ThreadPoolExecutor pool({.max_workers = 4});
  Future<int> f = pool.submit([](int a, int b) { return a * b; }, 6, 7);
  std::printf("%d\n", f.result());
  EXPECT_EQ(f.result(), 42);
}

TEST(GuideExamples, MoveOnlyArguments) {
  ThreadPoolExecutor pool({.max_workers = 2});
  auto data = std::make_unique<std::vector<int>>(1000, 1);
  Future<int> sum = pool.submit(
      [](std::unique_ptr<std::vector<int>> v) {
        int s = 0;
        for (int x : *v) s += x;
        return s;
      },
      std::move(data));
  std::printf("sum = %d\n", sum.result());
  EXPECT_EQ(sum.result(), 1000);
}

TEST(GuideExamples, Errors) {
  ThreadPoolExecutor pool({.max_workers = 2});
  Future<double> f = pool.submit(
      [](double x) -> double {
        if (x < 0) throw std::domain_error("negative input");
        return x / 2;
      },
      -1.0);
  try {
    f.result();
  } catch (const std::domain_error& e) {
    std::printf("task failed: %s\n", e.what());
  }
  pool.shutdown();
  try {
    pool.submit([] { return 1; });
  } catch (const concurrent::ExecutorShutdownError& e) {
    std::printf("%s\n", e.what());
  }
  EXPECT_NE(f.exception(), nullptr);
}

TEST(GuideExamples, Map) {
  ThreadPoolExecutor pool({.max_workers = 4});
  std::vector<int> xs = {1, 2, 3, 4, 5};
  for (int y : pool.map([](int x) { return x * x; }, xs)) {
    std::printf("%d ", y);
  }
  std::printf("\n");
  // An endless input: at most 8 chunks of 100 are in flight at any time.
  long total = 0;
  for (long y : pool.map([](long x) { return 2 * x; }, std::views::iota(0L),
                         {.chunksize = 100, .buffersize = 8})) {
    total += y;
    if (y == 2 * 9999) break;
  }
  std::printf("total = %ld\n", total);
  EXPECT_EQ(total, 9999L * 10000);
}

TEST(GuideExamples, MapErrorsAndTimeout) {
  ThreadPoolExecutor pool({.max_workers = 2});
  auto results = pool.map(
      [](int x) {
        if (x == 3) throw std::runtime_error("bad item 3");
        return 10 * x;
      },
      std::views::iota(0, 6), {.timeout = absl::Seconds(10)});
  try {
    for (int y : results) std::printf("%d\n", y);
  } catch (const std::runtime_error& e) {
    std::printf("stopped: %s\n", e.what());
  }
}

TEST(GuideExamples, AsCompleted) {
  ThreadPoolExecutor pool({.max_workers = 3});
  std::vector<Future<std::string>> fs;
  for (const char* url : {"a.example", "b.example", "c.example"}) {
    fs.push_back(pool.submit([](std::string u) { return u + ": 200 OK"; },
                             std::string(url)));
  }
  std::vector<std::string> lines;
  for (const Future<std::string>& f : concurrent::as_completed(fs)) {
    lines.push_back(f.result());
  }
  std::sort(lines.begin(), lines.end());  // completion order varies
  for (const std::string& l : lines) std::printf("%s\n", l.c_str());
  EXPECT_EQ(lines.size(), 3u);
}

TEST(GuideExamples, CancelAndShutdown) {
  ThreadPoolExecutor pool({.max_workers = 1});
  absl::Notification gate;
  Future<void> busy = pool.submit([&gate] { gate.WaitForNotification(); });
  Future<int> queued = pool.submit([] { return 1; });
  Future<int> dropped = pool.submit([] { return 2; });
  std::printf("cancel queued: %d\n", queued.cancel());
  pool.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  gate.Notify();
  pool.shutdown();  // waits for `busy`
  std::printf("busy done: %d, dropped cancelled: %d\n", busy.done(),
              dropped.cancelled());
  EXPECT_TRUE(dropped.cancelled());
}

TEST(GuideExamples, NamesAndInitializer) {
  ThreadPoolExecutor pool(
      {.max_workers = 1,
       .thread_name_prefix = "resize-images",
       .initializer = [] {
         std::printf("worker %s ready\n",
                     ThreadPoolExecutor::current_worker_name().c_str());
       }});
  pool.submit([] {}).result();
  for (const std::string& name : pool.worker_names()) {
    std::printf("%s\n", name.c_str());
  }
}

TEST(GuideExamples, BrokenPool) {
  ThreadPoolExecutor pool({.max_workers = 2, .initializer = [] {
                             throw std::runtime_error("cannot open db");
                           }});
  Future<int> f = pool.submit([] { return 1; });
  try {
    f.result();
  } catch (const concurrent::BrokenThreadPool& e) {
    std::printf("%s\n", e.what());
  }
}

TEST(GuideExamples, AroundTask) {
  absl::Mutex big_lock;  // say, an interpreter lock
  ThreadPoolExecutor pool(
      {.max_workers = 2, .around_task = [&](absl::FunctionRef<void()> run) {
         absl::MutexLock hold(&big_lock);
         run();
       }});
  int counter = 0;  // only touched under big_lock
  std::vector<Future<void>> fs;
  for (int i = 0; i < 1000; ++i) fs.push_back(pool.submit([&] { ++counter; }));
  for (const Future<void>& f : fs) f.result();
  std::printf("counter = %d\n", counter);
  EXPECT_EQ(counter, 1000);
}

TEST(GuideExamples, WaitingInsideThePool) {
  ThreadPoolExecutor pool({.max_workers = 1});
  Future<int> outer = pool.submit([&pool] {
    Future<int> inner = pool.submit([] { return 41; });
    return inner.result() + 1;  // runs `inner` here: no deadlock
  });
  std::printf("%d\n", outer.result());
  EXPECT_EQ(outer.result(), 42);
}

TEST(GuideExamples, ManualExecutor) {
  concurrent::ManualExecutor manual;
  Future<int> f = manual.submit([] { return 7; });
  std::vector<std::string> log;
  Future<int> g = f.then([&log](int v) {
    log.push_back("then ran");
    return v + 1;
  });
  std::printf("pending: %zu, done: %d\n", manual.pending(), f.done());
  manual.run_one();
  std::printf("done: %d, g = %d, log: %s\n", f.done(), g.result(),
              log.at(0).c_str());
  concurrent::InlineExecutor inline_executor;
  std::printf("inline done at once: %d\n",
              inline_executor.submit([] { return 1; }).done());
}

}  // namespace
