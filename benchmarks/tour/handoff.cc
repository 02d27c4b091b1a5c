// Experiment 3: the price of the hand-off. How long an I/O-bound thread waits
// to get the GIL back from a CPU-bound one (time.sleep(0) behind a spinning
// thread) at switch intervals of 5, 1 and 0.1 ms; and the convoy effect of
// bpo-7946: echo round trips per second of a thread whose socket calls
// release the GIL, alone, behind a CPU-bound thread under the new GIL, under
// the old GIL (CPython before 3.2, for reference: bpo-7946 is a 3.2 problem),
// and under the fair policy. Both measurements are
// //benchmarks:gil_experiments' (shared with //benchmarks:gil_fidelity); the
// CPython side is benchmarks/python/gil_experiments.py's, through tour.py.

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "benchmarks/gil_experiments.h"
#include "benchmarks/tour/experiment.h"
#include "benchmarks/tour/report.h"

namespace concurrent::tour {
namespace {

constexpr double kIntervalsMs[] = {5.0, 1.0, 0.1};

std::string interval_row(double ms) {
  return absl::StrFormat("sleep(0) behind a CPU-bound thread, %g ms", ms);
}

}  // namespace

ExperimentResult run_gil(Context& ctx) {
  const TourOptions& o = ctx.options;
  ExperimentResult r;
  r.id = "gil";
  r.title = "The price of the hand-off";
  const absl::Duration convoy_time =
      o.quick ? absl::Milliseconds(200) : absl::Milliseconds(500);
  const double handoff_seconds = o.quick ? 0.1 : 0.5;
  r.setup = absl::StrFormat(
      "two threads pinned to two CPUs; hand-off: median latency of "
      "sleep(0) over about %.1f s per interval; convoy: echo through a "
      "socket pair for %s, 5 ms interval; median of %d",
      handoff_seconds, absl::FormatDuration(convoy_time), o.repetitions);

  Table handoff;
  handoff.title = "hand-off latency (new GIL), ratio to the switch interval";
  handoff.value_header = "median";
  handoff.ratio_header = "x interval";
  for (double ms : kIntervalsMs) {
    const absl::Duration interval = absl::Microseconds(ms * 1000);
    const int samples =
        std::clamp(static_cast<int>(handoff_seconds / (ms / 1000)), 20, 2000);
    std::vector<double> medians;
    for (int rep = 1; rep <= o.repetitions; ++rep) {
      ctx.progress.step(absl::StrFormat("hand-off, %g ms interval %d/%d", ms,
                                        rep, o.repetitions));
      medians.push_back(absl::ToDoubleSeconds(
          bench::handoff(interval, samples, GilPolicy::kNewGil).median));
    }
    handoff.rows.push_back(
        {interval_row(ms), Unit::kSeconds, measured(medians), {}});
  }

  Table convoy;
  convoy.title = "convoy effect (bpo-7946): echo round trips per second";
  convoy.value_header = "round trips";
  convoy.ratio_header = "vs alone";
  struct Config {
    const char* name;
    GilPolicy policy;
    bool behind;
  };
  const Config configs[] = {
      {"echo thread alone", GilPolicy::kNewGil, false},
      {"behind a CPU-bound thread, new GIL", GilPolicy::kNewGil, true},
      {"behind a CPU-bound thread, old GIL (< 3.2)", GilPolicy::kOldGil, true},
      {"behind a CPU-bound thread, fair GIL", GilPolicy::kFair, true},
  };
  for (const Config& c : configs) {
    std::vector<double> rates;
    for (int rep = 1; rep <= o.repetitions; ++rep) {
      ctx.progress.step(
          absl::StrFormat("convoy: %s %d/%d", c.name, rep, o.repetitions));
      rates.push_back(bench::convoy(c.policy, absl::Milliseconds(5),
                                    convoy_time, c.behind));
    }
    convoy.rows.push_back({c.name, Unit::kPerSecond, measured(rates), {}});
  }

  nlohmann::json storage;
  const nlohmann::json* py = run_cpython(ctx, {"gil"}, r, storage);
  fill_cpython(handoff, py);
  fill_cpython(convoy, py);
  for (size_t i = 0; i < handoff.rows.size(); ++i) {
    for (Cell* c : {&handoff.rows[i].ours, &handoff.rows[i].cpython}) {
      if (c->value) c->ratio = *c->value / (kIntervalsMs[i] / 1000);
    }
  }
  set_relative(convoy);

  // The claims: (a) behind a CPU-bound thread, an I/O-bound thread waits
  // about one switch interval for the GIL (5 and 1 ms: between 0.5 and 2
  // intervals); (b) the convoy: under the new GIL its round trips drop to a
  // few per interval (at most a fifth of its rate alone), and the fair
  // policy gives at least 5 times the new GIL's rate.
  const double r5 = *handoff.rows[0].ours.ratio;
  const double r1 = *handoff.rows[1].ours.ratio;
  const double alone = *convoy.rows[0].ours.value;
  const double newgil = *convoy.rows[1].ours.value;
  const double old_gil = *convoy.rows[2].ours.value;
  const double fair = *convoy.rows[3].ours.value;
  const bool waits = r5 >= 0.5 && r5 <= 2 && r1 >= 0.5 && r1 <= 2;
  const bool convoyed = newgil <= alone / 5 && fair >= 5 * newgil;
  r.claim.statement =
      "an I/O-bound thread pays about one switch interval per GIL hand-off "
      "behind a CPU-bound thread (the convoy of bpo-7946), a fair hand-off "
      "does not";
  r.claim.holds = waits && convoyed;
  r.claim.evidence = absl::StrCat(
      "hand-off ", format_ratio(r5), " and ", format_ratio(r1),
      " the 5 and 1 ms intervals (the bar: 0.5x to 2x); echo ",
      format_value(alone, Unit::kPerSecond), " alone, ",
      format_value(newgil, Unit::kPerSecond), " behind a CPU-bound thread ",
      "(the bar: at most a fifth), ", format_value(fair, Unit::kPerSecond),
      " with the fair GIL (the bar: 5x the new GIL's); the old GIL: ",
      format_value(old_gil, Unit::kPerSecond));
  if (convoy.rows[1].cpython.value && convoy.rows[0].cpython.value) {
    absl::StrAppend(
        &r.claim.evidence, "; CPython: ",
        format_value(*convoy.rows[0].cpython.value, Unit::kPerSecond),
        " alone, ",
        format_value(*convoy.rows[1].cpython.value, Unit::kPerSecond),
        " behind");
  }
  r.tables.push_back(std::move(handoff));
  r.tables.push_back(std::move(convoy));
  return r;
}

}  // namespace concurrent::tour
