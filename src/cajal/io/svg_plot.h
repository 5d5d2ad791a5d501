#pragma once
// Line charts as inline SVG (for the HTML report): no scripts, no external files.
#include <string>
#include <string_view>
#include <vector>

namespace cajal {

struct PlotSeries {
  std::string name = {};  // shown in the legend
  std::vector<double> x = {}, y = {};
};

struct LinePlot {
  std::string title = {}, x_label = {}, y_label = {};
  std::vector<PlotSeries> series = {};
  bool points_only = false;  // a scatter plot: each point a small dot (<circle class="point">), no lines
};

// An <svg class="chart"> element: a title, a legend, axes with round tick values
// (<text class="y-tick" y="..."> labels sit at their value's height), a grid, and per series
// a <polyline class="series" data-series="name"> plus a marker with a tooltip at each point.
// Points whose x or y is not finite are left out and break the line. When every x is an
// integer (epochs), x ticks are integers too. More than four series list their legend down
// the right side.
std::string svg_line_plot(const LinePlot& plot, int width = 600, int height = 340);

// Grouped bars (per-group metrics): one group of bars per category along x, one bar per
// series in each, from 0 up; a series may give an interval per bar (low, high), drawn as an
// error bar. Each bar is a <rect class="bar" data-series="..." data-category="..."> with a
// tooltip; values that are not finite are left out.
struct BarSeries {
  std::string name = {};
  std::vector<double> values = {};          // one per category
  std::vector<double> low = {}, high = {};  // empty, or one per category
};
struct BarChart {
  std::string title = {}, y_label = {};
  std::vector<std::string> categories = {};
  std::vector<BarSeries> series = {};
};
std::string svg_bar_chart(const BarChart& chart, int width = 600, int height = 340);

// Tick values for an axis covering [low, high]: about `count` multiples of a step of 1, 2 or 5
// times a power of ten (at least `min_step`), from the last one <= low to the first one >= high.
std::vector<double> nice_ticks(double low, double high, int count, double min_step = 0);

// `text` with &, <, >, " and ' escaped, safe inside HTML or SVG text and attribute values.
std::string html_escape(std::string_view text);

}  // namespace cajal
