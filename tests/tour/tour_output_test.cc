// The tour's flags, text report, JSON file and SVG plot, on made-up results:
// nothing here measures anything.

#include <string>
#include <vector>

#include "benchmarks/tour/flags.h"
#include "benchmarks/tour/json_output.h"
#include "benchmarks/tour/plot.h"
#include "benchmarks/tour/report.h"
#include "benchmarks/tour/result.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace concurrent::tour {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<std::string> kIds = {"io", "cpu", "gil"};

ParseResult parse(std::vector<const char*> args, TourOptions& o) {
  args.insert(args.begin(), "tour");
  return parse_flags(static_cast<int>(args.size()), args.data(), kIds, o);
}

TEST(Flags, Defaults) {
  TourOptions o;
  EXPECT_EQ(parse({}, o).status, ParseResult::kRun);
  EXPECT_TRUE(o.experiments.empty());
  EXPECT_FALSE(o.quick);
  EXPECT_TRUE(o.python);
}

TEST(Flags, ValuesWithEqualsOrSeparateAndDashes) {
  TourOptions o;
  ASSERT_EQ(parse({"--quick", "--experiments=gil,1", "--out", "/x",
                   "--delay-ms=7", "--repetitions", "2", "--no_python"},
                  o)
                .status,
            ParseResult::kRun);
  EXPECT_TRUE(o.quick);
  EXPECT_EQ(o.experiments, (std::vector<std::string>{"gil", "io"}));
  EXPECT_EQ(o.out_dir, "/x");
  EXPECT_EQ(o.delay_ms, 7);
  EXPECT_EQ(o.repetitions, 2);
  EXPECT_FALSE(o.python);
}

TEST(Flags, Help) {
  TourOptions o;
  EXPECT_EQ(parse({"--quick", "--help"}, o).status, ParseResult::kHelp);
  EXPECT_EQ(parse({"-h"}, o).status, ParseResult::kHelp);
}

TEST(Flags, ErrorsSayWhat) {
  struct Case {
    std::vector<const char*> args;
    std::string message;
  };
  const Case cases[] = {
      {{"--bogus"}, "unknown flag '--bogus'"},
      {{"--experiments=io,nope"}, "unknown experiment 'nope'"},
      {{"--experiments=4"}, "unknown experiment '4'"},
      {{"--repetitions=0"}, "--repetitions: wants an integer in [1, 100]"},
      {{"--files=many"}, "got 'many'"},
      {{"--cpu_tasks=5"}, "--cpu_tasks: wants an even number"},
      {{"--quick=yes"}, "--quick takes no value"},
      {{"--out"}, "--out wants a value"},
      {{"--out="}, "--out: wants a directory"},
      {{"stray"}, "unexpected argument 'stray'"},
      {{"--"}, "unexpected argument '--'"},
  };
  for (const Case& c : cases) {
    TourOptions o;
    const ParseResult r = parse(c.args, o);
    EXPECT_EQ(r.status, ParseResult::kError) << c.args[0];
    EXPECT_THAT(r.error, HasSubstr(c.message)) << c.args[0];
  }
}

TEST(Flags, UsageListsFlagsAndExperiments) {
  const std::string u = usage({"io: I/O", "cpu: CPU"});
  EXPECT_THAT(u, HasSubstr("Usage: tour"));
  for (const char* f : {"--quick", "--experiments=LIST", "--out=DIR",
                        "--repetitions=N", "--no_python", "--help"}) {
    EXPECT_THAT(u, HasSubstr(f));
  }
  EXPECT_THAT(u, HasSubstr("  1. io: I/O\n  2. cpu: CPU\n"));
  EXPECT_THAT(u, HasSubstr("2 on a bad flag"));
}

ExperimentResult sample() {
  ExperimentResult r;
  r.id = "io";
  r.title = "Threads & <GIL>";
  r.setup = "20 files";
  Table t;
  t.value_header = "wall time";
  t.ratio_header = "speedup";
  t.rows.push_back({"sequential", Unit::kSeconds, measured({2.0, 2.2, 2.1}),
                    measured({2.5})});
  t.rows.push_back({"pool(4)", Unit::kSeconds, measured({0.5}), measured({})});
  t.rows.back().cpython.missing = "n/a";
  t.rows.push_back(unavailable_row("aio", "concurrent::aio"));
  set_speedups(t);
  r.tables.push_back(t);
  r.claim = {"threads help", true, "4.2x"};
  return r;
}

TEST(Result, SpeedupsPerSideAgainstTheFirstRow) {
  const ExperimentResult r = sample();
  const Table& t = r.tables[0];
  EXPECT_DOUBLE_EQ(*t.rows[0].ours.value, 2.1);  // the median
  EXPECT_DOUBLE_EQ(*t.rows[0].ours.ratio, 1.0);
  EXPECT_DOUBLE_EQ(*t.rows[1].ours.ratio, 2.1 / 0.5);
  EXPECT_DOUBLE_EQ(*t.rows[0].cpython.ratio, 1.0);
  EXPECT_FALSE(t.rows[1].cpython.ratio.has_value());
  EXPECT_FALSE(t.rows[2].ours.value.has_value());
  EXPECT_EQ(t.rows[2].ours.missing, kNotAvailable);
  EXPECT_EQ(t.rows[2].needs, "concurrent::aio");
}

