#include "benchmarks/tour/plot.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "benchmarks/tour/report.h"

namespace concurrent::tour {
namespace {

constexpr double kWidth = 960;
constexpr double kPanelHeight = 250;
constexpr double kLeft = 60, kRight = 20, kPanelTop = 34, kPanelBottom = 64;
constexpr char kOurs[] = "#4e79a7";
constexpr char kCPython[] = "#f28e2b";

std::string escape(const std::string& s) {
  return absl::StrReplaceAll(
      s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

// A step of 1, 2 or 5 times a power of ten giving about four ticks to `top`.
double tick_step(double top) {
  const double raw = top / 4;
  const double p = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

void bar(std::string& svg, double x, double w, double y0, double scale,
         const std::optional<double>& ratio, const char* color) {
  if (!ratio) {
    absl::StrAppend(&svg, absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" "
                                          "class=\"na\">n/a</text>\n",
                                          x + w / 2, y0 - 4));
    return;
  }
  const double h = *ratio * scale;
  absl::StrAppend(
      &svg,
      absl::StrFormat("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                      "height=\"%.1f\" fill=\"%s\"/>\n",
                      x, y0 - h, w, h, color),
      absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" class=\"v\">%s</text>\n",
                      x + w / 2, y0 - h - 3, format_ratio(*ratio)));
}

void panel(std::string& svg, double top, const std::string& title,
           const Table& table) {
  const double y0 = top + kPanelHeight - kPanelBottom;  // the zero line
  const double plot_h = kPanelHeight - kPanelTop - kPanelBottom;
  const double plot_w = kWidth - kLeft - kRight;
  double max_ratio = 1;
  for (const Row& row : table.rows) {
    for (const Cell* c : {&row.ours, &row.cpython}) {
      if (c->ratio) max_ratio = std::max(max_ratio, *c->ratio);
    }
  }
  const double step = tick_step(max_ratio * 1.15);
  const double y_top = std::ceil(max_ratio * 1.15 / step) * step;
  const double scale = plot_h / y_top;
  absl::StrAppend(&svg,
                  absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" class=\"t\">"
                                  "%s</text>\n",
                                  kLeft, top + 20, escape(title)));
  for (double t = 0; t <= y_top + step / 2; t += step) {
    const double y = y0 - t * scale;
    absl::StrAppend(
        &svg,
        absl::StrFormat("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                        "y2=\"%.1f\" class=\"grid\"/>\n",
                        kLeft, y, kWidth - kRight, y),
        absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%gx"
                        "</text>\n",
                        kLeft - 6, y + 4, t));
  }
  absl::StrAppend(
      &svg, absl::StrFormat("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                            "y2=\"%.1f\" class=\"one\"/>\n",
                            kLeft, y0 - scale, kWidth - kRight, y0 - scale));
  const double group = plot_w / static_cast<double>(table.rows.size());
  const double bar_w = std::min(group * 0.32, 60.0);
  for (size_t i = 0; i < table.rows.size(); ++i) {
    const Row& row = table.rows[i];
    const double cx = kLeft + group * (static_cast<double>(i) + 0.5);
    bar(svg, cx - bar_w - 1, bar_w, y0, scale, row.ours.ratio, kOurs);
    bar(svg, cx + 1, bar_w, y0, scale, row.cpython.ratio, kCPython);
    const auto chars = static_cast<size_t>(std::max(8.0, group / 6.5));
    double y = y0 + 14;
    for (const std::string& line : wrap(row.config, chars)) {
      absl::StrAppend(
          &svg, absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" class=\"x\">%s"
                                "</text>\n",
                                cx, y, escape(line)));
      y += 12;
    }
  }
}

}  // namespace

std::string tour_svg(const std::vector<ExperimentResult>& results,
                     const std::string& subtitle) {
  std::vector<std::pair<std::string, const Table*>> panels;
  for (size_t e = 0; e < results.size(); ++e) {
    for (const Table& t : results[e].tables) {
      // A panel compares: it needs two bars at least.
      const auto bars =
          std::count_if(t.rows.begin(), t.rows.end(),
                        [](const Row& r) { return r.ours.ratio.has_value(); }) +
          std::count_if(t.rows.begin(), t.rows.end(), [](const Row& r) {
            return r.cpython.ratio.has_value();
          });
      if (bars < 2) continue;
      std::string title = absl::StrCat(results[e].title);
      if (!t.title.empty()) absl::StrAppend(&title, ": ", t.title);
      absl::StrAppend(&title, " (", t.ratio_header, ")");
      panels.emplace_back(std::move(title), &t);
    }
  }
  const double header = 56;
  const double height =
      header +
      kPanelHeight * static_cast<double>(std::max<size_t>(panels.size(), 1));
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
      "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
      "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
      kWidth, height, kWidth, height);
  absl::StrAppend(
      &svg,
      "<style>\n"
      "  .t { font-size: 14px; font-weight: bold; }\n"
      "  .s { font-size: 12px; fill: #555; }\n"
      "  .tick { font-size: 11px; text-anchor: end; fill: #555; }\n"
      "  .x { font-size: 11px; text-anchor: middle; }\n"
      "  .v { font-size: 10px; text-anchor: middle; }\n"
      "  .na { font-size: 10px; text-anchor: middle; fill: #999; }\n"
      "  .grid { stroke: #ddd; stroke-width: 1; }\n"
      "  .one { stroke: #888; stroke-width: 1; stroke-dasharray: 4 3; }\n"
      "</style>\n",
      "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
  absl::StrAppend(
      &svg,
      "<text x=\"20\" y=\"22\" class=\"t\">concurrent: the tour of "
      "\"concurrency with futures\"</text>\n",
      absl::StrFormat("<text x=\"20\" y=\"40\" class=\"s\">%s</text>\n",
                      escape(subtitle)),
      absl::StrFormat("<rect x=\"%.0f\" y=\"12\" width=\"12\" height=\"12\" "
                      "fill=\"%s\"/><text x=\"%.0f\" y=\"22\" class=\"s\">"
                      "ours (C++)</text>\n",
                      kWidth - 240, kOurs, kWidth - 224),
      absl::StrFormat("<rect x=\"%.0f\" y=\"12\" width=\"12\" height=\"12\" "
                      "fill=\"%s\"/><text x=\"%.0f\" y=\"22\" class=\"s\">"
                      "CPython</text>\n",
                      kWidth - 130, kCPython, kWidth - 114));
  if (panels.empty()) {
    absl::StrAppend(&svg,
                    "<text x=\"20\" y=\"90\" class=\"s\">no ratios were "
                    "measured in this run</text>\n");
  }
  for (size_t i = 0; i < panels.size(); ++i) {
    panel(svg, header + kPanelHeight * static_cast<double>(i), panels[i].first,
          *panels[i].second);
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

}  // namespace concurrent::tour
