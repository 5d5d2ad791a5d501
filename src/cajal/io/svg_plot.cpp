#include "cajal/io/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "cajal/io/csv_log.h"

namespace cajal {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double low, double high, int count, double min_step) {
  if (!(high > low) || !std::isfinite(high - low)) return {low, high};  // nothing round to find
  double rough = (high - low) / std::max(count - 1, 1);
  double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  double fraction = rough / magnitude;  // in [1, 10)
  double step = (fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10) * magnitude;
  step = std::max(step, min_step);
  double first = std::floor(low / step), last = std::ceil(high / step);
  std::vector<double> ticks;
  for (int64_t i = 0; i <= static_cast<int64_t>(last - first); ++i) ticks.push_back((first + i) * step);
  return ticks;
}

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr int kMaxMarkedPoints = 60;  // more points than this: the line alone

// A tick label with as many decimals as the step needs (0.2 -> "0.2", not "0.20000000000000001").
std::string tick_label(double value, double step) {
  if (std::abs(value) < step * 1e-6) value = 0;  // k * step may be -0
  char buf[64];
  if (value != 0 && (std::abs(value) >= 1e6 || step < 1e-4)) {
    std::snprintf(buf, sizeof buf, "%.3g", value);
  } else {
    int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  }
  return buf;
}

std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// The data range of one axis, widened when all values are equal so the scale is not empty.
struct Range {
  double low = std::numeric_limits<double>::infinity(), high = -std::numeric_limits<double>::infinity();
  void add(double v) {
    low = std::min(low, v);
    high = std::max(high, v);
  }
  bool empty() const { return low > high; }
  // Also when the spread is lost in rounding (1e9 and 1e9 + 1e-7): no scale can show it.
  void widen_if_flat() {
    if (high - low > 1e-9 * std::max(std::abs(low), std::abs(high))) return;
    double pad = low == 0 ? 1 : std::abs(low) * 0.1;
    low -= pad;
    high += pad;
  }
};

// An <svg> element's opening tag of class `cls` and its title at x = `left`.
std::string svg_open(const std::string& cls, int width, int height, const std::string& title, double left) {
  return "<svg class=\"" + cls + "\" width=\"" + std::to_string(width) + "\" height=\"" + std::to_string(height) +
         "\" viewBox=\"0 0 " + std::to_string(width) + " " + std::to_string(height) + "\" role=\"img\" aria-label=\"" +
         html_escape(title) + "\">\n<text class=\"chart-title\" x=\"" + coord(left) +
         "\" y=\"22\" font-size=\"15\" font-weight=\"bold\">" + html_escape(title) + "</text>\n";
}

}  // namespace

