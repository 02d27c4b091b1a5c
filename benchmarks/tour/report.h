// The tour's text report: a header with the machine, then one section per
// experiment (its tables, ours beside CPython's, its notes, and the line that
// says whether the seed's claim holds by the numbers just measured).
//
// Thread-compatible: pure functions of their arguments.

#ifndef CONCURRENT_BENCHMARKS_TOUR_REPORT_H_
#define CONCURRENT_BENCHMARKS_TOUR_REPORT_H_

#include <string>
#include <vector>

#include "benchmarks/machine.h"
#include "benchmarks/tour/result.h"

namespace concurrent::tour {

// "2.03 s", "512 ms", "38.1 us", "33 ns".
std::string format_duration(double seconds);
// A value of `unit`: a duration, or a rate ("12.3k/s").
std::string format_value(double value, Unit unit);
// "3.98x".
std::string format_ratio(double ratio);

// Splits `text` into lines of at most `width` characters at spaces (a word
// longer than `width` gets a line of its own).
std::vector<std::string> wrap(const std::string& text, size_t width);

// The report's first lines: what runs, on which machine, with which CPython.
std::string report_header(const bench::Machine& machine,
                          const std::string& cpython);

// One experiment's section; `number` is its place in the tour (1-based).
std::string report_section(int number, const ExperimentResult& result);

}  // namespace concurrent::tour

#endif  // CONCURRENT_BENCHMARKS_TOUR_REPORT_H_
