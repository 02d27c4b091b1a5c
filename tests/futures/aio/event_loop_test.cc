// Copyright 2026 The concurrent Authors.
//
// aio::EventLoop: scheduling order, timers, stop/run_forever, closing,
// errors, call_soon_threadsafe from many threads, fd callbacks (the
// behaviours of CPython's test_base_events.py and test_events.py that carry
// over).

#include "futures/aio/event_loop.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "futures/errors.h"
#include "gtest/gtest.h"
#include "tests/futures/aio/test_support.h"

namespace concurrent::aio {
namespace {

using testing::RunBriefly;
using testing::What;

TEST(EventLoopTest, CallSoonRunsInOrderInTheNextIteration) {
  EventLoop loop;
  std::vector<int> order;
  loop.call_soon([&] {
    order.push_back(1);
    // Scheduled during an iteration: runs in the next one, after 2.
    loop.call_soon([&] { order.push_back(3); });
  });
  loop.call_soon([&] { order.push_back(2); });
  EXPECT_TRUE(order.empty());
  RunBriefly(loop);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoopTest, CancelledHandleDoesNotRun) {
  EventLoop loop;
  bool ran = false;
  Handle h = loop.call_soon([&] { ran = true; });
  EXPECT_FALSE(h.cancelled());
  h.cancel();
  EXPECT_TRUE(h.cancelled());
  RunBriefly(loop);
  EXPECT_FALSE(ran);
}

TEST(EventLoopTest, CallLaterRunsAfterTheDelayInTimeOrder) {
  EventLoop loop;
  std::vector<int> order;
  const absl::Duration start = loop.time();
  absl::Duration ran_at;
  TimerHandle last = loop.call_later(absl::Milliseconds(30), [&] {
    order.push_back(3);
    ran_at = loop.time();
    loop.stop();
  });
  // The earlier deadlines are fixed against the first one's: under load, a
  // second call_later() made 10 ms later would be due 10 ms later too.
  loop.call_at(last.when() - absl::Milliseconds(20),
               [&] { order.push_back(1); });
  loop.call_at(last.when() - absl::Milliseconds(10),
               [&] { order.push_back(2); });
  loop.run_forever();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_GE(ran_at - start, absl::Milliseconds(30));
}

TEST(EventLoopTest, TimersDueAtTheSameTimeRunInSchedulingOrder) {
  EventLoop loop;
  std::vector<int> order;
  const absl::Duration when = loop.time() + absl::Milliseconds(5);
  for (int i = 0; i < 20; ++i) {
    loop.call_at(when, [&order, i] { order.push_back(i); });
  }
  loop.call_at(when + absl::Milliseconds(1), [&] { loop.stop(); });
  loop.run_forever();
  ASSERT_EQ(order.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(order[i], i);
}

TEST(EventLoopTest, CancelledTimerDoesNotRun) {
  EventLoop loop;
  bool ran = false;
  TimerHandle h = loop.call_later(absl::Milliseconds(5), [&] { ran = true; });
  const absl::Duration when = h.when();
  EXPECT_GT(when, loop.time() - absl::Seconds(1));
  h.cancel();
  EXPECT_TRUE(h.cancelled());
  loop.call_later(absl::Milliseconds(20), [&] { loop.stop(); });
  loop.run_forever();
  EXPECT_FALSE(ran);
}

TEST(EventLoopTest, NegativeDelayRunsInTheNextIteration) {
  EventLoop loop;
  bool ran = false;
  loop.call_later(absl::Seconds(-1), [&] { ran = true; });
  RunBriefly(loop);
  EXPECT_TRUE(ran);
}

TEST(EventLoopTest, TimeIsMonotonic) {
  EventLoop loop;
  absl::Duration prev = loop.time();
  for (int i = 0; i < 1000; ++i) {
    const absl::Duration now = loop.time();
    EXPECT_GE(now, prev);
    prev = now;
  }
}

TEST(EventLoopTest, StopBeforeRunForeverRunsOneIteration) {
  EventLoop loop;
  int runs = 0;
  loop.call_soon([&] { ++runs; });
  loop.stop();
  loop.run_forever();
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(loop.is_running());
}

TEST(EventLoopTest, RunForeverWhileRunningIsRefused) {
  EventLoop loop;
  bool refused = false;
  loop.call_soon([&] {
    try {
      loop.run_forever();
    } catch (const InvalidStateError&) {
      refused = true;
    }
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(refused);
}

TEST(EventLoopTest, AnotherLoopInTheSameThreadIsRefused) {
  EventLoop loop;
  EventLoop other;
  bool refused = false;
  loop.call_soon([&] {
    EXPECT_EQ(running_loop(), &loop);
    try {
      other.run_forever();
    } catch (const InvalidStateError& e) {
      refused = true;
    }
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(refused);
  EXPECT_EQ(running_loop(), nullptr);
  EXPECT_THROW(get_running_loop(), InvalidStateError);
}

TEST(EventLoopTest, ClosedLoopRefusesWork) {
  EventLoop loop;
  loop.close();
  EXPECT_TRUE(loop.is_closed());
  loop.close();  // idempotent
  EXPECT_THROW(loop.run_forever(), InvalidStateError);
  EXPECT_THROW(loop.call_soon([] {}), InvalidStateError);
  EXPECT_THROW(loop.call_later(absl::Seconds(1), [] {}), InvalidStateError);
  EXPECT_THROW(loop.call_soon_threadsafe([] {}), InvalidStateError);
  EXPECT_THROW(loop.run_until_complete(testing::Nothing()), InvalidStateError);
}

TEST(EventLoopTest, CloseWhileRunningIsRefused) {
  EventLoop loop;
  bool refused = false;
  loop.call_soon([&] {
    try {
      loop.close();
    } catch (const InvalidStateError&) {
      refused = true;
    }
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(refused);
}

TEST(EventLoopTest, ThrowingCallbackIsReportedAndTheLoopGoesOn) {
  EventLoop loop;
  testing::ReportLog log;
  log.install(loop);
  bool after = false;
  loop.call_soon([] { throw std::runtime_error("oops"); });
  loop.call_soon([&] { after = true; });
  RunBriefly(loop);
  EXPECT_TRUE(after);
  ASSERT_EQ(log.reports.size(), 1u);
  EXPECT_EQ(log.reports[0].message, "Exception in callback");
  EXPECT_EQ(What(log.reports[0].exception), "oops");
}

TEST(EventLoopTest, CallSoonThreadsafeWakesASleepingLoop) {
  EventLoop loop;
  std::thread t([&] {
    absl::SleepFor(absl::Milliseconds(20));
    loop.call_soon_threadsafe([&] { loop.stop(); });
  });
  loop.run_forever();  // blocks in epoll until the other thread posts
  t.join();
}

TEST(EventLoopTest, CallSoonThreadsafeFromManyThreadsAtOnce) {
  EventLoop loop;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  std::vector<int> per_thread(kThreads, 0);
  std::vector<int> last_seen(kThreads, -1);
  bool in_order = true;
  int total = 0;
  std::atomic<int> ready{0};
  absl::Notification go;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      go.WaitForNotification();
      for (int i = 0; i < kPerThread; ++i) {
        loop.call_soon_threadsafe([&, t, i] {
          // Each thread's callbacks run in the order it posted them.
          if (last_seen[t] != i - 1) in_order = false;
          last_seen[t] = i;
          ++per_thread[t];
          if (++total == kThreads * kPerThread) loop.stop();
        });
      }
    });
  }
  while (ready.load() < kThreads) std::this_thread::yield();
  go.Notify();
  loop.run_forever();
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(total, kThreads * kPerThread);
  EXPECT_TRUE(in_order);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(per_thread[t], kPerThread);
}

TEST(EventLoopTest, CallSoonThreadsafeAfterCloseThrowsInTheCallingThread) {
  EventLoop loop;
  loop.close();
  std::thread t([&] {
    EXPECT_THROW(loop.call_soon_threadsafe([] {}), InvalidStateError);
  });
  t.join();
}

TEST(EventLoopTest, ThreadsafeHandleCancelledFromAnotherThread) {
  EventLoop loop;
  bool ran = false;
  Handle h;
  std::thread t([&] { h = loop.call_soon_threadsafe([&] { ran = true; }); });
  t.join();
  std::thread c([&] { h.cancel(); });
  c.join();
  RunBriefly(loop);
  EXPECT_FALSE(ran);
}

// --- fd callbacks ---

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    ::close(r);
    ::close(w);
  }
};

TEST(EventLoopTest, AddReaderRunsWhileReadable) {
  EventLoop loop;
  Pipe p;
  std::string got;
  int calls = 0;
  loop.add_reader(p.r, [&] {
    ++calls;
    char c;
    // Read one byte per call: level-triggered, so it is called again.
    if (::read(p.r, &c, 1) == 1) got += c;
    if (got == "abc") {
      EXPECT_TRUE(loop.remove_reader(p.r));
      loop.stop();
    }
  });
  ASSERT_EQ(::write(p.w, "abc", 3), 3);
  loop.run_forever();
  EXPECT_EQ(got, "abc");
  EXPECT_EQ(calls, 3);
  EXPECT_FALSE(loop.remove_reader(p.r));
}

TEST(EventLoopTest, AddWriterRunsWhenWritable) {
  EventLoop loop;
  Pipe p;
  bool wrote = false;
  loop.add_writer(p.w, [&] {
    wrote = ::write(p.w, "x", 1) == 1;
    loop.remove_writer(p.w);
    loop.stop();
  });
  loop.run_forever();
  EXPECT_TRUE(wrote);
  char c;
  EXPECT_EQ(::read(p.r, &c, 1), 1);
}

TEST(EventLoopTest, RemovedReaderQueuedThisIterationDoesNotRun) {
  EventLoop loop;
  Pipe a, b;
  int b_calls = 0;
  ASSERT_EQ(::write(a.w, "x", 1), 1);
  ASSERT_EQ(::write(b.w, "x", 1), 1);
  // Both become ready in the same iteration; whichever runs first removes
  // the other, which must then not run.
  loop.add_reader(a.r, [&] {
    loop.remove_reader(b.r);
    loop.remove_reader(a.r);
    loop.stop();
  });
  loop.add_reader(b.r, [&] {
    ++b_calls;
    loop.remove_reader(a.r);
    loop.remove_reader(b.r);
    loop.stop();
  });
  loop.run_forever();
  EXPECT_LE(b_calls, 1);
}

TEST(EventLoopTest, ReplacingAReaderCancelsTheOldOne) {
  EventLoop loop;
  Pipe p;
  int old_calls = 0, new_calls = 0;
  loop.add_reader(p.r, [&] { ++old_calls; });
  loop.add_reader(p.r, [&] {
    ++new_calls;
    loop.remove_reader(p.r);
    loop.stop();
  });
  ASSERT_EQ(::write(p.w, "x", 1), 1);
  loop.run_forever();
  EXPECT_EQ(old_calls, 0);
  EXPECT_EQ(new_calls, 1);
}

TEST(EventLoopTest, LoopCloseForgetsFdCallbacks) {
  Pipe p;
  EventLoop loop;
  loop.add_reader(p.r, [] {});
  loop.close();
  EXPECT_FALSE(loop.remove_reader(p.r));
}

}  // namespace
}  // namespace concurrent::aio