std::string svg_line_plot(const LinePlot& plot, int width, int height) {
  const double left = 70, right = 16, top = 40, bottom = 46;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  std::string svg = svg_open("chart", width, height, plot.title, left);

  Range xr, yr;
  bool integer_x = true;
  for (const PlotSeries& s : plot.series)
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
        xr.add(s.x[i]);
        yr.add(s.y[i]);
        integer_x = integer_x && s.x[i] == std::round(s.x[i]);
      }
  if (xr.empty()) {
    svg += "<text x=\"" + coord(width / 2.0) + "\" y=\"" + coord(height / 2.0) + "\" text-anchor=\"middle\" fill=\"#888\">no data</text>\n";
    return svg + "</svg>\n";
  }
  xr.widen_if_flat();
  yr.widen_if_flat();
  std::vector<double> xticks = nice_ticks(xr.low, xr.high, 6, integer_x ? 1 : 0);
  std::vector<double> yticks = nice_ticks(yr.low, yr.high, 6);
  double x0 = xticks.front(), x1 = xticks.back(), y0 = yticks.front(), y1 = yticks.back();
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * plot_w; };
  auto py = [&](double y) { return top + (1 - (y - y0) / (y1 - y0)) * plot_h; };
  double xstep = xticks.size() > 1 ? xticks[1] - xticks[0] : 1, ystep = yticks.size() > 1 ? yticks[1] - yticks[0] : 1;

  // Grid and tick labels.
  svg += "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double y : yticks) svg += "<line x1=\"" + coord(left) + "\" x2=\"" + coord(left + plot_w) + "\" y1=\"" + coord(py(y)) + "\" y2=\"" + coord(py(y)) + "\"/>\n";
  for (double x : xticks) svg += "<line x1=\"" + coord(px(x)) + "\" x2=\"" + coord(px(x)) + "\" y1=\"" + coord(top) + "\" y2=\"" + coord(top + plot_h) + "\"/>\n";
  svg += "</g>\n<g font-size=\"12\" fill=\"#444\">\n";
  for (double y : yticks)
    svg += "<text class=\"y-tick\" x=\"" + coord(left - 8) + "\" y=\"" + coord(py(y)) + "\" text-anchor=\"end\" dominant-baseline=\"middle\">" +
           tick_label(y, ystep) + "</text>\n";
  for (double x : xticks)
    svg += "<text class=\"x-tick\" x=\"" + coord(px(x)) + "\" y=\"" + coord(top + plot_h + 18) + "\" text-anchor=\"middle\">" +
           tick_label(x, xstep) + "</text>\n";
  svg += "</g>\n";
  svg += "<rect x=\"" + coord(left) + "\" y=\"" + coord(top) + "\" width=\"" + coord(plot_w) + "\" height=\"" + coord(plot_h) +
         "\" fill=\"none\" stroke=\"#999\"/>\n";
  svg += "<text class=\"x-label\" x=\"" + coord(left + plot_w / 2) + "\" y=\"" + coord(height - 6.0) +
         "\" text-anchor=\"middle\" font-size=\"13\">" + html_escape(plot.x_label) + "</text>\n";
  svg += "<text class=\"y-label\" transform=\"translate(16 " + coord(top + plot_h / 2) + ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">" +
         html_escape(plot.y_label) + "</text>\n";

  // Series: a polyline per run of finite points, markers with tooltips, a legend entry.
  for (size_t s = 0; s < plot.series.size(); ++s) {
    const PlotSeries& series = plot.series[s];
    const char* colour = kPalette[s % std::size(kPalette)];
    std::string name = html_escape(series.name);
    size_t n = std::min(series.x.size(), series.y.size());
    std::string points, markers;
    auto end_line = [&] {
      if (!points.empty())
        svg += "<polyline class=\"series\" data-series=\"" + name + "\" fill=\"none\" stroke=\"" + colour +
               "\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"" + points + "\"/>\n";
      points.clear();
    };
    for (size_t i = 0; i < n; ++i) {
      double x = series.x[i], y = series.y[i];
      if (!std::isfinite(x) || !std::isfinite(y)) {
        end_line();
        continue;
      }
      if (plot.points_only) {
        markers += "<circle class=\"point\" data-series=\"" + name + "\" cx=\"" + coord(px(x)) + "\" cy=\"" + coord(py(y)) +
                   "\" r=\"2\" fill=\"" + colour + "\" fill-opacity=\"0.7\"/>\n";
        continue;
      }
      if (!points.empty()) points += ' ';
      points += coord(px(x)) + "," + coord(py(y));
      if (n <= kMaxMarkedPoints)
        markers += "<circle cx=\"" + coord(px(x)) + "\" cy=\"" + coord(py(y)) + "\" r=\"3.5\" fill=\"" + colour + "\"><title>" + name +
                   ", " + html_escape(plot.x_label) + " " + format_shortest(x) + ": " + format_shortest(y) + "</title></circle>\n";
    }
    end_line();
    svg += markers;
    const bool column = plot.series.size() > 4;
    double lx = column ? left + plot_w - 110.0 : left + plot_w - 110.0 * (plot.series.size() - s);
    double ly = column ? top + 12.0 + 16.0 * s : 18;
    svg += "<g class=\"legend\"><line x1=\"" + coord(lx) + "\" x2=\"" + coord(lx + 22) + "\" y1=\"" + coord(ly) + "\" y2=\"" + coord(ly) +
           "\" stroke=\"" + colour + "\" stroke-width=\"3\"/><text x=\"" + coord(lx + 28) + "\" y=\"" + coord(ly) +
           "\" dominant-baseline=\"middle\" font-size=\"13\">" + name + "</text></g>\n";
  }
  return svg + "</svg>\n";
}

