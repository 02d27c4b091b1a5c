#include "benchmarks/tour/experiment.h"

#include "absl/strings/str_cat.h"

namespace concurrent::tour {

const std::vector<Experiment>& experiments() {
  static const std::vector<Experiment> all = {
      {"io", "Threads are great at doing nothing (I/O-bound)",
       [](const TourOptions& o) { return 5 * o.repetitions + 1; }, run_io},
      {"cpu", "The GIL and CPU-bound work",
       [](const TourOptions& o) { return 5 * o.repetitions + 2; }, run_cpu},
      {"gil", "The price of the hand-off",
       [](const TourOptions& o) { return 7 * o.repetitions + 1; }, run_gil},
      {"futures", "Two futures",
       [](const TourOptions& o) { return o.repetitions + 3; }, run_futures},
      {"overheads", "Overheads, as ratios in the same run",
       [](const TourOptions& o) { return 7 * o.repetitions + 1; },
       run_overheads},
  };
  return all;
}

void resolve_defaults(TourOptions& o) {
  if (o.repetitions == 0) o.repetitions = o.quick ? 1 : 3;
  if (o.delay_ms == 0) o.delay_ms = o.quick ? 20 : 100;
  if (o.unit_ms == 0) o.unit_ms = o.quick ? 25 : 100;
}

void fill_cpython(Table& table, const nlohmann::json* figures) {
  for (Row& row : table.rows) {
    if (figures == nullptr) {
      row.cpython.missing = "n/a";
      continue;
    }
    if (!figures->is_object() || !figures->contains(row.config)) {
      row.cpython.missing = "-";
      continue;
    }
    const nlohmann::json& v = (*figures)[row.config];
    std::vector<double> runs;
    if (v.is_array()) {
      for (const auto& x : v) {
        if (x.is_number()) runs.push_back(x.get<double>());
      }
    }
    row.cpython = measured(std::move(runs));
    if (!row.cpython.value) row.cpython.missing = "no figure";
  }
}

const nlohmann::json* run_cpython(Context& ctx, std::vector<std::string> args,
                                  ExperimentResult& result,
                                  nlohmann::json& storage) {
  if (!ctx.cpython.available()) return nullptr;
  ctx.progress.step("CPython");
  args.push_back("--repetitions");
  args.push_back(std::to_string(ctx.options.repetitions));
  if (ctx.options.quick) args.push_back("--quick");
  std::string error;
  std::optional<nlohmann::json> j = ctx.cpython.run(args, &error);
  if (!j || !j->contains("rows")) {
    result.notes.push_back(
        absl::StrCat("CPython: ", j ? "tour.py printed no \"rows\"" : error));
    return nullptr;
  }
  storage = std::move(*j);
  return &storage["rows"];
}

}  // namespace concurrent::tour
