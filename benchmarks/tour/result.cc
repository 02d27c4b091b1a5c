#include "benchmarks/tour/result.h"

#include <utility>

#include "benchmarks/machine.h"

namespace concurrent::tour {

Cell measured(std::vector<double> runs) {
  Cell cell;
  if (!runs.empty()) cell.value = bench::median(runs);
  cell.runs = std::move(runs);
  return cell;
}

Row unavailable_row(std::string config, std::string needs, Unit unit) {
  Row row;
  row.config = std::move(config);
  row.unit = unit;
  row.ours.missing = kNotAvailable;
  row.needs = std::move(needs);
  return row;
}

namespace {

// ratio = first / value (speedup) or value / first, per side.
void set_ratios(Table& table, bool speedup) {
  if (table.rows.empty()) return;
  for (Cell Row::*side : {&Row::ours, &Row::cpython}) {
    const std::optional<double> base = (table.rows.front().*side).value;
    if (!base || *base <= 0) continue;
    for (Row& row : table.rows) {
      Cell& cell = row.*side;
      if (cell.value && *cell.value > 0) {
        cell.ratio = speedup ? *base / *cell.value : *cell.value / *base;
      }
    }
  }
}

}  // namespace

void set_speedups(Table& table) { set_ratios(table, /*speedup=*/true); }

void set_relative(Table& table) { set_ratios(table, /*speedup=*/false); }

}  // namespace concurrent::tour
