// The examples of docs/futures.md, as a test: each section prints what the
// guide shows as its output, and the test checks the printed text against
// the output blocks of docs/futures.md, in order (so the guide cannot drift
// from the code).
//
//   ./bazelw test //docs/examples:futures_guide_test --test_output=all

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "executors/thread_pool_executor.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "futures/wait.h"
#include "gtest/gtest.h"

namespace {

using concurrent::Future;
using concurrent::ThreadPoolExecutor;

int slow_square(int x, const absl::Notification* gate) {
  gate->WaitForNotification();
  return x * x;
}

// --- Wait for one future ----------------------------------------------------
void WaitForOne() {
  ThreadPoolExecutor pool({.max_workers = 2});
  absl::Notification gate;
  Future<int> f = pool.submit(slow_square, 7, &gate);
  std::printf("done: %d\n", f.done());
  try {
    f.result(absl::Milliseconds(10));
  } catch (const concurrent::TimeoutError&) {
    std::puts("TimeoutError after 10ms; the task goes on");
  }
  gate.Notify();
  std::printf("result: %d\n", f.result());  // blocks until done
  std::printf("done: %d\n", f.done());
}

// --- Wait for the first of many ---------------------------------------------
void WaitForFirst() {
  ThreadPoolExecutor pool({.max_workers = 3});
  absl::Notification go;
  std::vector<Future<int>> fs = {
      pool.submit(slow_square, 2, &go),
      pool.submit([] { return 10; }),
      pool.submit(slow_square, 3, &go),
  };
  auto [done, not_done] = concurrent::wait(
      fs, absl::Seconds(10), concurrent::ReturnWhen::kFirstCompleted);
  std::printf("first done: %d, still running: %zu\n", done[0].result(),
              not_done.size());
  go.Notify();
  int total = 0;
  for (const Future<int>& f : concurrent::as_completed(fs)) {
    total += f.result();
  }
  std::printf("sum as they complete: %d\n", total);
}

// --- Handle errors ----------------------------------------------------------
struct ParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int parse(const std::string& s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) {
    throw ParseError("not a number: '" + s + "'");
  }
  return std::stoi(s);
}

void HandleErrors() {
  ThreadPoolExecutor pool({.max_workers = 2});
  Future<int> good = pool.submit(parse, std::string("42"));
  Future<int> bad = pool.submit(parse, std::string("4x2"));
  std::printf("good: %d\n", good.result());
  try {
    bad.result();
  } catch (const ParseError& e) {  // the task's own exception type
    std::printf("ParseError: %s\n", e.what());
  }
  std::printf("exception() is set: %d\n", bad.exception() != nullptr);
  std::printf("exception() of good is null: %d\n", good.exception() == nullptr);
}

// --- Cancel -----------------------------------------------------------------
void Cancel() {
  ThreadPoolExecutor pool({.max_workers = 1});
  absl::Notification started, gate;
  Future<int> running = pool.submit([&] {
    started.Notify();
    gate.WaitForNotification();
    return 25;
  });
  Future<int> queued = pool.submit([] { return 1; });
  std::printf("cancel queued: %d\n", queued.cancel());
  std::printf("queued cancelled: %d\n", queued.cancelled());
  try {
    queued.result();
  } catch (const concurrent::CancelledError&) {
    std::puts("queued.result() threw CancelledError");
  }
  started.WaitForNotification();
  std::printf("cancel running: %d\n", running.cancel());
  gate.Notify();
  std::printf("running finished anyway: %d\n", running.result());
}

// --- Chain ------------------------------------------------------------------
void Chain() {
  ThreadPoolExecutor pool({.max_workers = 2});
  Future<std::string> f =
      pool.submit([] { return 6; })
          .then([](int v) { return v * 7; })
          .then([](int v) { return "answer=" + std::to_string(v); });
  std::printf("%s\n", f.result().c_str());
  Future<int> recovered =
      pool.submit(parse, std::string("oops")).then([](const Future<int>& f) {
        return f.exception() ? -1 : f.result();
      });
  std::printf("recovered: %d\n", recovered.result());
  auto both =
      concurrent::when_all(pool.submit([] { return 1; }),
                           pool.submit([] { return std::string("b"); }));
  auto [one, b] = both.result();
  std::printf("when_all: %d %s\n", one.result(), b.result().c_str());
}

// --- Be called back ---------------------------------------------------------
void Callbacks() {
  ThreadPoolExecutor pool({.max_workers = 1, .thread_name_prefix = "cb"});
  absl::Notification gate, called;
  Future<int> f = pool.submit(slow_square, 9, &gate);
  f.add_done_callback([&called](const Future<int>& done) {
    std::printf("callback in %s: %d\n",
                ThreadPoolExecutor::current_worker_name().c_str(),
                done.result());
    called.Notify();
  });
  gate.Notify();
  called.WaitForNotification();
  f.add_done_callback([](const Future<int>&) {
    const std::string where = ThreadPoolExecutor::current_worker_name();
    std::printf("added after done: runs at once, in %s\n",
                where.empty() ? "the calling thread" : where.c_str());
  });
}

// The output blocks of docs/futures.md: a fence with no language right after
// a ```cpp block.
std::vector<std::string> GuideOutputs() {
  std::string path = "docs/futures.md";
  if (const char* srcdir = std::getenv("TEST_SRCDIR")) {
    const char* workspace = std::getenv("TEST_WORKSPACE");
    path =
        std::string(srcdir) + "/" + (workspace ? workspace : "") + "/" + path;
  }
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<std::string> outputs;
  std::string line;
  bool after_cpp = false;
  while (std::getline(in, line)) {
    if (line == "```cpp") {
      while (std::getline(in, line) && line != "```") {
      }
      after_cpp = true;
    } else if (line == "```" && after_cpp) {
      std::string block;
      while (std::getline(in, line) && line != "```") block += line + "\n";
      outputs.push_back(block);
      after_cpp = false;
    } else if (!line.empty()) {
      after_cpp = false;
    }
  }
  return outputs;
}

struct Section {
  const char* name;
  void (*run)();
};

constexpr Section kSections[] = {
    {"wait for one", WaitForOne},
    {"wait for the first of many", WaitForFirst},
    {"handle errors", HandleErrors},
    {"cancel", Cancel},
    {"chain", Chain},
    {"be called back", Callbacks},
};

TEST(FuturesGuide, EachSectionPrintsWhatTheGuideShows) {
  const std::vector<std::string> outputs = GuideOutputs();
  ASSERT_EQ(outputs.size(), std::size(kSections));
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    ::testing::internal::CaptureStdout();
    kSections[i].run();
    std::fflush(stdout);
    const std::string printed = ::testing::internal::GetCapturedStdout();
    std::fputs(printed.c_str(), stdout);  // visible with --test_output=all
    EXPECT_EQ(printed, outputs[i]) << "section: " << kSections[i].name;
  }
}

}  // namespace