TEST(Report, Wrap) {
  EXPECT_EQ(wrap("a bb ccc dddd", 6),
            (std::vector<std::string>{"a bb", "ccc", "dddd"}));
  EXPECT_EQ(wrap("  spaced   out ", 80),
            (std::vector<std::string>{"spaced out"}));
  EXPECT_EQ(wrap("toolongword x", 4),
            (std::vector<std::string>{"toolongword", "x"}));
  EXPECT_TRUE(wrap("", 10).empty());
}

TEST(Report, HeaderWarnsWhenTheMachineIsLoaded) {
  bench::Machine m{.cpu_model = "cpu",
                   .cpus = 2,
                   .usable_cpus = 2,
                   .kernel = "Linux",
                   .date = "today",
                   .load_average = 0.5};
  EXPECT_THAT(
      report_header(m, "CPython 3.11"),
      AllOf(HasSubstr("cpu, 2 CPUs (2 usable), Linux; today"),
            HasSubstr("CPython: CPython 3.11"), Not(HasSubstr("warning"))));
  m.load_average = 7.5;
  EXPECT_THAT(report_header(m, ""),
              HasSubstr("warning: the load average (7.5) exceeds the 2 CPUs"));
}

TEST(Report, Formats) {
  EXPECT_EQ(format_duration(2.034), "2.03 s");
  EXPECT_EQ(format_duration(0.512), "512 ms");
  EXPECT_EQ(format_duration(38.1e-6), "38.1 us");
  EXPECT_EQ(format_duration(33e-9), "33 ns");
  EXPECT_EQ(format_value(12345, Unit::kPerSecond), "12.3k/s");
  EXPECT_EQ(format_value(180, Unit::kPerSecond), "180/s");
  EXPECT_EQ(format_ratio(3.984), "3.98x");
  EXPECT_EQ(format_ratio(19.46), "19.5x");
}

TEST(Report, SectionHasTableUnavailableRowsAndVerdict) {
  const std::string s = report_section(1, sample());
  EXPECT_THAT(s, HasSubstr("1. Threads & <GIL>\n   20 files\n"));
  EXPECT_THAT(s, HasSubstr("configuration"));
  EXPECT_THAT(s, HasSubstr("2.10 s"));
  EXPECT_THAT(s, HasSubstr("4.20x"));
  EXPECT_THAT(s,
              HasSubstr("\n   aio            not available in this build  "));
  EXPECT_THAT(s, HasSubstr("needs concurrent::aio"));
  EXPECT_THAT(s, HasSubstr("   => threads help: holds.\n      4.2x\n"));

  ExperimentResult unknown = sample();
  unknown.claim.holds.reset();
  EXPECT_THAT(report_section(1, unknown), HasSubstr(": cannot tell."));
  unknown.claim.holds = false;
  EXPECT_THAT(report_section(1, unknown), HasSubstr(": does not hold."));

  ExperimentResult failed;
  failed.title = "x";
  failed.error = "boom";
  EXPECT_THAT(report_section(2, failed), HasSubstr("FAILED: boom"));
}

TEST(Json, ShapeAndNulls) {
  bench::Machine m{.cpu_model = "cpu",
                   .cpus = 2,
                   .usable_cpus = 2,
                   .kernel = "Linux",
                   .date = "today",
                   .load_average = 0.5};
  TourOptions o;
  o.repetitions = 3;
  const nlohmann::json j =
      nlohmann::json::parse(tour_json(m, o, "CPython 3.11", {sample()}));
  EXPECT_EQ(j["format_version"], 1);
  EXPECT_EQ(j["machine"]["cpus"], 2);
  EXPECT_EQ(j["machine"]["kernel"], "Linux");
  EXPECT_EQ(j["cpython"], "CPython 3.11");
  const auto& e = j["experiments"][0];
  EXPECT_EQ(e["id"], "io");
  EXPECT_EQ(e["claim"]["holds"], true);
  const auto& rows = e["tables"][0]["rows"];
  EXPECT_EQ(rows[0]["ours"]["runs"].size(), 3u);
  EXPECT_DOUBLE_EQ(rows[0]["ours"]["value"].get<double>(), 2.1);
  EXPECT_TRUE(rows[1]["cpython"]["value"].is_null());
  EXPECT_EQ(rows[1]["cpython"]["missing"], "n/a");
  EXPECT_TRUE(rows[2]["ours"]["ratio"].is_null());
  EXPECT_EQ(rows[2]["needs"], "concurrent::aio");
  EXPECT_EQ(rows[2]["unit"], "s");
}

TEST(Plot, PanelsBarsAndEscaping) {
  const std::string svg = tour_svg({sample()}, "machine & date");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("</svg>\n"));
  EXPECT_THAT(svg, HasSubstr("Threads &amp; &lt;GIL&gt; (speedup)"));
  EXPECT_THAT(svg, HasSubstr("machine &amp; date"));
  EXPECT_THAT(svg, Not(HasSubstr("& ")));
  EXPECT_THAT(svg, HasSubstr(">4.20x</text>"));
  EXPECT_THAT(svg, HasSubstr(">n/a</text>"));  // the unavailable row

  ExperimentResult no_ratio;
  no_ratio.tables.push_back(Table{});
  EXPECT_THAT(tour_svg({no_ratio}, ""), HasSubstr("no ratios"));
}

}  // namespace
}  // namespace concurrent::tour
