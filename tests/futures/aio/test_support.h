// Copyright 2026 The concurrent Authors.
//
// Helpers shared by the aio tests.

#ifndef CONCURRENT_TESTS_FUTURES_AIO_TEST_SUPPORT_H_
#define CONCURRENT_TESTS_FUTURES_AIO_TEST_SUPPORT_H_

#include <exception>
#include <string>
#include <vector>

#include "futures/aio/event_loop.h"

namespace concurrent::aio::testing {

inline Coroutine<void> Nothing() { co_return; }

// Python's test_utils.run_briefly(): runs the loop until a task created now
// has run, which gives every callback scheduled before the call its turn.
inline void RunBriefly(EventLoop& loop) { loop.run_until_complete(Nothing()); }

// The what() of the exception `e` holds, or "" if it is null.
inline std::string What(const std::exception_ptr& e) {
  if (e == nullptr) return "";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "(not a std::exception)";
  }
}

// Records what the loop reports to its exception handler.
struct ReportLog {
  std::vector<ExceptionContext> reports;
  void install(EventLoop& loop) {
    loop.set_exception_handler(
        [this](const ExceptionContext& c) { reports.push_back(c); });
  }
};

}  // namespace concurrent::aio::testing

#endif  // CONCURRENT_TESTS_FUTURES_AIO_TEST_SUPPORT_H_
