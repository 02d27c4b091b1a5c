// Experiment 5: overheads, as ratios in the same run. The future round trip
// (create, set, result on one thread) against std::future and boost::future,
// and the submit -> result latency of an idle 2-worker pool against
// boost::asio::thread_pool with std::future. The workloads are the Google
// Benchmark functions of //benchmarks:futures and //benchmarks:executors
// (linked in, selected by name, run here with a reporter that collects every
// repetition); and the round trip and 20,000-task throughput of
// ProcessPoolExecutor(2) (benchmarks/process_pool_benchmark.cc). CPython's
// figures come from tour.py (concurrent.futures' Future and
// ThreadPoolExecutor, and its ProcessPoolExecutor).
//
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "benchmarks/tour/experiment.h"
#include "benchmarks/tour/report.h"

namespace concurrent::tour {
namespace {

// Collects the real time per iteration (seconds) of each repetition of each
// benchmark, by name; shows a progress step per benchmark.
class Collector : public benchmark::BenchmarkReporter {
 public:
  explicit Collector(Progress& progress) : progress_(progress) {}

  bool ReportContext(const Context&) override { return true; }

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const std::string name = run.run_name.function_name;
      if (run.error_occurred) {
        errors_[name] = run.error_message;
        continue;
      }
      if (run.run_type != Run::RT_Iteration) continue;
      seconds_[name].push_back(run.GetAdjustedRealTime() /
                               benchmark::GetTimeUnitMultiplier(run.time_unit));
      progress_.step(name);
    }
  }

  std::vector<double> runs(const std::string& name) const {
    auto it = seconds_.find(name);
    return it == seconds_.end() ? std::vector<double>{} : it->second;
  }
  std::string error(const std::string& name) const {
    auto it = errors_.find(name);
    return it == errors_.end() ? "not run" : it->second;
  }

 private:
  Progress& progress_;
  std::map<std::string, std::vector<double>> seconds_;
  std::map<std::string, std::string> errors_;
};

Row benchmark_row(const Collector& c, std::string config,
                  const std::string& name) {
  Row row{std::move(config), Unit::kSeconds, measured(c.runs(name)), {}};
  if (!row.ours.value) row.ours.missing = c.error(name);
  return row;
}

}  // namespace

