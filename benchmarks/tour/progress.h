// The tour's progress line: which experiment, which step of how many, and the
// time so far. On a terminal it is one line rewritten in place (and erased
// before the report prints); otherwise each step is a plain line, so a log
// file or CI shows how far the tour got.
//
//   Progress progress(stdout, isatty(STDOUT_FILENO));
//   progress.begin(1, 5, "I/O-bound", 9);
//   progress.step("ThreadPoolExecutor(4), repetition 2/3");
//   progress.clear();   // before printing anything else
//
// Thread-compatible: call it from one thread.

#ifndef CONCURRENT_BENCHMARKS_TOUR_PROGRESS_H_
#define CONCURRENT_BENCHMARKS_TOUR_PROGRESS_H_

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

namespace concurrent::tour {

class Progress {
 public:
  Progress(std::FILE* out, bool terminal);

  // Starts experiment `index` of `count` (1-based), which will take about
  // `steps` calls of step().
  void begin(int index, int count, std::string_view experiment, int steps);

  // One step done or starting: shows "[i/n] experiment  k/steps  what".
  void step(std::string_view what);

  // Erases the line on a terminal (nothing otherwise). Call before printing.
  void clear();

  bool terminal() const { return terminal_; }

 private:
  std::FILE* out_;
  bool terminal_;
  bool shown_ = false;
  int index_ = 0, count_ = 0, steps_ = 0, step_ = 0;
  std::string experiment_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace concurrent::tour

#endif  // CONCURRENT_BENCHMARKS_TOUR_PROGRESS_H_
