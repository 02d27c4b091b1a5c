// Copyright 2026 The concurrent Authors.
//
// What the typed executor contract suite needs to know about each executor:
// how to make one, whether it can hold tasks back (so a test can cancel
// them before they run), and how to turn its crank.

#ifndef CONCURRENT_TESTS_EXECUTORS_EXECUTOR_TEST_SUPPORT_H_
#define CONCURRENT_TESTS_EXECUTORS_EXECUTOR_TEST_SUPPORT_H_

#include <memory>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "executors/inline_executor.h"
#include "executors/manual_executor.h"
#include "executors/thread_pool_executor.h"
#include "futures/future.h"
#include "tests/executors/one_thread_executor.h"

namespace concurrent {
namespace testing {

template <typename E>
struct ExecutorTraits;

// While alive (and not released), tasks submitted afterwards to `E` stay
// queued: each of its `kWorkers` threads runs a task that waits for release().
template <typename E, int kWorkers>
class WorkerHold {
 public:
  explicit WorkerHold(E& e) : started_(kWorkers) {
    for (int i = 0; i < kWorkers; ++i) {
      blockers_.push_back(e.submit([this] {
        started_.DecrementCount();
        gate_.WaitForNotification();
      }));
    }
    started_.Wait();
  }
  ~WorkerHold() { release(); }
  // Lets the blocking tasks end, and waits until they did.
  void release() {
    if (!gate_.HasBeenNotified()) gate_.Notify();
    for (const Future<void>& f : blockers_) f.result();
  }

 private:
  std::vector<Future<void>> blockers_;
  absl::BlockingCounter started_;
  absl::Notification gate_;
};

template <>
struct ExecutorTraits<ThreadPoolExecutor> {
  static constexpr int kWorkers = 2;
  // Tasks can stay queued (a Hold keeps every worker busy).
  static constexpr bool kCanHold = true;
  static std::unique_ptr<ThreadPoolExecutor> make() {
    return std::make_unique<ThreadPoolExecutor>(
        ThreadPoolExecutor::Options{.max_workers = kWorkers});
  }
  // Runs what is queued (the workers do).
  static void drive(ThreadPoolExecutor&) {}
  using Hold = WorkerHold<ThreadPoolExecutor, kWorkers>;
  // Nothing to do while the test thread waits: the workers run the tasks.
  struct DriveOnWait {
    explicit DriveOnWait(ThreadPoolExecutor&) {}
  };
};

// An executor built on the public extension point only.
template <>
struct ExecutorTraits<OneThreadExecutor> {
  static constexpr bool kCanHold = true;
  static std::unique_ptr<OneThreadExecutor> make() {
    return std::make_unique<OneThreadExecutor>();
  }
  static void drive(OneThreadExecutor&) {}
  using Hold = WorkerHold<OneThreadExecutor, 1>;
  struct DriveOnWait {
    explicit DriveOnWait(OneThreadExecutor&) {}
  };
};

template <>
struct ExecutorTraits<ManualExecutor> {
  static constexpr bool kCanHold = true;
  static std::unique_ptr<ManualExecutor> make() {
    return std::make_unique<ManualExecutor>();
  }
  static void drive(ManualExecutor& e) { e.run_all(); }
  // Tasks always stay queued until the crank is turned.
  struct Hold {
    explicit Hold(ManualExecutor&) {}
    void release() {}
  };
  using DriveOnWait = ManualExecutor::DriveOnWait;
};

template <>
struct ExecutorTraits<InlineExecutor> {
  // Tasks run inside submit(): nothing can be held back.
  static constexpr bool kCanHold = false;
  static std::unique_ptr<InlineExecutor> make() {
    return std::make_unique<InlineExecutor>();
  }
  static void drive(InlineExecutor&) {}
  struct Hold {
    explicit Hold(InlineExecutor&) {}
    void release() {}
  };
  struct DriveOnWait {
    explicit DriveOnWait(InlineExecutor&) {}
  };
};

}  // namespace testing
}  // namespace concurrent

#endif  // CONCURRENT_TESTS_EXECUTORS_EXECUTOR_TEST_SUPPORT_H_
