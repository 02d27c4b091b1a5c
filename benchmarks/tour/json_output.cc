#include "benchmarks/tour/json_output.h"

#include "nlohmann/json.hpp"

namespace concurrent::tour {
namespace {

using Json = nlohmann::ordered_json;

Json optional_number(const std::optional<double>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json cell_json(const Cell& c) {
  Json j;
  j["value"] = optional_number(c.value);
  j["ratio"] = optional_number(c.ratio);
  j["runs"] = c.runs;
  j["missing"] = c.missing;
  return j;
}

}  // namespace

std::string tour_json(const bench::Machine& m, const TourOptions& o,
                      const std::string& cpython,
                      const std::vector<ExperimentResult>& results) {
  Json doc;
  doc["format_version"] = 1;
  doc["tool"] = "concurrent tour (//benchmarks:tour)";
  doc["machine"] = {{"cpu_model", m.cpu_model},
                    {"cpus", m.cpus},
                    {"usable_cpus", m.usable_cpus},
                    {"kernel", m.kernel},
                    {"date", m.date},
                    {"load_average", m.load_average}};
  doc["options"] = {{"quick", o.quick},
                    {"repetitions", o.repetitions},
                    {"files", o.files},
                    {"delay_ms", o.delay_ms},
                    {"cpu_tasks", o.cpu_tasks},
                    {"unit_ms", o.unit_ms},
                    {"python", o.python ? o.python_bin : ""}};
  doc["cpython"] = cpython;
  Json experiments = Json::array();
  for (const ExperimentResult& r : results) {
    Json e;
    e["id"] = r.id;
    e["title"] = r.title;
    e["setup"] = r.setup;
    e["seconds"] = r.seconds;
    e["error"] = r.error;
    e["claim"] = {
        {"statement", r.claim.statement},
        {"holds", r.claim.holds ? Json(*r.claim.holds) : Json(nullptr)},
        {"evidence", r.claim.evidence}};
    e["notes"] = r.notes;
    Json tables = Json::array();
    for (const Table& t : r.tables) {
      Json rows = Json::array();
      for (const Row& row : t.rows) {
        rows.push_back({{"config", row.config},
                        {"unit", row.unit == Unit::kSeconds ? "s" : "1/s"},
                        {"ours", cell_json(row.ours)},
                        {"needs", row.needs},
                        {"cpython", cell_json(row.cpython)}});
      }
      tables.push_back({{"title", t.title},
                        {"value_header", t.value_header},
                        {"ratio_header", t.ratio_header},
                        {"rows", std::move(rows)}});
    }
    e["tables"] = std::move(tables);
    experiments.push_back(std::move(e));
  }
  doc["experiments"] = std::move(experiments);
  return doc.dump(1) + "\n";
}

}  // namespace concurrent::tour
