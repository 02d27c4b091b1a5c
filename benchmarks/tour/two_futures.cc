// Experiment 4: two futures. The same task through the blocking future of
// concurrent.futures and the awaitable one of asyncio. Blocking:
// result(timeout) on a future that is not done blocks the caller and raises
// TimeoutError (shown), leaving the task running. Awaitable: wait_for(task,
// timeout) suspends only the awaiting coroutine, raises TimeoutError (shown)
// and cancels the task, as asyncio.wait_for does. Then what each step costs,
// including wrap_future, the bridge from a blocking future to an awaitable
// one. tour.py's `futures` subcommand measures the same rows on CPython.

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "benchmarks/machine.h"
#include "benchmarks/tour/experiment.h"
#include "benchmarks/tour/report.h"
#include "executors/thread_pool_executor.h"
#include "futures/aio/event_loop.h"
#include "futures/aio/future.h"
#include "futures/aio/task.h"
#include "futures/aio/timeouts.h"
#include "futures/aio/wrap_future.h"
#include "futures/errors.h"
#include "futures/future.h"
#include "futures/promise.h"

namespace concurrent::tour {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The median cost of one call of `f`, timed over batches of `batch` calls.
template <typename F>
double per_call(int batches, int batch, F f) {
  std::vector<double> t;
  for (int b = 0; b < batches; ++b) {
    const auto start = Clock::now();
    for (int i = 0; i < batch; ++i) f();
    t.push_back(since(start) / batch);
  }
  return bench::median(t);
}

double per_batch(Clock::time_point start, int batch) {
  return since(start) / batch;
}

// What the awaitable side measured (one aio::run).
struct AwaitableFigures {
  std::vector<double> timed_out;  // wait_for(task, timeout) until it raised
  int raised = 0;                 // times it raised TimeoutError
  int cancelled = 0;              // times the task was then cancelled
  std::string message;            // the caught TimeoutError's what()
  double await_done = 0;          // co_await of a done aio future
  double wrap_done = 0;           // co_await wrap_future(done future)
  double wrap_submit = 0;         // pool.submit() -> co_await wrap_future
};

int one() { return 1; }

// The task: wait for the signal, return 42 (as the blocking side's).
aio::Coroutine<int> wait_for_signal(aio::Future<int> go) {
  co_return co_await go;
}

aio::Coroutine<void> awaitable_side(int repetitions, absl::Duration timeout,
                                    int batches, int batch,
                                    ThreadPoolExecutor& pool,
                                    AwaitableFigures& out) {
  aio::EventLoop& loop = aio::get_running_loop();
  for (int rep = 0; rep < repetitions; ++rep) {
    aio::Future<int> go = loop.create_future<int>();
    aio::Task<int> task = loop.create_task(wait_for_signal(go));
    const auto start = Clock::now();
    try {
      co_await aio::wait_for(task, timeout);
    } catch (const TimeoutError& e) {
      ++out.raised;
      out.message = e.what();
    }
    out.timed_out.push_back(since(start));
    out.cancelled += task.cancelled() ? 1 : 0;
  }

  aio::Future<int> done = loop.create_future<int>();
  done.set_result(7);
  Promise<int> done_promise;
  Future<int> done_blocking = done_promise.get_future();
  done_promise.set_result(7);
  std::vector<double> await_done, wrap_done, wrap_submit;
  int64_t sum = 0;
  for (int b = 0; b < batches; ++b) {
    auto start = Clock::now();
    for (int i = 0; i < batch; ++i) sum += co_await done;
    await_done.push_back(per_batch(start, batch));
    start = Clock::now();
    for (int i = 0; i < batch / 100; ++i) {
      sum += co_await aio::wrap_future(done_blocking);
    }
    wrap_done.push_back(per_batch(start, batch / 100));
    start = Clock::now();
    for (int i = 0; i < batch / 400; ++i) {
      sum += co_await aio::wrap_future(pool.submit(one));
    }
    wrap_submit.push_back(per_batch(start, batch / 400));
  }
  if (sum == 0) throw std::logic_error("no value awaited");
  out.await_done = bench::median(await_done);
  out.wrap_done = bench::median(wrap_done);
  out.wrap_submit = bench::median(wrap_submit);
}

}  // namespace

