#include "benchmarks/tour/flags.h"

#include <algorithm>
#include <functional>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"

namespace concurrent::tour {
namespace {

struct Flag {
  const char* name;
  const char* value_name;  // nullptr: a switch that takes no value
  const char* help;
  // Applies the value (or "" for a switch); returns an error or "".
  std::function<std::string(const std::string&)> apply;
};

std::function<std::string(const std::string&)> int_flag(int* target, int min,
                                                        int max) {
  return [=](const std::string& v) -> std::string {
    int n = 0;
    if (!absl::SimpleAtoi(v, &n) || n < min || n > max) {
      return absl::StrCat("wants an integer in [", min, ", ", max, "], got '",
                          v, "'");
    }
    *target = n;
    return "";
  };
}

std::vector<Flag> flags(const std::vector<std::string>& known, TourOptions& o) {
  return {
      {"quick", nullptr,
       "small sizes and one repetition: the whole tour in under 10 s",
       [&o](const std::string&) {
         o.quick = true;
         return std::string();
       }},
      {"experiments", "LIST",
       "comma-separated ids or numbers to run, in that order (default all)",
       [&o, &known](const std::string& v) -> std::string {
         o.experiments.clear();
         for (absl::string_view part : absl::StrSplit(v, ',')) {
           std::string id(part);
           int n = 0;
           if (absl::SimpleAtoi(id, &n) && n >= 1 &&
               n <= static_cast<int>(known.size())) {
             id = known[n - 1];
           }
           if (std::find(known.begin(), known.end(), id) == known.end()) {
             return absl::StrCat("unknown experiment '", part, "'");
           }
           o.experiments.push_back(id);
         }
         return "";
       }},
      {"out", "DIR",
       "where to write tour.json and tour.svg (default "
       "$TMPDIR/concurrent-tour)",
       [&o](const std::string& v) -> std::string {
         if (v.empty()) return "wants a directory";
         o.out_dir = v;
         return "";
       }},
      {"repetitions", "N",
       "repetitions of each measurement, medians reported (default 3; 1 with "
       "--quick)",
       int_flag(&o.repetitions, 1, 100)},
      {"files", "N", "experiment io: files to download (default 20)",
       int_flag(&o.files, 1, 200)},
      {"delay_ms", "MS",
       "experiment io: the server's delay per file (default 100; 20 with "
       "--quick)",
       int_flag(&o.delay_ms, 1, 10'000)},
      {"cpu_tasks", "N",
       "experiment cpu: CPU-bound tasks, an even number (default 4)",
       [&o](const std::string& v) -> std::string {
         std::string e = int_flag(&o.cpu_tasks, 2, 64)(v);
         if (e.empty() && o.cpu_tasks % 2 != 0) e = "wants an even number";
         return e;
       }},
      {"unit_ms", "MS",
       "experiment cpu: one task's time on one thread (default 100; 25 with "
       "--quick)",
       int_flag(&o.unit_ms, 1, 10'000)},
      {"python", "PATH", "the CPython to compare with (default python3)",
       [&o](const std::string& v) -> std::string {
         if (v.empty()) return "wants a path";
         o.python_bin = v;
         return "";
       }},
      {"no_python", nullptr, "skip the CPython column",
       [&o](const std::string&) {
         o.python = false;
         return std::string();
       }},
  };
}

}  // namespace

ParseResult parse_flags(int argc, const char* const* argv,
                        const std::vector<std::string>& known_experiments,
                        TourOptions& options) {
  std::vector<Flag> table = flags(known_experiments, options);
  auto error = [](std::string message) {
    return ParseResult{ParseResult::kError, std::move(message)};
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "-help") {
      return ParseResult{ParseResult::kHelp, ""};
    }
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return error(absl::StrCat("unexpected argument '", arg, "'"));
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    name = absl::StrReplaceAll(name, {{"-", "_"}});
    auto flag = std::find_if(table.begin(), table.end(),
                             [&](const Flag& f) { return name == f.name; });
    if (flag == table.end()) {
      return error(absl::StrCat("unknown flag '--", name, "'"));
    }
    if (flag->value_name == nullptr) {
      if (value) return error(absl::StrCat("--", name, " takes no value"));
      value = "";
    } else if (!value) {
      if (i + 1 >= argc) {
        return error(absl::StrCat("--", name, " wants a value"));
      }
      value = argv[++i];
    }
    if (std::string e = flag->apply(*value); !e.empty()) {
      return error(absl::StrCat("--", name, ": ", e));
    }
  }
  return ParseResult{};
}

std::string usage(const std::vector<std::string>& experiments) {
  TourOptions unused;
  const std::vector<std::string> no_ids;
  std::string out =
      "Usage: tour [flags]\n"
      "\n"
      "Runs the experiments behind \"concurrency with futures\" with this\n"
      "library (and CPython's concurrent.futures/asyncio where python3 is\n"
      "installed), prints a report, and writes tour.json and tour.svg.\n"
      "\n"
      "Flags:\n";
  for (const Flag& f : flags(no_ids, unused)) {
    std::string left = absl::StrCat("  --", f.name);
    if (f.value_name != nullptr) absl::StrAppend(&left, "=", f.value_name);
    if (left.size() < 22) left.resize(22, ' ');
    absl::StrAppend(&out, left, " ", f.help, "\n");
  }
  absl::StrAppend(&out,
                  "  --help                 this message\n\nExperiments:\n");
  for (size_t i = 0; i < experiments.size(); ++i) {
    absl::StrAppend(&out, "  ", i + 1, ". ", experiments[i], "\n");
  }
  absl::StrAppend(&out,
                  "\nExit status: 0 when every experiment ran, 1 when one "
                  "failed, 2 on a bad flag.\n");
  return out;
}

}  // namespace concurrent::tour
