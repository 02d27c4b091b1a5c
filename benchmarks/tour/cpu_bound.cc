// Experiment 2: the GIL and CPU-bound work. The same CPU-bound function
// (count the primes below n by trial division, with a GIL check point per
// candidate as CPython's eval loop checks at each backward jump) run as
// `cpu_tasks` tasks: sequentially; on ThreadPoolExecutor(2) whose tasks hold
// a GIL (about 1x); on ProcessPoolExecutor(2) whose workers each hold their
// own GIL (about 2x, as CPython's processes each have their interpreter); on
// ThreadPoolExecutor(2) without a GIL (about 2x: what C++ gives for free);
// and in two bare forked processes (the machine's ceiling, measured in the
// same run).

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmarks/tour/experiment.h"
#include "benchmarks/tour/report.h"
#include "executors/thread_pool_executor.h"
#include "futures/future.h"
#include "gil/gil.h"
#include "ipc/process_pool_executor.h"
#include "ipc/task_registry.h"

namespace concurrent::tour {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The number of primes below n; calls the GIL check point (if the thread
// holds a GIL) once per candidate. tour.py's count_primes() is the same.
int64_t count_primes(int64_t n) {
  int64_t count = 0;
  for (int64_t c = 2; c < n; ++c) {
    bool prime = true;
    for (int64_t d = 2; d * d <= c; ++d) {
      if (c % d == 0) {
        prime = false;
        break;
      }
    }
    count += prime;
    check_gil();
  }
  return count;
}
// Submitted by name to the process pool's workers.
CONCURRENT_REGISTER_TASK(count_primes);

// The n for which count_primes(n) takes about `target` on this thread.
int64_t calibrate(double target) {
  int64_t n = 20'000;
  for (;;) {
    const auto start = Clock::now();
    count_primes(n);
    const double dt = since(start);
    if (dt > 0.02 || n > (int64_t{1} << 40)) {
      // The cost grows as about n^1.5 (trial division up to sqrt).
      return std::max<int64_t>(
          1000, static_cast<int64_t>(n * std::pow(target / dt, 1 / 1.5)));
    }
    n *= 2;
  }
}

double run_sequential(int tasks, int64_t n, int64_t* primes) {
  const auto start = Clock::now();
  Gil gil;
  std::scoped_lock hold(gil);
  for (int i = 0; i < tasks; ++i) *primes = count_primes(n);
  return since(start);
}

// Submits the tasks to `pool`, checks every count, returns the wall time.
template <typename Pool>
double time_tasks(Pool& pool, int tasks, int64_t n, int64_t expected) {
  const auto start = Clock::now();
  std::vector<Future<int64_t>> fs;
  for (int i = 0; i < tasks; ++i) fs.push_back(pool.submit(count_primes, n));
  for (auto& f : fs) {
    if (f.result() != expected) throw std::runtime_error("wrong prime count");
  }
  return since(start);
}

double run_pool(int tasks, int64_t n, bool with_gil, int64_t expected) {
  Gil gil;
  ThreadPoolExecutor::Options options{.max_workers = 2};
  if (with_gil) options.around_task = hold_gil(gil);
  ThreadPoolExecutor pool(std::move(options));
  pool.submit([] {}).result();  // both sides start with a worker up
  return time_tasks(pool, tasks, n, expected);
}

// The same tasks on ProcessPoolExecutor(2), each worker running them holding
// its own GIL (GilOptions' defaults, as each CPython process has its own).
double run_process_pool(int tasks, int64_t n, int64_t expected) {
  ProcessPoolExecutor pool({.max_workers = 2, .worker_gil = GilOptions{}});
  // Both workers up before the clock starts, as CPython's pool after its
  // first submit (with fork, it starts every worker then).
  for (int i = 0; i < 100 && pool.worker_pids().size() < 2; ++i) {
    std::vector<Future<int64_t>> warm;
    for (int k = 0; k < 4; ++k) warm.push_back(pool.submit(count_primes, 100));
    for (auto& f : warm) f.result();
  }
  return time_tasks(pool, tasks, n, expected);
}

// Two forked processes, each running half the tasks (each its own process,
// as each Python process has its own interpreter and GIL); each child
// reports its counts through a pipe.
double run_processes(int tasks, int64_t n, int64_t expected) {
  const auto start = Clock::now();
  struct Child {
    pid_t pid;
    int fd;
  };
  std::vector<Child> children;
  for (int p = 0; p < 2; ++p) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      close(fds[0]);
      int64_t ok = 1;
      for (int i = 0; i < tasks / 2; ++i) ok &= count_primes(n) == expected;
      _exit(write(fds[1], &ok, sizeof ok) == sizeof ok ? 0 : 1);
    }
    close(fds[1]);
    children.push_back({pid, fds[0]});
  }
  bool all_ok = true;
  for (const Child& c : children) {
    int64_t ok = 0;
    all_ok &= read(c.fd, &ok, sizeof ok) == sizeof ok && ok == 1;
    close(c.fd);
    int status = 0;
    waitpid(c.pid, &status, 0);
    all_ok &= WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  const double t = since(start);
  if (!all_ok) throw std::runtime_error("a child process failed");
  return t;
}

}  // namespace

