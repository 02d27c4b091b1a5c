#include "benchmarks/tour/progress.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace concurrent::tour {

Progress::Progress(std::FILE* out, bool terminal)
    : out_(out),
      terminal_(terminal),
      start_(std::chrono::steady_clock::now()) {}

void Progress::begin(int index, int count, std::string_view experiment,
                     int steps) {
  index_ = index;
  count_ = count;
  steps_ = steps;
  step_ = 0;
  experiment_ = std::string(experiment);
}

void Progress::step(std::string_view what) {
  step_ = std::min(step_ + 1, std::max(steps_, 1));
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
          .count();
  std::string line =
      absl::StrFormat("[%d/%d] %s  %d/%d  %s  (%.1f s)", index_, count_,
                      experiment_, step_, steps_, what, elapsed);
  if (terminal_) {
    if (line.size() > 100) line.resize(100);
    // \r back to column 0, the line, then erase what an older line left.
    absl::FPrintF(out_, "\r%s\033[K", line);
    shown_ = true;
  } else {
    absl::FPrintF(out_, "tour: %s\n", line);
  }
  std::fflush(out_);
}

void Progress::clear() {
  if (terminal_ && shown_) {
    absl::FPrintF(out_, "\r\033[K");
    std::fflush(out_);
    shown_ = false;
  }
}

}  // namespace concurrent::tour
