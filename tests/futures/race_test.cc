// Races between completion, cancellation, waiting and callbacks. Bounded in
// count; meant to be run under --config=tsan as well.

#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "futures/promise.h"
#include "futures/wait.h"
#include "gtest/gtest.h"
#include "tests/support/watchdog.h"

namespace concurrent {
namespace {

// A start line: every thread waits at it, then all go at once, so the racing
// operations overlap as much as the scheduler allows.
class StartLine {
 public:
  explicit StartLine(int n) : remaining_(n) {}
  void arrive_and_wait() {
    absl::MutexLock lock(&mu_);
    --remaining_;
    while (remaining_ > 0) cv_.Wait(&mu_);
    cv_.SignalAll();
  }

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  int remaining_ ABSL_GUARDED_BY(mu_);
};

// Runs add(t) on `adders` threads while another thread completes `p` with 1,
// all released at once.
template <typename Add>
void AddWhileCompleting(int adders, Promise<int>& p, Add add) {
  StartLine start(adders + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < adders; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      add(t);
    });
  }
  std::thread completer([&] {
    start.arrive_and_wait();
    p.set_result(1);
  });
  for (auto& t : threads) t.join();
  completer.join();
}

constexpr int kRounds = 300;

TEST(RaceTest, CancelAgainstSetResultExactlyOneWins) {
  for (int round = 0; round < kRounds; ++round) {
    Promise<int> p;
    Future<int> f = p.get_future();
    std::atomic<int> callback_runs{0};
    std::atomic<int> callback_saw_cancelled{-1};
    f.add_done_callback([&](const Future<int>& done) {
      callback_runs.fetch_add(1);
      callback_saw_cancelled.store(done.cancelled() ? 1 : 0);
    });
    StartLine start(4);
    bool set_won = false;
    bool cancel_won = false;
    std::atomic<int> waiter_saw_cancelled[2] = {-1, -1};
    std::thread setter([&] {
      start.arrive_and_wait();
      try {
        p.set_result(round);
        set_won = true;
      } catch (const InvalidStateError&) {
      }
    });
    std::thread canceller([&] {
      start.arrive_and_wait();
      cancel_won = f.cancel();
    });
    std::vector<std::thread> waiters;
    for (int w = 0; w < 2; ++w) {
      waiters.emplace_back([&, w] {
        start.arrive_and_wait();
        try {
          EXPECT_EQ(f.result(), round);
          waiter_saw_cancelled[w].store(0);
        } catch (const CancelledError&) {
          waiter_saw_cancelled[w].store(1);
        }
      });
    }
    setter.join();
    canceller.join();
    for (auto& t : waiters) t.join();
    ASSERT_NE(set_won, cancel_won) << "round " << round;
    EXPECT_EQ(callback_runs.load(), 1);
    const int expected = cancel_won ? 1 : 0;
    EXPECT_EQ(callback_saw_cancelled.load(), expected);
    EXPECT_EQ(waiter_saw_cancelled[0].load(), expected);
    EXPECT_EQ(waiter_saw_cancelled[1].load(), expected);
    EXPECT_EQ(f.cancelled(), cancel_won);
  }
}

TEST(RaceTest, ManyWaitersAllWake) {
  for (int round = 0; round < 50; ++round) {
    Promise<std::vector<int>> p;
    Future<std::vector<int>> f = p.get_future();
    constexpr int kWaiters = 8;
    std::atomic<int> woke{0};
    std::vector<std::thread> waiters;
    for (int w = 0; w < kWaiters; ++w) {
      waiters.emplace_back([&, w] {
        const auto& v = w % 2 ? f.result() : f.result(absl::Seconds(60));
        EXPECT_EQ(v.size(), 3u);
        woke.fetch_add(1);
      });
    }
    p.set_result(std::vector<int>{1, 2, 3});
    for (auto& t : waiters) t.join();
    EXPECT_EQ(woke.load(), kWaiters);
  }
}

