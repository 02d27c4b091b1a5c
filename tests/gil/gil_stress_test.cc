// Bounded stress: several threads take and drop the GIL every way there is
// (lock, try_lock, check points, ReleaseGil, gil_sleep) under each policy with
// the real clock and a short switch interval. Checks mutual exclusion and that
// the statistics add up. No assertion depends on timing.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gil/gil.h"
#include "gtest/gtest.h"

namespace concurrent {
namespace {

class GilStressTest : public ::testing::TestWithParam<GilPolicy> {};

TEST_P(GilStressTest, ManyThreadsEveryOperation) {
  Gil gil({.policy = GetParam(),
           .switch_interval = absl::Microseconds(20),
           .check_interval = 7});
  constexpr int kThreads = 6;
  constexpr int kOps = 1500;
  long guarded = 0;  // only touched with the GIL held
  std::atomic<int> inside{0};
  std::atomic<bool> overlap{false};
  std::atomic<uint64_t> explicit_acquisitions{0};

  auto touch = [&] {
    if (inside.fetch_add(1, std::memory_order_relaxed) != 0) overlap = true;
    ++guarded;
    inside.fetch_sub(1, std::memory_order_relaxed);
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::minstd_rand rng(t + 1);
      uint64_t mine = 0;
      for (int op = 0; op < kOps; ++op) {
        const int kind = static_cast<int>(rng() % 4);
        if (kind == 0 && gil.try_lock()) {
          ++mine;
          touch();
          gil.unlock();
          continue;
        }
        gil.lock();
        ++mine;
        for (int i = 0; i < 20; ++i) {
          touch();
          gil.check();
        }
        if (kind == 1) {
          ReleaseGil allow_threads(gil);
          ++mine;  // the scope takes the GIL back
        } else if (kind == 2) {
          gil_sleep(absl::ZeroDuration());
          ++mine;
        }
        touch();
        gil.unlock();
      }
      explicit_acquisitions.fetch_add(mine);
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_FALSE(overlap.load());
  EXPECT_FALSE(gil.locked());
  const GilStats st = gil.stats();
  // Every acquisition is one the threads made, or a check point's re-take.
  EXPECT_EQ(st.acquisitions, explicit_acquisitions.load() + st.forced_drops +
                                 st.interval_releases);
  uint64_t per_thread = 0;
  double shares = 0;
  for (const auto& t : st.threads) {
    per_thread += t.acquisitions;
    shares += t.share;
  }
  EXPECT_EQ(per_thread, st.acquisitions);
  EXPECT_NEAR(shares, 1.0, 1e-9);
  EXPECT_EQ(st.wait_time.count, st.acquisitions);
  EXPECT_LE(st.contended_acquisitions, st.acquisitions);
  EXPECT_LE(st.switches, st.acquisitions);
  // A forced-switch wait answers a pending drop request (at a check point or
  // at any other release, as CPython's drop_gil()).
  EXPECT_LE(st.forced_switch_waits, st.drop_requests);
  if (GetParam() == GilPolicy::kOldGil) {
    EXPECT_EQ(st.drop_requests, 0u);
    EXPECT_EQ(st.forced_drops, 0u);
  } else {
    EXPECT_EQ(st.interval_releases, 0u);
  }
  if (GetParam() == GilPolicy::kFair) {
    EXPECT_EQ(st.forced_switch_waits, 0u);
  }
  EXPECT_GT(guarded, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Policies, GilStressTest,
    ::testing::Values(GilPolicy::kNewGil, GilPolicy::kOldGil, GilPolicy::kFair),
    [](const auto& info) { return std::string(gil_policy_name(info.param)); });

}  // namespace
}  // namespace concurrent
