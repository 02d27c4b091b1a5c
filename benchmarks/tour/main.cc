// The tour: the experiments behind "concurrency with futures", run with this
// library's components beside CPython's own, in one report.
//
//   ./bazelw run -c opt //benchmarks:tour                 # about a minute
//   ./bazelw run -c opt //benchmarks:tour -- --quick      # under 10 s
//   ./bazelw run -c opt //benchmarks:tour -- --help
//
// Prints a progress line while it works, then each experiment's section as it
// finishes, and writes tour.json (every figure, the machine) and tour.svg (the
// ratios as bars) to --out (default $TMPDIR/concurrent-tour). docs/tour.md
// explains each experiment and shows a run.
//
// Exit status: 0 if every experiment ran, 1 if one failed (its section says
// why; the others still run), 2 on a bad flag.

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmarks/machine.h"
#include "benchmarks/tour/cpython.h"
#include "benchmarks/tour/experiment.h"
#include "benchmarks/tour/flags.h"
#include "benchmarks/tour/json_output.h"
#include "benchmarks/tour/plot.h"
#include "benchmarks/tour/progress.h"
#include "benchmarks/tour/report.h"
#include "ipc/process_pool_executor.h"

namespace concurrent::tour {
namespace {

// --out, made absolute against the directory `bazel run` was called from.
std::string out_directory(const TourOptions& o) {
  std::string dir = o.out_dir;
  if (dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    dir = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                       "/concurrent-tour");
  } else if (dir[0] != '/') {
    if (const char* wd = std::getenv("BUILD_WORKING_DIRECTORY")) {
      dir = absl::StrCat(wd, "/", dir);
    }
  }
  return dir;
}

// Writes `text` to `path`; returns an error line or "".
std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  f.close();
  return f ? ""
           : absl::StrCat("cannot write ", path, ": ", std::strerror(errno));
}

int tour_main(int argc, char** argv) {
  std::vector<std::string> ids, listing;
  for (const Experiment& e : experiments()) {
    ids.push_back(e.id);
    listing.push_back(absl::StrCat(e.id, ": ", e.title));
  }
  TourOptions options;
  const ParseResult parsed = parse_flags(argc, argv, ids, options);
  if (parsed.status == ParseResult::kHelp) {
    std::fputs(usage(listing).c_str(), stdout);
    return 0;
  }
  if (parsed.status == ParseResult::kError) {
    std::fprintf(stderr, "tour: %s\n\n%s", parsed.error.c_str(),
                 usage(listing).c_str());
    return 2;
  }
  resolve_defaults(options);
  if (options.experiments.empty()) options.experiments = ids;
  const std::string out_dir = out_directory(options);
  if (mkdir(out_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::fprintf(stderr, "tour: cannot create %s: %s\n", out_dir.c_str(),
                 std::strerror(errno));
    return 1;
  }

  const bench::Machine machine = bench::this_machine();
  const CPython cpython = CPython::find(options, argv[0]);
  std::fputs(report_header(machine, cpython.description()).c_str(), stdout);
  std::fflush(stdout);

  Progress progress(stdout, isatty(STDOUT_FILENO) == 1);
  Context ctx{options, progress, cpython};
  std::vector<ExperimentResult> results;
  const int count = static_cast<int>(options.experiments.size());
  const auto tour_start = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    const Experiment* e = nullptr;
    for (const Experiment& x : experiments()) {
      if (x.id == options.experiments[i]) e = &x;
    }
    progress.begin(i + 1, count, e->title, e->steps(options));
    const auto start = std::chrono::steady_clock::now();
    ExperimentResult r;
    try {
      r = e->run(ctx);
    } catch (const std::exception& ex) {
      r = ExperimentResult{};
      r.error = ex.what();
    }
    r.id = e->id;
    r.title = e->title;
    r.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    progress.clear();
    std::fputs(report_section(i + 1, r).c_str(), stdout);
    std::fflush(stdout);
    results.push_back(std::move(r));
  }
  const double total = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - tour_start)
                           .count();

  int failed = 0, holds = 0, judged = 0;
  for (const ExperimentResult& r : results) {
    failed += !r.error.empty();
    if (r.claim.holds) {
      ++judged;
      holds += *r.claim.holds;
    }
  }
  const std::string json_path = out_dir + "/tour.json";
  const std::string svg_path = out_dir + "/tour.svg";
  const std::string subtitle = absl::StrFormat(
      "%s, %d CPUs, %s, %s; CPython: %s", machine.cpu_model, machine.cpus,
      machine.kernel, machine.date, cpython.description());
  std::string json_error = write_file(
      json_path, tour_json(machine, options, cpython.description(), results));
  std::string svg_error = write_file(svg_path, tour_svg(results, subtitle));
  std::printf(
      "\n%d experiment(s) in %.1f s: the claim holds in %d of %d judged%s.\n",
      count, total, holds, judged,
      failed ? absl::StrCat(", ", failed, " failed").c_str() : "");
  std::printf("JSON: %s\n",
              json_error.empty() ? json_path.c_str() : json_error.c_str());
  std::printf("plot: %s\n",
              svg_error.empty() ? svg_path.c_str() : svg_error.c_str());
  return failed || !json_error.empty() || !svg_error.empty() ? 1 : 0;
}

}  // namespace
}  // namespace concurrent::tour

int main(int argc, char** argv) {
  // Experiments 2 and 5 start process pools: their workers fork from a
  // server forked now, while this program has one thread.
  concurrent::ProcessPoolExecutor::start_fork_server();
  return concurrent::tour::tour_main(argc, argv);
}
