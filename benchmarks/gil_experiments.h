// The three GIL experiments of issue 5, run with concurrent::Gil: the same
// experiments as benchmarks/python/gil_experiments.py runs on CPython, so the
// two can be compared (//benchmarks:gil_fidelity prints them side by side).
//
//   * CPU-bound: k threads each doing one work unit while holding the GIL (as
//     Python threads do) against one thread doing the k units; and k forked
//     processes, each with its own GIL.
//   * Hand-off latency: a CPU-bound thread (pinned to one CPU) runs; another
//     (pinned to another CPU) calls gil_sleep(0) in a loop, like
//     time.sleep(0), and measures each call.
//   * Switch rate: two CPU-bound threads pinned to different CPUs count how
//     often the GIL changed hands, and how much work each did.
//   * Convoy (bpo-7946, used by the tour): echo round trips per second of an
//     I/O-bound thread behind a CPU-bound one.
//
// A work unit is a loop of cheap arithmetic steps with a check point after
// each step, as CPython's eval loop checks its eval breaker at every backward
// jump.
//
// Thread-compatible: run one experiment at a time.

#ifndef CONCURRENT_BENCHMARKS_GIL_EXPERIMENTS_H_
#define CONCURRENT_BENCHMARKS_GIL_EXPERIMENTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gil/gil.h"

namespace concurrent::bench {

// The two CPUs the pinned experiments use (the first two this process may run
// on), or nullopt if there are fewer than two.
std::optional<std::pair<int, int>> experiment_cpus();

// Pins the calling thread to `cpu` (no-op for -1). Returns false on failure.
bool pin_to_cpu(int cpu);

// Runs one work unit of `steps` steps on `gil`, which the caller holds.
uint64_t work_unit(Gil& gil, int64_t steps);

// The number of steps for a unit lasting about `target` on one thread.
int64_t calibrate_unit(absl::Duration target);

// One repetition: time of one thread doing k units / time of k threads doing
// one unit each, all on one new-GIL Gil.
double cpu_bound_threads_speedup(int k, int64_t steps);

// One repetition: time of one thread doing k units / time of k forked
// processes doing one unit each (each process has its own Gil).
double cpu_bound_processes_speedup(int k, int64_t steps);

struct HandoffResult {
  absl::Duration median, p10, p90;
  int samples = 0;
};
// One repetition of the hand-off experiment at `interval`.
HandoffResult handoff(absl::Duration interval, int samples,
                      GilPolicy policy = GilPolicy::kNewGil);

struct SwitchRateResult {
  double per_second = 0;        // switches noticed by the threads
  double stats_per_second = 0;  // GilStats::switches
  double min_share = 0;         // the smaller thread's share of the work
};
// One repetition of the switch-rate experiment at `interval`.
SwitchRateResult switch_rate(absl::Duration interval, absl::Duration duration,
                             GilPolicy policy = GilPolicy::kNewGil);

// The convoy effect of bpo-7946: round trips per second of a thread that
// holds `gil` except in its blocking socket calls (as CPython's socket module
// releases it), echoing 16 bytes through a socket pair to a peer that never
// takes the GIL, for `duration`; with `behind_cpu_bound`, while a CPU-bound
// thread (pinned to another CPU) holds the same GIL between check points.
// Throws std::runtime_error if the socket pair fails.
double convoy(GilPolicy policy, absl::Duration interval,
              absl::Duration duration, bool behind_cpu_bound);

// Runs all three experiments `repetitions` times (shorter with `quick`) and
// returns JSON in the format of benchmarks/python/gil_experiments.py.
std::string run_all_json(int repetitions, bool quick);

}  // namespace concurrent::bench

#endif  // CONCURRENT_BENCHMARKS_GIL_EXPERIMENTS_H_
