#include "cajal/io/report.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>

#include "cajal/core/error.h"
#include "cajal/io/atomic_file.h"
#include "cajal/io/png.h"
#include "cajal/io/svg_plot.h"

namespace cajal {

namespace {

constexpr int kExampleSize = 84;  // the longer side of a misclassified image on the page, in CSS pixels

constexpr const char* kStyle = R"(
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; color: #222; margin: 24px auto; max-width: 1240px; padding: 0 16px; }
h1 { font-size: 26px; margin: 0 0 12px; }
h2 { font-size: 19px; margin: 28px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; }
.run-info th { text-align: left; font-weight: normal; color: #666; padding: 3px 18px 3px 0; }
.run-info td { font-weight: bold; padding: 3px 0; }
.charts, .classes { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.chart { background: #fff; border: 1px solid #e5e5e5; border-radius: 4px; }
.confusion th, .confusion td { font-size: 12px; }
.confusion .col-label { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; padding: 4px 2px; font-weight: normal; }
.confusion .row-label { text-align: right; padding-right: 8px; font-weight: normal; white-space: nowrap; }
.confusion .axis { color: #666; font-weight: normal; font-size: 12px; }
.cm-cell { width: 46px; height: 34px; text-align: center; border: 1px solid #fff; }
.metrics th, .metrics td { padding: 4px 12px; border-bottom: 1px solid #eee; text-align: right; font-size: 13px; }
.metrics th:first-child, .metrics td:first-child { text-align: left; }
.examples { display: flex; flex-wrap: wrap; gap: 12px; }
.example { margin: 0; padding: 6px; border: 1px solid #e5e5e5; border-radius: 4px; text-align: center; font-size: 12px; }
.example img { image-rendering: pixelated; display: block; margin: 0 auto 4px; background: #000; }
.example .true { color: #1a7f37; display: block; }
.example .pred { color: #c62828; display: block; }
.warning { background: #fff4e5; border-left: 4px solid #e65100; padding: 8px 12px; color: #8a3b00; font-weight: bold; }
.figures { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.figure { margin: 0; text-align: center; font-size: 12px; color: #444; }
.figure img { image-rendering: pixelated; display: block; margin: 0 auto 4px; border: 1px solid #e5e5e5; }
)";

// The colour of a heat-map cell holding `fraction` (0 to 1) of its row: white to dark blue,
// interpolated between the stops of ColorBrewer's "Blues" scale.
std::string heat_colour(double fraction) {
  static constexpr std::array<std::array<int, 3>, 9> kBlues = {{{247, 251, 255}, {222, 235, 247}, {198, 219, 239},
                                                                {158, 202, 225}, {107, 174, 214}, {66, 146, 198},
                                                                {33, 113, 181},  {8, 81, 156},    {8, 48, 107}}};
  double pos = std::clamp(fraction, 0.0, 1.0) * (kBlues.size() - 1);
  size_t i = std::min(static_cast<size_t>(pos), kBlues.size() - 2);
  double t = pos - i;
  char buf[8];
  int rgb[3];
  for (int c = 0; c < 3; ++c) rgb[c] = static_cast<int>(std::lround(kBlues[i][c] + t * (kBlues[i + 1][c] - kBlues[i][c])));
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return buf;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string class_label(const ReportData& data, int64_t k) {
  return k < static_cast<int64_t>(data.class_names.size()) ? data.class_names[k] : std::to_string(k);
}

void check_sizes(const ReportData& data) {
  int64_t k = static_cast<int64_t>(data.class_names.size());
  if (!data.confusion.empty()) {
    CAJAL_CHECK(static_cast<int64_t>(data.confusion.size()) == k, ValueError, "write_report: the confusion matrix has ",
                data.confusion.size(), " rows for ", k, " class names");
    for (size_t t = 0; t < data.confusion.size(); ++t) {
      CAJAL_CHECK(static_cast<int64_t>(data.confusion[t].size()) == k, ValueError, "write_report: confusion matrix row ", t,
                  " has ", data.confusion[t].size(), " entries for ", k, " classes");
      for (size_t p = 0; p < data.confusion[t].size(); ++p)
        CAJAL_CHECK(data.confusion[t][p] >= 0, ValueError, "write_report: confusion matrix entry [", t, "][", p, "] is negative (",
                    data.confusion[t][p], ")");
    }
  }
  CAJAL_CHECK(data.class_metrics.empty() || static_cast<int64_t>(data.class_metrics.size()) == k, ValueError,
              "write_report: ", data.class_metrics.size(), " per-class metrics for ", k, " class names");
  CAJAL_CHECK(data.roc_false_positive_rate.size() == data.roc_true_positive_rate.size(), ValueError, "write_report: ",
              data.roc_false_positive_rate.size(), " false positive rates for ", data.roc_true_positive_rate.size(),
              " true positive rates");
  for (const std::vector<double>* rates : {&data.roc_false_positive_rate, &data.roc_true_positive_rate})
    for (size_t i = 0; i < rates->size(); ++i)
      CAJAL_CHECK((*rates)[i] >= 0 && (*rates)[i] <= 1, ValueError, "write_report: ROC point ", i, " has a rate of ", (*rates)[i],
                  ", outside [0, 1]");
  for (const ReportTable& table : data.tables)
    for (size_t r = 0; r < table.rows.size(); ++r)
      CAJAL_CHECK(table.rows[r].size() == table.columns.size(), ValueError, "write_report: table '", table.title, "' row ", r,
                  " has ", table.rows[r].size(), " cells for ", table.columns.size(), " columns");
  for (size_t i = 0; i < data.misclassified.size(); ++i) {
    const ReportExample& e = data.misclassified[i];
    CAJAL_CHECK(e.channels == 1 || e.channels == 3, ValueError, "write_report: misclassified example ", i, ": channels must be 1 or 3, got ",
                e.channels);
    CAJAL_CHECK(e.height >= 1 && e.width >= 1 && static_cast<int64_t>(e.pixels.size()) == e.height * e.width * e.channels, ValueError,
                "write_report: misclassified example ", i, ": ", e.pixels.size(), " pixel bytes for a ", e.height, " x ", e.width, " x ",
                e.channels, " image");
    for (int64_t label : {e.true_class, e.predicted_class})
      CAJAL_CHECK(label >= 0 && (k == 0 || label < k), ValueError, "write_report: misclassified example ", i, ": class ", label,
                  " is out of range for ", k, " classes");
  }
}

std::string run_info_html(const ReportData& data) {
  if (data.run_info.empty()) return "";
  std::string html = "<table class=\"run-info\">\n";
  for (const auto& [key, value] : data.run_info)
    html += "<tr><th>" + html_escape(key) + "</th><td>" + html_escape(value) + "</td></tr>\n";
  return html + "</table>\n";
}

// The chart of one metric: a series per history column "<name>_<metric>" or "<metric>".
LinePlot history_plot(const ReportData& data, const std::string& metric) {
  const std::string suffix = "_" + metric;
  LinePlot plot{.title = metric, .x_label = "epoch", .y_label = metric, .series = {}};
  if (!plot.title.empty()) plot.title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(plot.title[0])));
  for (size_t r = 0; r < data.history.size(); ++r) {
    double x = static_cast<double>(r + 1);
    for (const auto& [key, value] : data.history[r])
      if (key == "epoch") x = value;
    for (const auto& [key, value] : data.history[r]) {
      bool matches = key == metric || (key.size() > suffix.size() && key.ends_with(suffix));
      if (!matches) continue;
      std::string name = key == metric ? metric : key.substr(0, key.size() - suffix.size());
      auto it = std::find_if(plot.series.begin(), plot.series.end(), [&](const PlotSeries& s) { return s.name == name; });
      if (it == plot.series.end()) it = plot.series.insert(it, PlotSeries{.name = name, .x = {}, .y = {}});
      it->x.push_back(x);
      it->y.push_back(value);
    }
  }
  // Beside "val_loss", the bare "loss" column is the training loss.
  for (PlotSeries& s : plot.series)
    if (s.name == metric && plot.series.size() > 1) s.name = "train";
  return plot;
}

std::string charts_html(const ReportData& data) {
  std::string charts;
  for (const std::string& metric : data.chart_metrics) {
    LinePlot plot = history_plot(data, metric);
    if (!plot.series.empty()) charts += svg_line_plot(plot);
  }
  return charts.empty() ? "" : "<h2>Training history</h2>\n<div class=\"charts\">\n" + charts + "</div>\n";
}

std::string confusion_html(const ReportData& data) {
  if (data.confusion.empty()) return "";
  size_t k = data.class_names.size();
  std::string html = "<table class=\"confusion\">\n<tr><th class=\"axis\">true \\ predicted</th>";
  for (const std::string& name : data.class_names) html += "<th class=\"col-label\">" + html_escape(name) + "</th>";
  html += "</tr>\n";
  for (size_t t = 0; t < k; ++t) {
    int64_t row_total = 0;
    for (int64_t n : data.confusion[t]) row_total += n;
    html += "<tr><th class=\"row-label\">" + html_escape(data.class_names[t]) + "</th>";
    for (size_t p = 0; p < k; ++p) {
      int64_t n = data.confusion[t][p];
      double fraction = row_total > 0 ? static_cast<double>(n) / row_total : 0.0;
      html += "<td class=\"cm-cell\" data-true=\"" + std::to_string(t) + "\" data-pred=\"" + std::to_string(p) +
              "\" style=\"background:" + heat_colour(fraction) + ";color:" + (fraction > 0.5 ? "#fff" : "#222") + "\" title=\"true " +
              html_escape(data.class_names[t]) + ", predicted " + html_escape(data.class_names[p]) + ": " + std::to_string(n) + " (" +
              fixed(100 * fraction, 1) + "% of the class)\">" + std::to_string(n) + "</td>";
    }
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

std::string class_metrics_html(const ReportData& data) {
  if (data.class_metrics.empty()) return "";
  std::string html = "<table class=\"metrics\">\n<tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>\n";
  for (size_t c = 0; c < data.class_metrics.size(); ++c) {
    const ClassMetrics& m = data.class_metrics[c];
    html += "<tr class=\"class-row\"><td>" + html_escape(data.class_names[c]) + "</td><td>" + fixed(m.precision, 4) + "</td><td>" +
            fixed(m.recall, 4) + "</td><td>" + fixed(m.f1, 4) + "</td><td>" + std::to_string(m.support) + "</td></tr>\n";
  }
  return html + "</table>\n";
}

// The ROC curve beside the diagonal of guessing, with the area in the title.
std::string roc_html(const ReportData& data) {
  if (data.roc_false_positive_rate.empty()) return "";
  LinePlot plot{.title = "ROC curve (AUC " + fixed(data.roc_auc, 4) + ")",
                .x_label = "false positive rate",
                .y_label = "true positive rate",
                .series = {{.name = "model", .x = data.roc_false_positive_rate, .y = data.roc_true_positive_rate},
                           {.name = "chance", .x = {0, 1}, .y = {0, 1}}}};
  return "<h2>ROC curve on the test set</h2>\n<div class=\"charts\">\n" + svg_line_plot(plot, 560, 420) + "</div>\n";
}

std::string examples_html(const ReportData& data) {
  if (data.misclassified.empty()) return "";
  std::string html = "<h2>Misclassified test images</h2>\n<div class=\"examples\">\n";
  for (const ReportExample& e : data.misclassified) {
    // Small images are scaled up by a whole factor, so their pixels stay square and sharp.
    int64_t scale = std::max<int64_t>(1, kExampleSize / std::max(e.height, e.width));
    std::string truth = class_label(data, e.true_class), predicted = class_label(data, e.predicted_class);
    if (std::isfinite(e.confidence)) predicted += " (" + fixed(100 * e.confidence, 0) + "%)";
    html += "<figure class=\"example\"><img src=\"" + png_data_uri(e.pixels, e.height, e.width, e.channels) + "\" width=\"" +
            std::to_string(e.width * scale) + "\" height=\"" + std::to_string(e.height * scale) + "\" alt=\"true " + html_escape(truth) +
            ", predicted " + html_escape(predicted) + "\"><figcaption><span class=\"true\">true: " + html_escape(truth) +
            "</span><span class=\"pred\">pred: " + html_escape(predicted) + "</span></figcaption></figure>\n";
  }
  return html + "</div>\n";
}

std::string warnings_html(const ReportData& data) {
  std::string html;
  for (const std::string& warning : data.warnings) html += "<p class=\"warning\">&#9888; " + html_escape(warning) + "</p>\n";
  return html;
}

std::string figures_html(const ReportData& data) {
  std::string html;
  for (const ReportFigure& figure : data.figures) {
    if (figure.images.empty()) continue;
    html += "<h2>" + html_escape(figure.title) + "</h2>\n";
    if (!figure.description.empty()) html += "<p class=\"description\">" + html_escape(figure.description) + "</p>\n";
    html += "<div class=\"figures\">\n";
    for (const ReportImage& image : figure.images) {
      html += "<figure class=\"figure\"><img src=\"" + png_data_uri(image.pixels, image.height, image.width, image.channels) +
              "\" width=\"" + std::to_string(image.width * figure.scale) + "\" height=\"" + std::to_string(image.height * figure.scale) +
              "\" alt=\"" + html_escape(image.caption) + "\"><figcaption>" + html_escape(image.caption) + "</figcaption></figure>\n";
    }
    html += "</div>\n";
  }
  return html;
}

std::string tables_html(const ReportData& data) {
  std::string html;
  for (const ReportTable& table : data.tables) {
    html += "<h2>" + html_escape(table.title) + "</h2>\n";
    if (!table.description.empty()) html += "<p class=\"description\">" + html_escape(table.description) + "</p>\n";
    html += "<table class=\"metrics\">\n<tr>";
    for (const std::string& column : table.columns) html += "<th>" + html_escape(column) + "</th>";
    html += "</tr>\n";
    for (const auto& row : table.rows) {
      html += "<tr>";
      for (const std::string& cell : row) html += "<td>" + html_escape(cell) + "</td>";
      html += "</tr>\n";
    }
    html += "</table>\n";
  }
  return html;
}

std::string chart_sections_html(const ReportData& data) {
  std::string html;
  for (const ReportCharts& section : data.chart_sections) {
    html += "<h2>" + html_escape(section.title) + "</h2>\n";
    if (!section.description.empty()) html += "<p class=\"description\">" + html_escape(section.description) + "</p>\n";
    html += "<div class=\"charts\">\n";
    for (const BarChart& bars : section.bars) html += svg_bar_chart(bars);
    for (const LinePlot& plot : section.plots) html += svg_line_plot(plot, 480, 400);
    html += "</div>\n";
  }
  return html;
}

std::string scatter_html(const ReportData& data) {
  if (data.scatter_plots.empty()) return "";
  std::string html = "<h2>Latent space</h2>\n<div class=\"charts\">\n";
  for (LinePlot plot : data.scatter_plots) {
    plot.points_only = true;
    html += svg_line_plot(plot, 640, 480);
  }
  return html + "</div>\n";
}

}  // namespace

std::string render_report(const ReportData& data) {
  check_sizes(data);
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + html_escape(data.title) +
                     "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n<h1>" + html_escape(data.title) + "</h1>\n";
  html += warnings_html(data);
  html += run_info_html(data);
  html += tables_html(data);
  html += chart_sections_html(data);
  html += charts_html(data);
  std::string confusion = confusion_html(data), metrics = class_metrics_html(data);
  if (!confusion.empty() || !metrics.empty()) {
    html += "<h2>Test set by class</h2>\n<div class=\"classes\">\n";
    if (!confusion.empty()) html += "<div><h3>Confusion matrix</h3>\n" + confusion + "</div>\n";
    if (!metrics.empty()) html += "<div><h3>Precision, recall and F1</h3>\n" + metrics + "</div>\n";
    html += "</div>\n";
  }
  html += roc_html(data);
  html += examples_html(data);
  html += figures_html(data);
  html += scatter_html(data);
  return html + "</body>\n</html>\n";
}

void write_report(const ReportData& data, const std::string& path) {
  std::string html = render_report(data);
  write_file_atomically(path, {html}, "write_report");
}

}  // namespace cajal