ExperimentResult run_overheads(Context& ctx) {
  const TourOptions& o = ctx.options;
  ExperimentResult r;
  r.id = "overheads";
  r.title = "Overheads, as ratios in the same run";
  const double min_time = o.quick ? 0.02 : 0.2;
  r.setup = absl::StrFormat(
      "Google Benchmark workloads of //benchmarks:futures, "
      "//benchmarks:executors and process_pool_benchmark.cc, min time %g s, "
      "%d repetitions, medians",
      min_time, o.repetitions);

  // Google Benchmark reads its settings from flags; give it ours only.
  static bool initialized = false;
  if (!initialized) {
    std::vector<std::string> args = {
        "tour", absl::StrCat("--benchmark_min_time=", min_time),
        absl::StrCat("--benchmark_repetitions=", o.repetitions)};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    int argc = static_cast<int>(argv.size());
    benchmark::Initialize(&argc, argv.data());
    initialized = true;
  }
  const int tasks = o.quick ? 1'000 : 20'000;
  const std::string throughput =
      absl::StrCat("ProcessThroughput", tasks / 1000, "k/concurrent");
  Collector collector(ctx.progress);
  benchmark::RunSpecifiedBenchmarks(
      &collector, absl::StrCat("^((RoundTrip|Latency)/(concurrent|std_future|"
                               "boost_future|asio_future)|"
                               "ProcessLatency/concurrent|",
                               throughput, ")(/|$)"));

  Table rt;
  rt.title = "future round trip: create, set a value, result(), one thread";
  rt.value_header = "time";
  rt.ratio_header = "vs ours";
  rt.rows.push_back(benchmark_row(collector, "Future", "RoundTrip/concurrent"));
  rt.rows.push_back(
      benchmark_row(collector, "std::future", "RoundTrip/std_future"));
  rt.rows.push_back(
      benchmark_row(collector, "boost::future (v5)", "RoundTrip/boost_future"));

  Table lat;
  lat.title = "submit -> result() on an idle pool of 2 workers";
  lat.value_header = "time";
  lat.ratio_header = "vs ours";
  lat.rows.push_back(
      benchmark_row(collector, "ThreadPoolExecutor", "Latency/concurrent"));
  lat.rows.push_back(benchmark_row(collector,
                                   "boost::asio::thread_pool + std::future",
                                   "Latency/asio_future"));

  Table proc;
  proc.title = "process pool of 2 workers";
  proc.value_header = "time or rate";
  proc.ratio_header = "vs ours";
  proc.rows.push_back(benchmark_row(collector,
                                    "ProcessPoolExecutor submit -> result",
                                    "ProcessLatency/concurrent"));
  // The benchmark times one batch of `tasks`: the rate is tasks / time.
  Row rate = benchmark_row(
      collector,
      absl::StrFormat("ProcessPoolExecutor, %dk tasks: throughput",
                      tasks / 1000),
      throughput);
  rate.unit = Unit::kPerSecond;
  if (rate.ours.value) {
    for (double& x : rate.ours.runs) x = tasks / x;
    rate.ours = measured(std::move(rate.ours.runs));
  }
  proc.rows.push_back(std::move(rate));

  nlohmann::json storage;
  const nlohmann::json* py = run_cpython(
      ctx, {"overheads", "--tasks", std::to_string(tasks)}, r, storage);
  fill_cpython(rt, py);
  fill_cpython(lat, py);
  fill_cpython(proc, py);
  set_relative(rt);
  set_relative(lat);
  // CPython's ratio column: its time against ours for the same operation.
  for (Table* t : {&rt, &lat}) {
    Row& first = t->rows.front();
    if (first.cpython.value && first.ours.value) {
      first.cpython.ratio = *first.cpython.value / *first.ours.value;
    }
    for (size_t i = 1; i < t->rows.size(); ++i)
      t->rows[i].cpython.ratio.reset();
  }
  // The process pool's rows are ours beside CPython's only: CPython's cost
  // as a multiple of ours (its time over ours; our rate over its rate).
  for (Row& row : proc.rows) {
    if (!row.ours.value) continue;
    row.ours.ratio = 1;
    if (!row.cpython.value) continue;
    row.cpython.ratio = row.unit == Unit::kPerSecond
                            ? *row.ours.value / *row.cpython.value
                            : *row.cpython.value / *row.ours.value;
  }

  // The claim of issues 3 and 4: a Future round trip costs at most a third
  // of std::future's and less than Boost's; submit -> result is no slower
  // than asio's pool.
  r.claim.statement =
      "our futures and pool cost less than the C++ peers (round trip at most "
      "1/3 of std::future's, below Boost's; latency no higher than asio's), "
      "and our process pool less than CPython's";
  const auto& std_ratio = rt.rows[1].ours.ratio;
  const auto& boost_ratio = rt.rows[2].ours.ratio;
  const auto& asio_ratio = lat.rows[1].ours.ratio;
  if (std_ratio && boost_ratio && asio_ratio) {
    r.claim.holds = *std_ratio >= 3 && *boost_ratio > 1 && *asio_ratio >= 1;
    r.claim.evidence = absl::StrCat(
        "std::future took ", format_ratio(*std_ratio), ", boost::future ",
        format_ratio(*boost_ratio), " and asio's pool ",
        format_ratio(*asio_ratio), " our time");
  } else {
    r.claim.evidence = "a benchmark did not run";
  }
  if (rt.rows[0].cpython.ratio && lat.rows[0].cpython.ratio) {
    absl::StrAppend(&r.claim.evidence, "; CPython's Future and pool: ",
                    format_ratio(*rt.rows[0].cpython.ratio), " and ",
                    format_ratio(*lat.rows[0].cpython.ratio), " our time");
  }
  // The process pool: ours against CPython's ProcessPoolExecutor, when both
  // were measured (else it is reported, not judged).
  const Row& proc_latency = proc.rows[0];
  const Row& proc_rate = proc.rows[1];
  if (!proc_latency.ours.value || !proc_rate.ours.value) {
    r.claim.holds = false;
    absl::StrAppend(&r.claim.evidence, "; a process-pool benchmark failed (",
                    proc_latency.ours.missing, proc_rate.ours.missing, ")");
  } else if (proc_latency.cpython.ratio && proc_rate.cpython.ratio) {
    if (r.claim.holds == true) {  // else it stays as judged above
      r.claim.holds =
          *proc_latency.cpython.ratio > 1 && *proc_rate.cpython.ratio > 1;
    }
    absl::StrAppend(
        &r.claim.evidence, "; process pool: round trip ",
        format_value(*proc_latency.ours.value, Unit::kSeconds), ", ",
        format_value(*proc_rate.ours.value, Unit::kPerSecond),
        " tasks; CPython's ProcessPoolExecutor took ",
        format_ratio(*proc_latency.cpython.ratio), " our round-trip time and ",
        format_ratio(*proc_rate.cpython.ratio), " our time per task");
  } else {
    absl::StrAppend(&r.claim.evidence, "; process pool: round trip ",
                    format_value(*proc_latency.ours.value, Unit::kSeconds),
                    ", ", format_value(*proc_rate.ours.value, Unit::kPerSecond),
                    " tasks (CPython's not measured)");
  }
  r.tables.push_back(std::move(rt));
  r.tables.push_back(std::move(lat));
  r.tables.push_back(std::move(proc));
  return r;
}

}  // namespace concurrent::tour
