// Runs the GIL experiments of issue 5 with our GIL and with CPython in one go
// and prints them side by side (CPython's script formats the table):
//
//   ./bazelw run -c opt //benchmarks:gil_fidelity -- --repetitions=5
//
// Flags: --repetitions=N (default 5), --quick (shorter runs), --no_python
// (ours only, JSON on stdout), --python=PATH (default python3), --out=DIR
// (where to write ours.json and cpython.json; default a temporary directory).
// The repetitions alternate, one of ours and one of CPython's, so that both
// see the same load on a shared machine.
// The hand-off and switch-rate experiments pin their two threads to the first
// two CPUs the process may use, in both implementations.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "benchmarks/gil_experiments.h"

int main(int argc, char** argv) {
  int repetitions = 5;
  bool quick = false, python = true;
  std::string python_bin = "python3", out_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (absl::StartsWith(arg, "--repetitions=")) {
      if (!absl::SimpleAtoi(arg.substr(14), &repetitions) || repetitions < 1) {
        std::cerr << "gil_fidelity: bad " << arg << "\n";
        return 2;
      }
    } else if (arg == "--quick") {
      quick = true;
    } else if (arg == "--no_python") {
      python = false;
    } else if (absl::StartsWith(arg, "--python=")) {
      python_bin = arg.substr(9);
    } else if (absl::StartsWith(arg, "--out=")) {
      out_dir = arg.substr(6);
    } else {
      std::cerr << "gil_fidelity: unknown flag " << arg
                << "\nflags: --repetitions=N --quick --no_python "
                   "--python=PATH --out=DIR\n";
      return 2;
    }
  }
  if (!python) {
    std::cout << concurrent::bench::run_all_json(repetitions, quick);
    return 0;
  }
  if (out_dir.empty()) {
    char tmpl[] = "/tmp/gil_fidelity.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    out_dir = tmpl;
  }
  if (mkdir(out_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::perror(out_dir.c_str());
    return 1;
  }
  // bazel run: the working directory is the runfiles tree of this workspace;
  // run directly, the script is in the binary's runfiles (or the source tree).
  std::string script = "benchmarks/python/gil_experiments.py";
  if (access(script.c_str(), R_OK) != 0) {
    script = absl::StrCat(argv[0], ".runfiles/concurrent/", script);
  }
  // The script alternates one repetition of ours (this binary, --no_python)
  // and one of CPython's, so that both see the same machine load.
  const std::string cmd = absl::StrCat(
      python_bin, " ", script, " --repetitions ", repetitions,
      quick ? " --quick" : "", " --ours-cmd '", argv[0], " --no_python'",
      " --save-ours ", out_dir, "/ours.json --save ", out_dir, "/cpython.json");
  std::cout << "$ " << cmd << "\n" << std::flush;
  const int rc = std::system(cmd.c_str());
  std::cout << "Results (JSON): " << out_dir << "/ours.json, " << out_dir
            << "/cpython.json\n";
  return rc == 0 ? 0 : 1;
}
