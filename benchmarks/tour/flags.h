// The tour's command line: which experiments, their sizes, where to write.
//
//   tour [--quick] [--experiments=io,cpu,...] [--out=DIR] [--repetitions=N]
//        [--files=N] [--delay_ms=N] [--cpu_tasks=N] [--unit_ms=N]
//        [--python=PATH | --no_python] [--help]
//
// A small table-driven parser rather than absl/flags: Debian 12's Abseil
// (20220623) exits with status 1 on an unknown flag and on --help, and its
// --help lists every flag linked into the binary; the tour promises a usage
// message and status 2 on a bad flag, 0 on --help, and a usage of its own
// flags only. Flags are `--name=value` or `--name value`; `-` and `_` are the
// same inside a name.
//
// Thread-compatible.

#ifndef CONCURRENT_BENCHMARKS_TOUR_FLAGS_H_
#define CONCURRENT_BENCHMARKS_TOUR_FLAGS_H_

#include <string>
#include <vector>

namespace concurrent::tour {

struct TourOptions {
  // Experiment ids in the order given; empty means all, in registry order.
  std::vector<std::string> experiments;
  bool quick = false;   // smaller sizes, one repetition: under 10 s
  std::string out_dir;  // empty: $TMPDIR/concurrent-tour (or /tmp/...)
  int repetitions = 0;  // 0: 3, or 1 with --quick
  int files = 20;       // experiment 1: files to download
  int delay_ms = 0;     // experiment 1: server delay; 0: 100, 20 with --quick
  int cpu_tasks = 4;    // experiment 2: CPU-bound tasks (even)
  int unit_ms = 0;      // experiment 2: one task's time; 0: 100, 25 quick
  bool python = true;   // run CPython's side where python3 exists
  std::string python_bin = "python3";
};

struct ParseResult {
  enum Status { kRun, kHelp, kError };
  Status status = kRun;
  std::string error;  // for kError: what was wrong, one line
};

// Parses argv[1..argc) into `options` (ids are checked against
// `known_experiments`, which also accepts their 1-based numbers).
ParseResult parse_flags(int argc, const char* const* argv,
                        const std::vector<std::string>& known_experiments,
                        TourOptions& options);

// The usage message (ends with a newline). `experiments` lines are
// "id: title" and are listed under --experiments.
std::string usage(const std::vector<std::string>& experiments);

}  // namespace concurrent::tour

#endif  // CONCURRENT_BENCHMARKS_TOUR_FLAGS_H_
