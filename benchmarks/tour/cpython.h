// Runs the CPython side of the tour: benchmarks/python/tour.py, whose
// subcommands run the same experiments on CPython's own concurrent.futures and
// asyncio and print one JSON document each.
//
//   CPython py = CPython::find(options, argv[0]);
//   if (py.available()) {
//     std::string error;
//     if (auto j = py.run({"cpu", "--tasks", "4"}, &error)) ... else error
//   }
//
// A missing python3 (or script) is not an error: available() is false and
// why_not() says so in one line, which the report prints once.
//
// Thread-compatible.

#ifndef CONCURRENT_BENCHMARKS_TOUR_CPYTHON_H_
#define CONCURRENT_BENCHMARKS_TOUR_CPYTHON_H_

#include <optional>
#include <string>
#include <vector>

#include "benchmarks/tour/flags.h"
#include "nlohmann/json.hpp"

namespace concurrent::tour {

class CPython {
 public:
  // Looks for the interpreter (options.python_bin) and the script (in the
  // runfiles of `argv0`, or under the working directory as `bazel run` sets
  // it).
  static CPython find(const TourOptions& options, const char* argv0);

  bool available() const { return available_; }
  // "CPython 3.11.2 (/usr/bin/python3)", or why it is not available.
  const std::string& description() const { return description_; }

  // Runs `tour.py <args>` and parses its standard output as JSON. On failure
  // returns nullopt and sets *error to one line (the script's last line of
  // standard error, or why it could not run).
  std::optional<nlohmann::json> run(const std::vector<std::string>& args,
                                    std::string* error) const;

 private:
  bool available_ = false;
  std::string description_;
  std::string python_;
  std::string script_;
};

}  // namespace concurrent::tour

#endif  // CONCURRENT_BENCHMARKS_TOUR_CPYTHON_H_
