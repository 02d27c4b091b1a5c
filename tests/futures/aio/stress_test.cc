// Copyright 2026 The concurrent Authors.
//
// Bounded stress: 100,000 live tasks at once, many threads posting to one
// loop while it runs tasks, an echo server under many concurrent clients.
// Counts, not times, are asserted; every run is bounded by an aio::timeout.

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "futures/aio/event_loop.h"
#include "futures/aio/streams.h"
#include "futures/aio/timeouts.h"
#include "gtest/gtest.h"

namespace concurrent::aio {
namespace {

constexpr absl::Duration kBound = absl::Seconds(120);

Coroutine<int> SleepThen(int v) {
  co_await sleep(absl::Milliseconds(10));
  co_return v;
}

Coroutine<long> HundredThousandLiveTasks() {
  std::vector<Task<int>> tasks;
  tasks.reserve(100'000);
  for (int i = 0; i < 100'000; ++i) tasks.push_back(create_task(SleepThen(1)));
  co_await sleep(absl::ZeroDuration());
  // Every task has started and is sleeping now.
  EXPECT_EQ(get_running_loop().all_tasks().size(), 100'001u);
  long sum = 0;
  for (Task<int>& t : tasks) sum += co_await t;
  co_return sum;
}

TEST(AioStressTest, HundredThousandLiveTasks) {
  EXPECT_EQ(run(timeout(kBound, HundredThousandLiveTasks())), 100'000);
}

Coroutine<int> TicksWhilePosted(std::atomic<int>* posted, int expected) {
  // Tasks keep switching while other threads post callbacks.
  int received = 0;
  EventLoop& loop = get_running_loop();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&loop, posted] {
      for (int i = 0; i < 5'000; ++i) {
        loop.call_soon_threadsafe([posted] { posted->fetch_add(1); });
      }
    });
  }
  while (posted->load() < expected) {
    co_await sleep(absl::ZeroDuration());
    ++received;
  }
  for (std::thread& th : threads) th.join();
  co_return received > 0 ? posted->load() : -1;
}

TEST(AioStressTest, ThreadsPostWhileTasksSwitch) {
  std::atomic<int> posted{0};
  EXPECT_EQ(run(timeout(kBound, TicksWhilePosted(&posted, 20'000))), 20'000);
}

Coroutine<void> Echo(StreamReader reader, StreamWriter writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;
    writer.write(line);
    co_await writer.drain();
  }
  writer.close();
}

Coroutine<int> Client(std::uint16_t port) {
  Connection c = co_await open_connection("127.0.0.1", port);
  int ok = 0;
  for (int i = 0; i < 50; ++i) {
    const std::string line = std::to_string(i) + "\n";
    c.writer.write(line);
    std::string reply = co_await c.reader.readline();
    ok += reply == line;
  }
  c.writer.close();
  co_return ok;
}

Coroutine<int> ManyClients() {
  Server server = co_await start_server(Echo, "127.0.0.1", 0,
                                        ServerOptions{.backlog = 512});
  const std::uint16_t port = server.sockets().front().port();
  std::vector<Task<int>> clients;
  for (int i = 0; i < 200; ++i) clients.push_back(create_task(Client(port)));
  int ok = 0;
  for (Task<int>& t : clients) ok += co_await t;
  server.close();
  co_await server.wait_closed();
  co_return ok;
}

TEST(AioStressTest, EchoServerUnderManyClients) {
  EXPECT_EQ(run(timeout(kBound, ManyClients())), 200 * 50);
}

}  // namespace
}  // namespace concurrent::aio