TEST(RaceTest, CallbacksAddedConcurrentlyWithCompletionRunOnce) {
  for (int round = 0; round < kRounds; ++round) {
    Promise<int> p;
    Future<int> f = p.get_future();
    constexpr int kPerThread = 20;
    std::vector<std::atomic<int>> runs(2 * kPerThread);
    AddWhileCompleting(2, p, [&](int t) {
      for (int i = 0; i < kPerThread; ++i) {
        f.add_done_callback(
            [&runs, slot = t * kPerThread + i](const Future<int>& done) {
              EXPECT_TRUE(done.done());
              runs[slot].fetch_add(1);
            });
      }
    });
    for (auto& r : runs) EXPECT_EQ(r.load(), 1);
  }
}

// Four threads add callbacks of every kind (small ones that fit the state's
// first-listener slot, large ones, then() continuations, AnyFuture callbacks)
// while a fifth completes: whichever takes the slot, each runs exactly once.
TEST(RaceTest, ListenersOfEveryKindAddedConcurrentlyWithCompletionRunOnce) {
  for (int round = 0; round < kRounds; ++round) {
    Promise<int> p;
    Future<int> f = p.get_future();
    constexpr int kAdders = 4;
    constexpr int kPerThread = 8;
    std::vector<std::atomic<int>> runs(kAdders * kPerThread);
    std::vector<Future<int>> thens[kAdders];
    AddWhileCompleting(kAdders, p, [&](int t) {
      const std::vector<int> big(4, 0);
      for (int i = 0; i < kPerThread; ++i) {
        std::atomic<int>* run = &runs[t * kPerThread + i];
        switch ((t + i) % 4) {
          case 0:  // fits the slot
            f.add_done_callback([run](const Future<int>& done) {
              if (done.result() == 1) run->fetch_add(1);
            });
            break;
          case 1:  // too large for it
            f.add_done_callback([run, big](const Future<int>& done) {
              if (done.result() == 1 && big.size() == 4) run->fetch_add(1);
            });
            break;
          case 2:
            thens[t].push_back(f.then([run](int v) {
              run->fetch_add(1);
              return v;
            }));
            break;
          default:
            AnyFuture(f).add_done_callback([run](const AnyFuture& done) {
              if (done.done()) run->fetch_add(1);
            });
            break;
        }
      }
    });
    for (auto& r : runs) EXPECT_EQ(r.load(), 1);
    for (auto& list : thens) {
      for (auto& g : list) EXPECT_EQ(g.result(), 1);
    }
  }
}

// A thread that moves the value out waits for the listeners registered
// before completion, the one in the first-listener slot included: they read
// the value in the completing thread (under TSan, a race report otherwise).
TEST(RaceTest, MoveOutWaitsForTheFirstListener) {
  testing::FinishesWithin(absl::Seconds(60), "moves after slot callbacks", [] {
    for (int round = 0; round < kRounds; ++round) {
      Promise<std::unique_ptr<int>> p;
      Future<std::unique_ptr<int>> f = p.get_future();
      std::atomic<bool> callback_started{false};
      int seen_null = 0;
      // Fits the slot (two pointers).
      f.add_done_callback([&callback_started, &seen_null](
                              const Future<std::unique_ptr<int>>& done) {
        const std::unique_ptr<int>& value = done.result();
        callback_started.store(true);
        for (int i = 0; i < 2000; ++i) {
          if (value == nullptr) ++seen_null;
        }
      });
      std::thread completer(
          [&] { p.set_result(std::make_unique<int>(round)); });
      while (!callback_started.load()) std::this_thread::yield();
      EXPECT_EQ(*std::move(f).result(), round);
      completer.join();
      EXPECT_EQ(seen_null, 0);
    }
  });
}

