#include "benchmarks/tour/report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace concurrent::tour {
namespace {

// The width that setup and claim lines wrap at (tables may be wider).
constexpr size_t kWidth = 88;

std::string cell_value(const Cell& cell, Unit unit) {
  if (cell.value) return format_value(*cell.value, unit);
  return cell.missing.empty() ? "-" : cell.missing;
}

std::string cell_ratio(const Cell& cell) {
  return cell.ratio ? format_ratio(*cell.ratio) : "";
}

std::string render_table(const Table& table) {
  std::vector<std::vector<std::string>> cells;
  cells.push_back({"configuration", table.value_header, table.ratio_header,
                   "CPython", table.ratio_header});
  for (const Row& row : table.rows) {
    std::vector<std::string> line = {row.config, cell_value(row.ours, row.unit),
                                     cell_ratio(row.ours)};
    line.push_back(cell_value(row.cpython, row.unit));
    line.push_back(cell_ratio(row.cpython));
    cells.push_back(std::move(line));
  }
  std::vector<size_t> width(5, 0);
  for (const auto& line : cells) {
    for (size_t c = 0; c < 5; ++c)
      width[c] = std::max(width[c], line[c].size());
  }
  std::string out;
  for (size_t r = 0; r < cells.size(); ++r) {
    std::string line = "   ";
    for (size_t c = 0; c < 5; ++c) {
      std::string text = cells[r][c];
      const size_t w = width[c];
      if (c == 0) {
        absl::StrAppend(&line, text, std::string(w - text.size(), ' '));
      } else {
        absl::StrAppend(&line, std::string(w - text.size(), ' '), text);
      }
      absl::StrAppend(&line, c == 2 ? "    " : "  ");
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    absl::StrAppend(&out, line, "\n");
    if (r == 0) {
      std::string rule = "   ";
      for (size_t c = 0; c < 5; ++c) {
        absl::StrAppend(&rule, std::string(width[c], '-'),
                        c == 2 ? "    " : "  ");
      }
      while (!rule.empty() && rule.back() == ' ') rule.pop_back();
      absl::StrAppend(&out, rule, "\n");
    }
  }
  std::vector<std::string> needs;
  for (const Row& row : table.rows) {
    if (!row.needs.empty() &&
        std::find(needs.begin(), needs.end(), row.needs) == needs.end()) {
      needs.push_back(row.needs);
    }
  }
  for (const std::string& n : needs) {
    absl::StrAppend(&out, "   (", kNotAvailable, ": needs ", n, ")\n");
  }
  return out;
}

}  // namespace

std::vector<std::string> wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      lines.push_back(line);
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

std::string format_duration(double s) {
  const double a = std::fabs(s);
  if (a >= 1) return absl::StrFormat("%.2f s", s);
  if (a >= 1e-3) return absl::StrFormat("%.3g ms", s * 1e3);
  if (a >= 1e-6) return absl::StrFormat("%.3g us", s * 1e6);
  return absl::StrFormat("%.3g ns", s * 1e9);
}

std::string format_value(double value, Unit unit) {
  switch (unit) {
    case Unit::kSeconds:
      return format_duration(value);
    case Unit::kPerSecond:
      if (value >= 1e6) return absl::StrFormat("%.3gM/s", value / 1e6);
      if (value >= 1e4) return absl::StrFormat("%.3gk/s", value / 1e3);
      return absl::StrFormat("%.0f/s", value);
  }
  return "";
}

std::string format_ratio(double ratio) {
  if (ratio >= 100) return absl::StrFormat("%.0fx", ratio);
  if (ratio >= 10) return absl::StrFormat("%.1fx", ratio);
  return absl::StrFormat("%.2fx", ratio);
}

std::string report_header(const bench::Machine& m, const std::string& cpython) {
  std::string load =
      m.load_average >= 0
          ? absl::StrFormat(", load average %.2f", m.load_average)
          : "";
  std::string out =
      absl::StrCat("concurrent: the tour of \"concurrency with futures\"\n",
                   "machine: ", m.cpu_model, ", ", m.cpus, " CPUs (",
                   m.usable_cpus, " usable), ", m.kernel, "; ", m.date, load,
                   "\n", "CPython: ", cpython, "\n");
  if (m.usable_cpus > 0 && m.load_average > m.usable_cpus) {
    absl::StrAppend(
        &out,
        absl::StrFormat("warning: the load average (%.1f) exceeds the %d "
                        "CPUs: other processes compete for them, so the "
                        "timings and verdicts below are not representative\n",
                        m.load_average, m.usable_cpus));
  }
  return out;
}

std::string report_section(int number, const ExperimentResult& r) {
  std::string out = absl::StrCat("\n", number, ". ", r.title, "\n");
  for (const std::string& line : wrap(r.setup, kWidth)) {
    absl::StrAppend(&out, "   ", line, "\n");
  }
  if (!r.error.empty()) {
    absl::StrAppend(&out, "   FAILED: ", r.error, "\n");
    return out;
  }
  for (const Table& table : r.tables) {
    if (!table.title.empty()) absl::StrAppend(&out, "   ", table.title, "\n");
    absl::StrAppend(&out, render_table(table));
  }
  for (const std::string& note : r.notes) {
    absl::StrAppend(&out, "   ", note, "\n");
  }
  const char* verdict = !r.claim.holds.has_value() ? "cannot tell"
                        : *r.claim.holds           ? "holds"
                                                   : "does not hold";
  const std::vector<std::string> head =
      wrap(absl::StrCat(r.claim.statement, ": ", verdict, "."), kWidth - 3);
  for (size_t i = 0; i < head.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "   => " : "      ", head[i], "\n");
  }
  for (const std::string& line : wrap(r.claim.evidence, kWidth - 3)) {
    absl::StrAppend(&out, "      ", line, "\n");
  }
  return out;
}

}  // namespace concurrent::tour
