// The tour's plot: an SVG file with one panel per table of ratios (speedups,
// or costs relative to a baseline), ours and CPython's bars side by side per
// configuration, each panel on its own linear scale with the 1x line drawn.
//
// Why a small SVG writer and not gnuplot: the plot is grouped bars with
// labels, about 150 lines here; gnuplot would need a Debian package for every
// user, a data file and a script generated per run, a child process, and a
// fallback when it is missing. SVG opens in any browser, diffs as text, and
// this writer has no failure mode but the file write.
//
// Thread-compatible: a pure function.

#ifndef CONCURRENT_BENCHMARKS_TOUR_PLOT_H_
#define CONCURRENT_BENCHMARKS_TOUR_PLOT_H_

#include <string>
#include <vector>

#include "benchmarks/tour/result.h"

namespace concurrent::tour {

// The SVG document for `results` (tables with fewer than two ratios are
// left out);
// `subtitle` goes under the title (the machine and date).
std::string tour_svg(const std::vector<ExperimentResult>& results,
                     const std::string& subtitle);

}  // namespace concurrent::tour

#endif  // CONCURRENT_BENCHMARKS_TOUR_PLOT_H_
