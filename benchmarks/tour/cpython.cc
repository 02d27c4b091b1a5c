#include "benchmarks/tour/cpython.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace concurrent::tour {
namespace {

constexpr char kScript[] = "benchmarks/python/tour.py";

std::string quote(const std::string& s) {
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'");
}

// Runs `command` with sh, returns its exit status (-1 if it could not run)
// and its standard output in *out.
int run_command(const std::string& command, std::string* out) {
  std::FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  const int status = pclose(p);
  if (status == -1) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string last_line(const std::string& text) {
  std::string last;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StripAsciiWhitespace(line).empty()) last = std::string(line);
  }
  return last;
}

}  // namespace

CPython CPython::find(const TourOptions& options, const char* argv0) {
  CPython py;
  if (!options.python) {
    py.description_ = "skipped (--no_python): the CPython column is empty";
    return py;
  }
  py.script_ = kScript;
  if (access(py.script_.c_str(), R_OK) != 0) {
    py.script_ = absl::StrCat(argv0, ".runfiles/concurrent/", kScript);
  }
  if (access(py.script_.c_str(), R_OK) != 0) {
    py.description_ = absl::StrCat("not run: ", kScript,
                                   " not found beside the binary; the CPython "
                                   "column is empty");
    return py;
  }
  std::string version;
  const int rc = run_command(
      absl::StrCat(quote(options.python_bin),
                   " -c 'import sys, platform; print(platform."
                   "python_implementation(), platform.python_version(), "
                   "sys.executable)' 2>/dev/null"),
      &version);
  version = std::string(absl::StripAsciiWhitespace(version));
  if (rc != 0 || version.empty()) {
    py.description_ = absl::StrCat(
        options.python_bin,
        " not found: the CPython column is empty (apt-get install python3 "
        "to fill it)");
    return py;
  }
  // "CPython 3.11.2 /usr/bin/python3" -> "CPython 3.11.2 (/usr/bin/python3)"
  std::vector<std::string> parts =
      absl::StrSplit(version, absl::MaxSplits(' ', 2));
  py.description_ = parts.size() == 3 ? absl::StrCat(parts[0], " ", parts[1],
                                                     " (", parts[2], ")")
                                      : version;
  py.python_ = options.python_bin;
  py.available_ = true;
  return py;
}

std::optional<nlohmann::json> CPython::run(const std::vector<std::string>& args,
                                           std::string* error) const {
  if (!available_) {
    *error = description_;
    return std::nullopt;
  }
  char err_path[] = "/tmp/tour-python-stderr.XXXXXX";
  const int fd = mkstemp(err_path);
  if (fd < 0) {
    *error = "cannot create a temporary file for python's stderr";
    return std::nullopt;
  }
  close(fd);
  std::string command = absl::StrCat(quote(python_), " ", quote(script_));
  for (const std::string& a : args) absl::StrAppend(&command, " ", quote(a));
  absl::StrAppend(&command, " 2>", quote(err_path));
  std::string out;
  const int rc = run_command(command, &out);
  std::string err;
  {
    std::ifstream f(err_path);
    std::stringstream ss;
    ss << f.rdbuf();
    err = ss.str();
  }
  unlink(err_path);
  if (rc != 0) {
    *error = absl::StrCat("tour.py ", args.empty() ? "" : args[0],
                          " failed (status ", rc, "): ", last_line(err));
    return std::nullopt;
  }
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded()) {
    *error = absl::StrCat("tour.py ", args.empty() ? "" : args[0],
                          " printed no JSON: ", last_line(out));
    return std::nullopt;
  }
  return j;
}

}  // namespace concurrent::tour