ExperimentResult run_futures(Context& ctx) {
  const TourOptions& o = ctx.options;
  ExperimentResult r;
  r.id = "futures";
  r.title = "Two futures";
  const absl::Duration timeout = absl::Milliseconds(10);
  r.setup = absl::StrFormat(
      "one task that waits for a signal, on ThreadPoolExecutor(1) "
      "(result(timeout=%s) before the signal, result() after) and on an aio "
      "loop (wait_for(task, %s)); median of %d",
      absl::FormatDuration(timeout), absl::FormatDuration(timeout),
      o.repetitions);

  ThreadPoolExecutor pool(1);
  std::vector<double> timed_out;
  std::string message;
  int raised_count = 0;
  bool value_every_time = true;
  for (int rep = 1; rep <= o.repetitions; ++rep) {
    ctx.progress.step(
        absl::StrFormat("result(timeout) %d/%d", rep, o.repetitions));
    absl::Notification go;
    Future<int> f = pool.submit([&go] {
      go.WaitForNotification();
      return 42;
    });
    const auto start = Clock::now();
    bool raised = false;
    try {
      f.result(timeout);
    } catch (const TimeoutError& e) {
      raised = true;
      message = e.what();
    }
    timed_out.push_back(since(start));
    go.Notify();
    raised_count += raised ? 1 : 0;
    value_every_time &= f.result() == 42;
  }

  ctx.progress.step("the cost of each call");
  const int batches = o.quick ? 5 : 15;  // tour.py's counts too
  const int batch = o.quick ? 5'000 : 20'000;
  Promise<int> done_promise;
  Future<int> done = done_promise.get_future();
  done_promise.set_result(7);
  const double result_done = per_call(batches, batch, [&] {
    volatile int v = done.result();
    (void)v;
  });
  absl::Notification hold;
  Future<int> pending = pool.submit([&hold] {
    hold.WaitForNotification();
    return 1;
  });
  const double poll = per_call(batches, batch, [&] {
    volatile bool d = pending.done();
    (void)d;
  });
  std::vector<double> overshoot;
  for (int i = 0; i < (o.quick ? 10 : 40); ++i) {
    const auto start = Clock::now();
    try {
      pending.result(absl::Microseconds(500));
    } catch (const TimeoutError&) {
    }
    overshoot.push_back(since(start) - 500e-6);
  }
  hold.Notify();
  pending.result();

  Table t;
  t.title = "the blocking Future (concurrent.futures.Future)";
  t.value_header = "time";
  t.ratio_header = "x timeout";
  Row timeout_row{absl::StrCat("result(timeout=", absl::FormatDuration(timeout),
                               ") on a pending future: TimeoutError"),
                  Unit::kSeconds,
                  measured(timed_out),
                  {}};
  t.rows.push_back(std::move(timeout_row));
  t.rows.push_back({"result(timeout=500us) past its timeout (overshoot)",
                    Unit::kSeconds,
                    measured(overshoot),
                    {}});
  t.rows.push_back({"result() on a done future",
                    Unit::kSeconds,
                    measured({result_done}),
                    {}});
  t.rows.push_back(
      {"done() on a pending future", Unit::kSeconds, measured({poll}), {}});
  ctx.progress.step("the awaitable future");
  AwaitableFigures aw;
  aio::run(awaitable_side(o.repetitions, timeout, batches, batch, pool, aw));

  Table a;
  a.title = "the awaitable Future (asyncio.Future)";
  a.value_header = "time";
  a.ratio_header = "x timeout";
  a.rows.push_back(
      {absl::StrCat("wait_for(timeout=", absl::FormatDuration(timeout),
                    ") on a pending task: TimeoutError"),
       Unit::kSeconds,
       measured(aw.timed_out),
       {}});
  a.rows.push_back({"co_await on a done future",
                    Unit::kSeconds,
                    measured({aw.await_done}),
                    {}});
  a.rows.push_back({"co_await wrap_future(done blocking future)",
                    Unit::kSeconds,
                    measured({aw.wrap_done}),
                    {}});
  a.rows.push_back({"co_await wrap_future(ThreadPoolExecutor(1).submit())",
                    Unit::kSeconds,
                    measured({aw.wrap_submit}),
                    {}});

  nlohmann::json storage;
  const nlohmann::json* py = run_cpython(ctx, {"futures"}, r, storage);
  for (Table* table : {&t, &a}) {
    fill_cpython(*table, py);
    Row& first = table->rows.front();
    for (Cell* c : {&first.ours, &first.cpython}) {
      if (c->value) c->ratio = *c->value / absl::ToDoubleSeconds(timeout);
    }
  }
  r.notes.push_back(absl::StrCat("caught concurrent::TimeoutError: \"", message,
                                 "\" (result), \"", aw.message,
                                 "\" (wait_for)"));

  // The claim: result(timeout) blocks the caller until the timeout and then
  // raises TimeoutError, leaving the task to finish (result() then returns its
  // value); wait_for(task, timeout) raises TimeoutError after the timeout too
  // (the loop's timers may fire up to its clock resolution early: the bar is
  // 90% of the timeout), but cancels the task.
  const double waited = *t.rows[0].ours.value;
  const double awaited = *a.rows[0].ours.value;
  const double limit = absl::ToDoubleSeconds(timeout);
  r.claim.statement =
      "result(timeout) blocks, then raises TimeoutError and leaves the task "
      "running; asyncio's wait_for raises TimeoutError and cancels the task";
  r.claim.holds = raised_count == o.repetitions && value_every_time &&
                  waited >= limit && aw.raised == o.repetitions &&
                  aw.cancelled == o.repetitions && awaited >= 0.9 * limit;
  r.claim.evidence = absl::StrCat(
      "result(timeout) raised TimeoutError in ", raised_count, "/",
      o.repetitions, " runs after a median of ", format_duration(waited),
      " (timeout ", absl::FormatDuration(timeout), "), then result() returned ",
      value_every_time ? "42" : "a wrong value", "; wait_for raised in ",
      aw.raised, "/", o.repetitions, " runs after ", format_duration(awaited),
      " and the task was cancelled in ", aw.cancelled, "/", o.repetitions,
      "; costs: result() on a done future ", format_duration(result_done),
      ", co_await ", format_duration(aw.await_done), ", wrap_future ",
      format_duration(aw.wrap_done));
  r.tables.push_back(std::move(t));
  r.tables.push_back(std::move(a));
  return r;
}

}  // namespace concurrent::tour