ExperimentResult run_cpu(Context& ctx) {
  const TourOptions& o = ctx.options;
  ExperimentResult r;
  r.id = "cpu";
  r.title = "The GIL and CPU-bound work";
  ctx.progress.step("calibrating");
  const int64_t n = calibrate(o.unit_ms / 1000.0);
  r.setup = absl::StrFormat(
      "%d tasks, each counting the primes below %d (about %d ms on one "
      "thread), with a GIL check point per candidate; median of %d",
      o.cpu_tasks, n, o.unit_ms, o.repetitions);

  int64_t primes = 0;
  std::vector<double> seq, gil, pool, no_gil, procs;
  for (int rep = 1; rep <= o.repetitions; ++rep) {
    const std::string of = absl::StrCat(" ", rep, "/", o.repetitions);
    ctx.progress.step("sequential" + of);
    seq.push_back(run_sequential(o.cpu_tasks, n, &primes));
    ctx.progress.step("ThreadPoolExecutor(2), GIL" + of);
    gil.push_back(run_pool(o.cpu_tasks, n, true, primes));
    ctx.progress.step("ProcessPoolExecutor(2), GIL per worker" + of);
    pool.push_back(run_process_pool(o.cpu_tasks, n, primes));
    ctx.progress.step("ThreadPoolExecutor(2), no GIL" + of);
    no_gil.push_back(run_pool(o.cpu_tasks, n, false, primes));
    ctx.progress.step("2 bare processes" + of);
    procs.push_back(run_processes(o.cpu_tasks, n, primes));
  }

  Table t;
  t.value_header = "wall time";
  t.ratio_header = "speedup";
  t.rows.push_back({"sequential", Unit::kSeconds, measured(seq), {}});
  t.rows.push_back(
      {"ThreadPoolExecutor(2), GIL", Unit::kSeconds, measured(gil), {}});
  t.rows.push_back({"ProcessPoolExecutor(2), GIL per worker",
                    Unit::kSeconds,
                    measured(pool),
                    {}});
  t.rows.push_back(
      {"ThreadPoolExecutor(2), no GIL", Unit::kSeconds, measured(no_gil), {}});
  t.rows.push_back(
      {"2 bare processes (ceiling)", Unit::kSeconds, measured(procs), {}});

  nlohmann::json storage;
  const nlohmann::json* py =
      run_cpython(ctx,
                  {"cpu", "--tasks", std::to_string(o.cpu_tasks), "--unit-ms",
                   std::to_string(o.unit_ms)},
                  r, storage);
  fill_cpython(t, py);
  set_speedups(t);
  r.notes.push_back(absl::StrFormat(
      "every task's count (%d primes) was checked against the sequential "
      "run's",
      primes));
  if (py != nullptr && storage.contains("n")) {
    r.notes.push_back(
        absl::StrCat("CPython counts the primes below ", storage["n"].dump(),
                     " per task (calibrated to the same ", o.unit_ms, " ms)"));
  }

  // The claim: under the GIL, threads give no speedup to CPU-bound work;
  // without it (C++), or with a GIL per process, they do. Judged against the
  // ceiling this machine gave in this run.
  const double with_gil = *t.rows[1].ours.ratio;
  const double processes = *t.rows[2].ours.ratio;
  const double without = *t.rows[3].ours.ratio;
  const double ceiling = *t.rows[4].ours.ratio;
  r.claim.statement =
      "the GIL keeps CPU-bound threads at about 1x; processes with a GIL "
      "each, or threads without one, scale";
  if (ceiling < 1.3) {
    r.claim.evidence = absl::StrCat(
        "two bare processes reached only ", format_ratio(ceiling),
        ": this machine had no second CPU to give in this run (2 threads "
        "with the GIL: ",
        format_ratio(with_gil),
        ", ProcessPoolExecutor(2): ", format_ratio(processes), ")");
  } else {
    r.claim.holds = with_gil <= 1.25 && processes >= 0.85 * ceiling &&
                    without >= 0.85 * ceiling;
    r.claim.evidence = absl::StrCat(
        "2 threads: ", format_ratio(with_gil),
        " with the GIL (the bar: at most 1.25x), ", format_ratio(without),
        " without it; 2 worker processes with a GIL each: ",
        format_ratio(processes), " (the bar for both: 85% of the ",
        format_ratio(ceiling), " two bare processes reached)");
  }
  if (t.rows[1].cpython.ratio) {
    absl::StrAppend(&r.claim.evidence, "; CPython's 2 threads: ",
                    format_ratio(*t.rows[1].cpython.ratio));
    if (t.rows[2].cpython.ratio) {
      absl::StrAppend(&r.claim.evidence, ", its ProcessPoolExecutor(2): ",
                      format_ratio(*t.rows[2].cpython.ratio));
    }
  }
  r.tables.push_back(std::move(t));
  return r;
}

}  // namespace concurrent::tour
