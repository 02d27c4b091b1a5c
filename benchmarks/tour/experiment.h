// The tour's experiments and their registry. Each experiment measures one
// claim of "concurrency with futures" with this library's components, runs
// the CPython side through CPython (tour.py) when it can, and returns an
// ExperimentResult whose claim is judged by the figures just measured.
//
// To add an experiment (or rows to one): write `ExperimentResult
// run_<id>(Context&)` in its own .cc file, declare it here and list it in
// experiments() (experiment.cc) in the order the tour runs them.
//
// Thread-compatible: the tour runs one experiment at a time.

#ifndef CONCURRENT_BENCHMARKS_TOUR_EXPERIMENT_H_
#define CONCURRENT_BENCHMARKS_TOUR_EXPERIMENT_H_

#include <functional>
#include <string>
#include <vector>

#include "benchmarks/tour/cpython.h"
#include "benchmarks/tour/flags.h"
#include "benchmarks/tour/progress.h"
#include "benchmarks/tour/result.h"

namespace concurrent::tour {

struct Context {
  const TourOptions& options;  // defaults resolved (repetitions, delays)
  Progress& progress;
  const CPython& cpython;
};

struct Experiment {
  std::string id;     // used by --experiments
  std::string title;  // the seed's claim in a few words
  // The progress steps it reports (about), for these options.
  std::function<int(const TourOptions&)> steps;
  std::function<ExperimentResult(Context&)> run;
};

// Every experiment, in the order the tour runs them.
const std::vector<Experiment>& experiments();

// Fills in the defaults that depend on --quick (repetitions, delays, sizes).
void resolve_defaults(TourOptions& options);

// The experiments (experiment.cc lists them).
ExperimentResult run_io(Context& ctx);         // io_bound.cc
ExperimentResult run_cpu(Context& ctx);        // cpu_bound.cc
ExperimentResult run_gil(Context& ctx);        // handoff.cc
ExperimentResult run_futures(Context& ctx);    // two_futures.cc
ExperimentResult run_overheads(Context& ctx);  // overheads.cc

// Fills the CPython cell of each row of `table` whose config is a key of
// `figures` (a JSON object: config -> list of values, one per repetition).
// Rows without a CPython counterpart get "-"; with `figures` null (CPython did
// not run) every row gets "n/a".
void fill_cpython(Table& table, const nlohmann::json* figures);

// Runs `tour.py <args>` when CPython is available and returns its "rows"
// object, or nullptr; a failure adds one line to `result.notes`. Shows a
// progress step first.
const nlohmann::json* run_cpython(Context& ctx, std::vector<std::string> args,
                                  ExperimentResult& result,
                                  nlohmann::json& storage);

}  // namespace concurrent::tour

#endif  // CONCURRENT_BENCHMARKS_TOUR_EXPERIMENT_H_
