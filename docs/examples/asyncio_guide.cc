// The examples of docs/asyncio.md, as one program: each section prints what
// the guide shows as its output.
//
//   ./bazelw run //docs/examples:asyncio_guide

#include <cstdio>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "absl/time/time.h"
#include "executors/thread_pool_executor.h"
#include "futures/aio/event_loop.h"
#include "futures/aio/gather.h"
#include "futures/aio/streams.h"
#include "futures/aio/task_group.h"
#include "futures/aio/timeouts.h"
#include "futures/errors.h"

namespace aio = concurrent::aio;

namespace {

// --- Run coroutines concurrently ---------------------------------------------
aio::Coroutine<std::string> fetch(std::string name, int ms) {
  co_await aio::sleep(absl::Milliseconds(ms));
  co_return name + " after " + std::to_string(ms) + " ms";
}

aio::Coroutine<void> concurrently() {
  std::puts("# run coroutines concurrently");
  aio::Task<std::string> slow = aio::create_task(fetch("slow", 30));
  aio::Task<std::string> fast = aio::create_task(fetch("fast", 10));
  std::printf("%s\n", (co_await slow).c_str());
  // Both ran at once: the fast one finished while we awaited the slow one.
  std::printf("fast done already: %d\n", fast.done());
  std::printf("%s\n", (co_await fast).c_str());
}

// --- An echo server ----------------------------------------------------------
aio::Coroutine<void> echo(aio::StreamReader reader, aio::StreamWriter writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;  // end of stream
    writer.write(line);
    co_await writer.drain();
  }
  writer.close();
  co_await writer.wait_closed();
}

aio::Coroutine<void> echo_server_and_client() {
  std::puts("# an echo server");
  aio::Server server = co_await aio::start_server(echo, "127.0.0.1", 0);
  const std::uint16_t port = server.sockets().front().port();
  aio::Connection c = co_await aio::open_connection("127.0.0.1", port);
  const std::vector<std::string> lines = {"hello\n", "world\n"};
  for (const std::string& line : lines) {
    c.writer.write(line);
    std::string reply = co_await c.reader.readline();
    std::printf("echoed: %s", reply.c_str());
  }
  c.writer.close();
  server.close();
  co_await server.wait_closed();
}

// --- gather ------------------------------------------------------------------
aio::Coroutine<int> fail_after(int ms) {
  co_await aio::sleep(absl::Milliseconds(ms));
  throw std::runtime_error("fail_after(" + std::to_string(ms) + ")");
}

aio::Coroutine<void> gathering() {
  std::puts("# gather");
  std::tuple<std::string, std::string> both =
      co_await aio::gather(fetch("a", 20), fetch("b", 10));
  std::printf("%s; %s\n", std::get<0>(both).c_str(), std::get<1>(both).c_str());
  try {
    co_await aio::gather(fetch("c", 10), fail_after(5));
  } catch (const std::runtime_error& e) {
    std::printf("first error: %s\n", e.what());
  }
  std::tuple<aio::Outcome<std::string>, aio::Outcome<int>> outcomes =
      co_await aio::gather(aio::return_exceptions, fetch("d", 5),
                           fail_after(5));
  std::printf("d: %s\n", std::get<0>(std::get<0>(outcomes)).c_str());
  try {
    std::rethrow_exception(std::get<1>(std::get<1>(outcomes)));
  } catch (const std::exception& e) {
    std::printf("second: exception %s\n", e.what());
  }
}

// --- TaskGroup ---------------------------------------------------------------
aio::Coroutine<void> slow_worker(std::string* log) {
  try {
    co_await aio::sleep(absl::Seconds(10));
  } catch (const concurrent::CancelledError&) {
    *log += "slow worker cancelled; ";
    throw;
  }
}

aio::Coroutine<void> structured() {
  std::puts("# TaskGroup");
  std::string log;
  auto body = [&log](aio::TaskGroup& group) -> aio::Coroutine<void> {
    group.create_task(slow_worker(&log));
    group.create_task(fail_after(10));
    co_await aio::sleep(absl::Seconds(10));  // interrupted by the failure
  };
  try {
    co_await aio::task_group(body);
  } catch (const aio::ExceptionGroup& eg) {
    std::printf("%s%s\n", log.c_str(), eg.what());
    for (const std::exception_ptr& e : eg.exceptions()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        std::printf("  %s\n", x.what());
      }
    }
  }
}

// --- Timeouts ----------------------------------------------------------------
aio::Coroutine<void> timeouts() {
  std::puts("# timeouts");
  try {
    co_await aio::timeout(absl::Milliseconds(10), fetch("too slow", 1000));
  } catch (const concurrent::TimeoutError&) {
    std::puts("timeout(): TimeoutError");
  }
  std::string r =
      co_await aio::wait_for(fetch("quick", 5), absl::Milliseconds(500));
  std::printf("wait_for(): %s\n", r.c_str());
}

// --- Blocking work on a thread pool
// -------------------------------------------
int count_primes(int n) {
  int count = 0;
  for (int i = 2; i < n; ++i) {
    bool prime = true;
    for (int d = 2; d * d <= i && prime; ++d) prime = i % d != 0;
    count += prime;
  }
  return count;
}

aio::Coroutine<void> with_a_pool(concurrent::ThreadPoolExecutor* pool) {
  std::puts("# run_in_executor");
  aio::Future<int> f =
      aio::get_running_loop().run_in_executor(*pool, count_primes, 100000);
  // The loop goes on while a worker counts.
  const int a = co_await f;
  const int b =
      co_await pool->submit(count_primes, 1000);  // a concurrent::Future
  std::printf("primes below 100000: %d, below 1000: %d\n", a, b);
}

// --- Cancellation ------------------------------------------------------------
aio::Coroutine<void> worker() {
  try {
    co_await aio::sleep(absl::Seconds(10));
  } catch (const concurrent::CancelledError& e) {
    std::printf("worker cleans up after: %s\n", e.what());
    throw;
  }
}

aio::Coroutine<void> cancellation() {
  std::puts("# cancellation");
  aio::Task<void> t = aio::create_task(worker());
  co_await aio::sleep(absl::Milliseconds(5));
  std::printf("cancel(): %d\n", t.cancel("shutting down"));
  try {
    co_await t;
  } catch (const concurrent::CancelledError& e) {
    std::printf("awaiting it: CancelledError(%s), cancelled(): %d\n", e.what(),
                t.cancelled());
  }
  std::printf("cancel() again: %d\n", t.cancel());
}

aio::Coroutine<void> guide(concurrent::ThreadPoolExecutor* pool) {
  co_await concurrently();
  co_await echo_server_and_client();
  co_await gathering();
  co_await structured();
  co_await timeouts();
  co_await with_a_pool(pool);
  co_await cancellation();
}

}  // namespace

int main() {
  concurrent::ThreadPoolExecutor pool({.max_workers = 2});
  aio::run(guide(&pool));
}
