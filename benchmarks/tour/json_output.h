// The tour's JSON file: every figure of the report (each repetition too), the
// verdicts, and the machine, so that a run can be compared with another
// without parsing text. Shape (format_version 1):
//
//   {"format_version": 1, "tool": "concurrent tour",
//    "machine": {"cpu_model", "cpus", "usable_cpus", "kernel", "date",
//                "load_average"},
//    "options": {...}, "cpython": "CPython 3.11.2" | "<why not>",
//    "experiments": [{"id", "title", "setup", "seconds", "error",
//      "claim": {"statement", "holds": true|false|null, "evidence"},
//      "notes": [...],
//      "tables": [{"title", "value_header", "ratio_header",
//        "rows": [{"config", "unit": "s"|"1/s",
//          "ours": {"value", "ratio", "runs", "missing"},
//          "cpython": {...}}]}]}]}
//
// A value or ratio that was not measured is null, and "missing" says why.
//
// Thread-compatible.

#ifndef CONCURRENT_BENCHMARKS_TOUR_JSON_OUTPUT_H_
#define CONCURRENT_BENCHMARKS_TOUR_JSON_OUTPUT_H_

#include <string>
#include <vector>

#include "benchmarks/machine.h"
#include "benchmarks/tour/flags.h"
#include "benchmarks/tour/result.h"

namespace concurrent::tour {

// The JSON document (pretty-printed, ends with a newline).
std::string tour_json(const bench::Machine& machine, const TourOptions& options,
                      const std::string& cpython,
                      const std::vector<ExperimentResult>& results);

}  // namespace concurrent::tour

#endif  // CONCURRENT_BENCHMARKS_TOUR_JSON_OUTPUT_H_
