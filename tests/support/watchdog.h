// Copyright 2026 The concurrent Authors.
//
// A watchdog for regression tests of hangs: the test body runs on the calling
// thread; if it has not finished within a generous limit, the process prints
// what hung and exits with a failure, instead of waiting for Bazel's timeout
// (and instead of leaving a stuck thread behind for the next test).

#ifndef CONCURRENT_TESTS_SUPPORT_WATCHDOG_H_
#define CONCURRENT_TESTS_SUPPORT_WATCHDOG_H_

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace concurrent {
namespace testing {

// Runs `body()`; exits the process with status 1 if it takes longer than
// `limit` (a hang). Returns what `body` returns; rethrows what it throws.
template <typename F>
decltype(auto) FinishesWithin(absl::Duration limit, std::string what,
                              F&& body) {
  struct Watch {
    Watch(absl::Duration limit, std::string what)
        : thread([this, limit, what = std::move(what)] {
            if (!done.WaitForNotificationWithTimeout(limit)) {
              std::fprintf(stderr, "HUNG: %s did not finish within %s\n",
                           what.c_str(), absl::FormatDuration(limit).c_str());
              std::fflush(stderr);
              std::_Exit(1);
            }
          }) {}
    ~Watch() {
      done.Notify();
      thread.join();
    }
    absl::Notification done;
    std::thread thread;
  } watch(limit, std::move(what));
  return std::forward<F>(body)();
}

}  // namespace testing
}  // namespace concurrent

#endif  // CONCURRENT_TESTS_SUPPORT_WATCHDOG_H_
