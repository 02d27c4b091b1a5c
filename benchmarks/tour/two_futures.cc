// Experiment 4: two futures. The blocking side, concurrent.futures' Future:
// result(timeout) on a future that is not done blocks the caller and raises
// TimeoutError (shown), and what each step costs.
//
// TODO(second pass, once //futures/aio lands on main): the awaitable side,
// the same task through an aio future: `co_await` on it, `wait_for` timing
// out (asyncio.TimeoutError shown), and `wrap_future` from the blocking
// future to an awaitable one; each row's cost, replacing the
// unavailable_row() calls below; the claim then covers both flavours.

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

}  // namespace

ExperimentResult run_futures(Context& ctx) {
  const TourOptions& o = ctx.options;
  ExperimentResult r;
  r.id = "futures";
  r.title = "Two futures";
  const absl::Duration timeout = absl::Milliseconds(10);
  r.setup = absl::StrFormat(
      "one task on ThreadPoolExecutor(1) that waits for a signal; "
      "result(timeout=%s) before the signal, result() after; median of %d",
      absl::FormatDuration(timeout), o.repetitions);

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
  const int batches = o.quick ? 5 : 15;
  Promise<int> done_promise;
  Future<int> done = done_promise.get_future();
  done_promise.set_result(7);
  const double result_done = per_call(batches, 20'000, [&] {
    volatile int v = done.result();
    (void)v;
  });
  absl::Notification hold;
  Future<int> pending = pool.submit([&hold] {
    hold.WaitForNotification();
    return 1;
  });
  const double poll = per_call(batches, 20'000, [&] {
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
  timeout_row.ours.ratio =
      *timeout_row.ours.value / absl::ToDoubleSeconds(timeout);
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
  Table a;
  a.title = "the awaitable Future (asyncio.Future)";
  a.value_header = "time";
  a.ratio_header = "x timeout";
  a.rows.push_back(
      unavailable_row("co_await on a done future", "concurrent::aio"));
  a.rows.push_back(unavailable_row("wait_for(timeout=10ms): TimeoutError",
                                   "concurrent::aio"));
  a.rows.push_back(
      unavailable_row("wrap_future: blocking -> awaitable", "concurrent::aio"));
  for (Table* table : {&t, &a}) {
    for (Row& row : table->rows) row.cpython.missing = "-";
  }
  r.notes.push_back(
      absl::StrCat("caught concurrent::TimeoutError: \"", message, "\""));

  // The claim: result(timeout) blocks the caller until the timeout and then
  // raises TimeoutError, leaving the task to finish; result() then returns
  // its value.
  const double waited = *t.rows[0].ours.value;
  r.claim.statement =
      "concurrent.futures' result(timeout) blocks, then raises TimeoutError "
      "if the future is not done in time";
  r.claim.holds = raised_count == o.repetitions && value_every_time &&
                  waited >= absl::ToDoubleSeconds(timeout);
  r.claim.evidence = absl::StrCat(
      "TimeoutError raised in ", raised_count, "/", o.repetitions,
      " runs after a median of ", format_duration(waited), " (timeout ",
      absl::FormatDuration(timeout), "); result() then returned ",
      value_every_time ? "42" : "a wrong value",
      "; the awaitable side is not in this build");
  r.tables.push_back(std::move(t));
  r.tables.push_back(std::move(a));
  return r;
}

}  // namespace concurrent::tour