TEST(RaceTest, WaitAndAsCompletedWhileOthersCompleteAndCancel) {
  for (int round = 0; round < 20; ++round) {
    constexpr int kFutures = 100;
    std::vector<Promise<int>> promises(kFutures);
    std::vector<Future<int>> futures;
    for (auto& p : promises) futures.push_back(p.get_future());
    std::vector<std::thread> workers;
    for (int t = 0; t < 2; ++t) {
      workers.emplace_back([&, t] {
        std::mt19937 rng(round * 2 + t);
        for (int i = t; i < kFutures; i += 2) {
          if (rng() % 4 == 0) {
            futures[i].cancel();
          } else {
            try {
              promises[i].set_result(i);
            } catch (const InvalidStateError&) {
            }
          }
        }
      });
    }
    std::vector<int> seen(kFutures, 0);
    int yielded = 0;
    for (const Future<int>& f : as_completed(futures)) {
      ASSERT_TRUE(f.done());
      for (int i = 0; i < kFutures; ++i) {
        if (futures[i] == f) ++seen[i];
      }
      ++yielded;
    }
    EXPECT_EQ(yielded, kFutures);
    for (int i = 0; i < kFutures; ++i) EXPECT_EQ(seen[i], 1) << i;
    auto [done, not_done] = wait(futures);
    EXPECT_EQ(done.size(), static_cast<std::size_t>(kFutures));
    EXPECT_TRUE(not_done.empty());
    for (auto& t : workers) t.join();
  }
}

TEST(RaceTest, WaitFirstCompletedRacingCompletions) {
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Promise<int>> promises(4);
    std::vector<Future<int>> futures;
    for (auto& p : promises) futures.push_back(p.get_future());
    std::thread completer([&] {
      promises[round % 4].set_result(1);
      promises[(round + 1) % 4].set_result(2);
    });
    auto [done, not_done] =
        wait(futures, absl::InfiniteDuration(), ReturnWhen::kFirstCompleted);
    EXPECT_GE(done.size(), 1u);
    EXPECT_EQ(done.size() + not_done.size(), 4u);
    for (const auto& f : done) EXPECT_TRUE(f.done());
    completer.join();
  }
}

TEST(RaceTest, HandlesCopiedAndDroppedAcrossThreads) {
  // Reference counting under contention: the last handle, wherever it is
  // dropped, frees the state exactly once (ASan sees a double free or leak).
  for (int round = 0; round < kRounds; ++round) {
    auto p = std::make_unique<Promise<int>>();
    Future<int> f = p->get_future();
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([copy = f]() mutable {
        AnyFuture any = copy;
        Future<int> again = copy;
        copy = Future<int>();
        (void)any.done();
      });
    }
    std::thread finisher([p = std::move(p)]() mutable {
      p->set_result(1);
      p.reset();
    });
    for (auto& t : threads) t.join();
    finisher.join();
    EXPECT_EQ(f.result(), 1);
  }
}

TEST(RaceTest, MoveOutAfterAWaitThatRacedWithCompletion) {
  // wait() and as_completed() register listeners; one that loses the race with
  // completion finds the future done. A later move of the value must not wait
  // for listeners (issue 9, defect 1: it spun forever).
  testing::FinishesWithin(absl::Seconds(60), "moves after racing waits", [] {
    for (int round = 0; round < kRounds; ++round) {
      for (bool use_as_completed : {false, true}) {
        Promise<std::unique_ptr<int>> p;
        Future<std::unique_ptr<int>> f = p.get_future();
        StartLine start(2);
        std::thread completer([&] {
          start.arrive_and_wait();
          p.set_result(std::make_unique<int>(round));
        });
        start.arrive_and_wait();
        if (use_as_completed) {
          for (const auto& done : as_completed(std::vector{f})) {
            EXPECT_TRUE(done.done());
          }
        } else {
          wait(std::vector{f});
        }
        completer.join();
        EXPECT_EQ(*std::move(f).result(), round);
      }
    }
  });
}

}  // namespace
}  // namespace concurrent
