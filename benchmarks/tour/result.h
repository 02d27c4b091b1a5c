// What an experiment of the tour produces: tables of measured rows (ours
// beside CPython's), the seed's claim judged by those numbers, and free-form
// notes. The report (report.h), the JSON file (json_output.h) and the plot
// (plot.h) are all drawn from these structures and nothing else.
//
// Thread-compatible plain data.

#ifndef CONCURRENT_BENCHMARKS_TOUR_RESULT_H_
#define CONCURRENT_BENCHMARKS_TOUR_RESULT_H_

#include <optional>
#include <string>
#include <vector>

namespace concurrent::tour {

// How a row's value reads.
enum class Unit {
  kSeconds,    // a duration (printed as s, ms, us or ns)
  kPerSecond,  // a rate (printed as "12.3k/s")
};

// One measured quantity on one side (ours or CPython's).
struct Cell {
  std::optional<double> value;  // median of `runs`; empty: not measured
  std::optional<double> ratio;  // see Table::ratio_header
  std::vector<double> runs;     // every repetition
  std::string missing;          // why `value` is empty ("not available ...")
};

struct Row {
  std::string config;  // "ThreadPoolExecutor(4), GIL"
  Unit unit = Unit::kSeconds;
  Cell ours;
  Cell cpython;
  // For a row not available in this build: the component it needs
  // ("concurrent::aio"); the report names it under the table.
  std::string needs = {};
};

struct Table {
  std::string title;         // "" for an experiment's only table
  std::string value_header;  // "wall time"
  std::string ratio_header;  // "speedup": how Cell::ratio was computed
  std::vector<Row> rows;
};

// The seed's claim as checked by the numbers of this run.
struct Claim {
  std::string statement;      // the seed's words, shortened
  std::optional<bool> holds;  // empty: the run cannot tell (said in evidence)
  std::string evidence;       // the computed sentence with the figures
};

struct ExperimentResult {
  std::string id;     // "io"
  std::string title;  // "Threads are great at doing nothing (I/O-bound)"
  std::string setup;  // one line: sizes and repetitions used
  std::vector<Table> tables;
  std::vector<std::string> notes;  // lines shown under the tables
  Claim claim;
  std::string error;   // non-empty if the experiment failed (then no tables)
  double seconds = 0;  // how long the experiment took, ours and CPython's
};

// The text used for rows whose component is not in this build yet.
inline constexpr char kNotAvailable[] = "not available in this build";

// A cell holding `runs` and their median.
Cell measured(std::vector<double> runs);

// A row that is measured only once the named component lands; `needs` says
// which ("concurrent::aio"). Its CPython cell may still be measured.
Row unavailable_row(std::string config, std::string needs,
                    Unit unit = Unit::kSeconds);

// Speedups against `baseline` (the median time of the first row, usually
// "sequential"): sets ratio = baseline / value for each measured cell of
// `table`, per side, using that side's first row.
void set_speedups(Table& table);

// Ratios to the first row: ratio = value / first row's value, per side (a
// rate against its baseline, or a cost against ours).
void set_relative(Table& table);

}  // namespace concurrent::tour

#endif  // CONCURRENT_BENCHMARKS_TOUR_RESULT_H_
