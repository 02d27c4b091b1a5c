// The build's foundation: C++20, Abseil and GoogleTest from the system, and
// the ThreadSanitizer shim over Debian's uninstrumented absl::Mutex.
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace {

TEST(ToolchainTest, CompilesCxx20) {
  constexpr auto square = [](int x) consteval { return x * x; };
  static_assert(square(3) == 9);
  EXPECT_EQ(__cplusplus >= 202002L, true);
}

// Under --config=tsan this fails with a data-race report unless absl::Mutex's
// edges reach TSan (third_party/absl/tsan_shim.cc).
TEST(ToolchainTest, AbslMutexGuardsPlainData) {
  absl::Mutex mu;
  int counter = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        absl::MutexLock lock(&mu);
        ++counter;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter, 4000);
}

TEST(ToolchainTest, AbslNotificationPublishesPlainData) {
  absl::Notification ready;
  int payload = 0;
  std::thread writer([&] {
    payload = 42;
    ready.Notify();
  });
  ready.WaitForNotification();
  EXPECT_EQ(payload, 42);
  writer.join();
  EXPECT_TRUE(ready.HasBeenNotified());
}

TEST(ToolchainTest, AbslCondVarPublishesPlainData) {
  absl::Mutex mu;
  absl::CondVar cv;
  bool ready = false;
  int payload = 0;
  std::thread writer([&] {
    absl::MutexLock lock(&mu);
    payload = 7;
    ready = true;
    cv.Signal();
  });
  {
    absl::MutexLock lock(&mu);
    while (!ready) cv.WaitWithTimeout(&mu, absl::Seconds(1));
    EXPECT_EQ(payload, 7);
  }
  writer.join();
}

}  // namespace