std::string svg_bar_chart(const BarChart& chart, int width, int height) {
  const double left = 70, right = 16, top = 40, bottom = 46;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  std::string svg = svg_open("chart bar-chart", width, height, chart.title, left);
  Range yr;
  yr.add(0);
  for (const BarSeries& s : chart.series) {
    for (double v : s.values)
      if (std::isfinite(v)) yr.add(v);
    for (double v : s.high)
      if (std::isfinite(v)) yr.add(v);
  }
  yr.widen_if_flat();
  std::vector<double> yticks = nice_ticks(std::min(yr.low, 0.0), yr.high, 6);
  const double y0 = yticks.front(), y1 = yticks.back(), ystep = yticks.size() > 1 ? yticks[1] - yticks[0] : 1;
  auto py = [&](double y) { return top + (1 - (y - y0) / (y1 - y0)) * plot_h; };
  svg += "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double y : yticks) svg += "<line x1=\"" + coord(left) + "\" x2=\"" + coord(left + plot_w) + "\" y1=\"" + coord(py(y)) + "\" y2=\"" + coord(py(y)) + "\"/>\n";
  svg += "</g>\n<g font-size=\"12\" fill=\"#444\">\n";
  for (double y : yticks)
    svg += "<text class=\"y-tick\" x=\"" + coord(left - 8) + "\" y=\"" + coord(py(y)) + "\" text-anchor=\"end\" dominant-baseline=\"middle\">" +
           tick_label(y, ystep) + "</text>\n";
  const size_t groups = std::max<size_t>(chart.categories.size(), 1), bars = std::max<size_t>(chart.series.size(), 1);
  const double group_w = plot_w / groups, bar_w = group_w * 0.8 / bars;
  for (size_t c = 0; c < chart.categories.size(); ++c)
    svg += "<text class=\"x-tick\" x=\"" + coord(left + (c + 0.5) * group_w) + "\" y=\"" + coord(top + plot_h + 18) +
           "\" text-anchor=\"middle\">" + html_escape(chart.categories[c]) + "</text>\n";
  svg += "</g>\n";
  svg += "<text class=\"y-label\" transform=\"translate(16 " + coord(top + plot_h / 2) + ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">" +
         html_escape(chart.y_label) + "</text>\n";
  for (size_t s = 0; s < chart.series.size(); ++s) {
    const BarSeries& series = chart.series[s];
    const char* colour = kPalette[s % std::size(kPalette)];
    const std::string name = html_escape(series.name);
    for (size_t c = 0; c < std::min(series.values.size(), chart.categories.size()); ++c) {
      const double v = series.values[c];
      if (!std::isfinite(v)) continue;
      const double x = left + c * group_w + group_w * 0.1 + s * bar_w;
      const double y_top = py(std::max(v, 0.0)), y_bottom = py(std::min(v, 0.0));
      svg += "<rect class=\"bar\" data-series=\"" + name + "\" data-category=\"" + html_escape(chart.categories[c]) + "\" x=\"" +
             coord(x) + "\" y=\"" + coord(y_top) + "\" width=\"" + coord(bar_w * 0.92) + "\" height=\"" + coord(y_bottom - y_top) +
             "\" fill=\"" + colour + "\"><title>" + name + ", " + html_escape(chart.categories[c]) + ": " + format_shortest(v) +
             "</title></rect>\n";
      if (c < series.low.size() && c < series.high.size() && std::isfinite(series.low[c]) && std::isfinite(series.high[c])) {
        const double mid = x + bar_w * 0.46;
        svg += "<path class=\"error-bar\" d=\"M" + coord(mid) + " " + coord(py(series.low[c])) + "V" + coord(py(series.high[c])) + "M" +
               coord(mid - 4) + " " + coord(py(series.low[c])) + "h8M" + coord(mid - 4) + " " + coord(py(series.high[c])) +
               "h8\" stroke=\"#222\" stroke-width=\"1.2\" fill=\"none\"/>\n";
      }
    }
    const double lx = left + plot_w - 110.0 * (chart.series.size() - s), ly = 18;
    svg += "<g class=\"legend\"><rect x=\"" + coord(lx) + "\" y=\"" + coord(ly - 6) + "\" width=\"14\" height=\"12\" fill=\"" + colour +
           "\"/><text x=\"" + coord(lx + 20) + "\" y=\"" + coord(ly) + "\" dominant-baseline=\"middle\" font-size=\"13\">" + name +
           "</text></g>\n";
  }
  svg += "<line x1=\"" + coord(left) + "\" x2=\"" + coord(left + plot_w) + "\" y1=\"" + coord(py(0)) + "\" y2=\"" + coord(py(0)) +
         "\" stroke=\"#999\"/>\n";
  return svg + "</svg>\n";
}

}  // namespace cajal
