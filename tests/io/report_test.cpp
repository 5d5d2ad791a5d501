// report.html. Oracles: the page is read back the way a reader would read it (chart points
// mapped to values through the printed tick labels, heat-map cells, table cells, images
// decoded by stb_image and captions) and must say what the data says; and headless Chromium
// renders it to a screenshot, which must show the charts' and the heat map's colours on a
// page that is far from blank. The Chromium test is skipped only when no chromium binary is
// installed (scripts/setup installs Debian's).
//
// Set CAJAL_REPORT_TEST_OUT=<dir> to keep the rendered page and its screenshot there.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "cajal/io/png.h"
#include "cajal/io/report.h"
#include "cajal/io/svg_plot.h"
#include "support/page_render.h"
#include "support/test_support.h"


using namespace cajal;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kClasses = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// A run's worth of report data: 12 epochs of decreasing losses and rising accuracies, a
// confusion matrix of 10 classes, metrics computed from it, and 18 misclassified images
// (16 gray 28 x 28, 2 RGB 32 x 24) with patterns that differ image to image.
ReportData sample_data() {
  ReportData d;
  d.title = "cnn on Fashion-MNIST";
  d.run_info = {{"model", "cnn"}, {"parameters", "421,642"}, {"epochs", "12"}, {"test accuracy", "91.84%"}, {"wall time", "3 min 12 s"}};
  for (int e = 1; e <= 12; ++e)
    d.history.push_back({{"epoch", e},
                         {"loss", 2.3 * std::exp(-0.35 * e) + 0.18},
                         {"val_loss", 2.1 * std::exp(-0.3 * e) + 0.25 + 0.004 * e},
                         {"accuracy", 0.95 - 0.5 * std::exp(-0.4 * e)},
                         {"val_accuracy", 0.92 - 0.45 * std::exp(-0.35 * e)},
                         {"lr", 0.001}});
  d.class_names = kClasses;
  int64_t k = static_cast<int64_t>(kClasses.size());
  d.confusion.assign(k, std::vector<int64_t>(k, 0));
  for (int64_t t = 0; t < k; ++t)
    for (int64_t p = 0; p < k; ++p) d.confusion[t][p] = t == p ? 700 + 25 * t : (t * 7 + p * 3) % 11 * (t == 6 ? 9 : 2);
  for (int64_t c = 0; c < k; ++c) {
    int64_t row = 0, col = 0;
    for (int64_t j = 0; j < k; ++j) {
      row += d.confusion[c][j];
      col += d.confusion[j][c];
    }
    ClassMetrics m;
    m.precision = static_cast<double>(d.confusion[c][c]) / col;
    m.recall = static_cast<double>(d.confusion[c][c]) / row;
    m.f1 = 2 * m.precision * m.recall / (m.precision + m.recall);
    m.support = row;
    d.class_metrics.push_back(m);
  }
  for (int i = 0; i < 18; ++i) {
    ReportExample e;
    bool rgb = i >= 16;
    e.height = rgb ? 32 : 28;
    e.width = rgb ? 24 : 28;
    e.channels = rgb ? 3 : 1;
    for (int64_t y = 0; y < e.height; ++y)
      for (int64_t x = 0; x < e.width; ++x)
        for (int64_t c = 0; c < e.channels; ++c) {
          double r = std::hypot(y - e.height / 2.0, x - e.width / 2.0);
          double v = 127.5 + 127.5 * std::sin(r * (0.3 + 0.05 * i) + c * 2.0 + i);
          e.pixels.push_back(static_cast<uint8_t>(std::clamp(v, 0.0, 255.0)));
        }
    e.true_class = i % k;
    e.predicted_class = (i * 3 + 1) % k == e.true_class ? (e.true_class + 1) % k : (i * 3 + 1) % k;
    if (i % 2 == 0) e.confidence = 0.5 + 0.02 * i;
    d.misclassified.push_back(std::move(e));
  }
  return d;
}

// Every match of `pattern` in `text`, as its capture groups.
std::vector<std::smatch> find_all(const std::string& text, const std::string& pattern) {
  std::regex re(pattern);
  return {std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()};
}

std::vector<std::string> svg_blocks(const std::string& html) {
  std::vector<std::string> blocks;
  for (size_t start = 0; (start = html.find("<svg class=\"chart\"", start)) != std::string::npos;) {
    size_t end = html.find("</svg>", start);
    if (end == std::string::npos) break;
    blocks.push_back(html.substr(start, end + 6 - start));
    start = end;
  }
  return blocks;
}

// A linear map from pixels to values, fitted through the first and last tick labels.
struct Ruler {
  double p0, v0, p1, v1;
  double value(double pixel) const { return v0 + (pixel - p0) * (v1 - v0) / (p1 - p0); }
  double per_pixel() const { return std::abs((v1 - v0) / (p1 - p0)); }
};

Ruler ruler(const std::string& svg, const std::string& pattern) {
  auto ticks = find_all(svg, pattern);
  EXPECT_GE(ticks.size(), 3u) << "an axis needs tick labels";
  if (ticks.size() < 2) return {0, 0, 1, 1};
  return {std::stod(ticks.front()[1]), std::stod(ticks.front()[2]), std::stod(ticks.back()[1]), std::stod(ticks.back()[2])};
}

// A chart's series read back as a reader would: each polyline's points mapped to values
// through the axes' tick labels. Coordinates are printed to 0.01 pixel, so a value is known
// to within 0.006 pixel's worth of its axis (the tolerances).
struct ChartReading {
  std::vector<std::pair<std::string, std::vector<std::pair<double, double>>>> series;  // name, (x, y) values
  double x_tolerance = 0, y_tolerance = 0;
};

ChartReading read_chart(const std::string& svg) {
  Ruler x = ruler(svg, "<text class=\"x-tick\" x=\"([-0-9.]+)\"[^>]*>([-0-9.]+)</text>");
  Ruler y = ruler(svg, "<text class=\"y-tick\" x=\"[-0-9.]+\" y=\"([-0-9.]+)\"[^>]*>([-0-9.]+)</text>");
  ChartReading reading{.series = {}, .x_tolerance = 0.006 * x.per_pixel(), .y_tolerance = 0.006 * y.per_pixel()};
  for (const auto& line : find_all(svg, "<polyline class=\"series\" data-series=\"([^\"]*)\"[^>]*points=\"([^\"]*)\"")) {
    std::vector<std::pair<double, double>> values;
    std::istringstream points(line[2].str());
    for (std::string point; points >> point;) {
      double px = std::stod(point.substr(0, point.find(','))), py = std::stod(point.substr(point.find(',') + 1));
      values.emplace_back(x.value(px), y.value(py));
    }
    reading.series.emplace_back(line[1], values);
  }
  return reading;
}

// The chart of `metric` must draw the history columns "<metric>" as the series "train" and
// "val_<metric>" as "val", each a polyline whose points are the column's (epoch, value) pairs.
void expect_chart_shows(const std::string& svg, const ReportData& d, const std::string& metric) {
  ChartReading chart = read_chart(svg);
  std::set<std::string> names;
  for (const auto& [name, points] : chart.series) {
    names.insert(name);
    ASSERT_EQ(points.size(), d.history.size()) << metric << " " << name;
    for (size_t row = 0; row < points.size(); ++row) {
      double epoch = 0, value = 0;
      for (const auto& [key, v] : d.history[row]) {
        if (key == "epoch") epoch = v;
        if (key == (name == "train" ? metric : name + "_" + metric)) value = v;
      }
      EXPECT_NEAR(points[row].first, epoch, chart.x_tolerance) << metric << " " << name << " point " << row;
      EXPECT_NEAR(points[row].second, value, chart.y_tolerance) << metric << " " << name << " point " << row;
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"train", "val"})) << metric;
}

// A page with only a binary task's ROC curve: 4 negatives and 4 positives, AUC 0.8125.
ReportData roc_data() {
  ReportData d;
  d.title = "ROC";
  d.roc_false_positive_rate = {0, 0, 0.25, 0.25, 0.5, 0.5, 1};
  d.roc_true_positive_rate = {0, 0.5, 0.5, 0.75, 0.75, 1, 1};
  d.roc_auc = 0.8125;
  return d;
}

std::string base64_decode(const std::string& text) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    if (c == '=') break;
    bits = bits << 6 | static_cast<uint32_t>(kAlphabet.find(c));
    if ((count += 6) >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return out;
}

std::string unescape(std::string s) {
  for (auto [from, to] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}}) {
    for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += std::strlen(to)) s.replace(pos, std::strlen(from), to);
  }
  return s;
}

double luminance(const std::string& hex) {
  int r = std::stoi(hex.substr(1, 2), nullptr, 16), g = std::stoi(hex.substr(3, 2), nullptr, 16), b = std::stoi(hex.substr(5, 2), nullptr, 16);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}


}  // namespace

TEST(Base64, MatchesRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) EXPECT_EQ(base64_encode(plain), encoded) << plain;
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Png, StbImageDecodesWhatWeEncode) {
  for (int channels : {1, 2, 3, 4}) {
    std::vector<uint8_t> pixels;
    for (int i = 0; i < 5 * 7 * channels; ++i) pixels.push_back(static_cast<uint8_t>(i * 37 % 256));
    test::Image img = test::decode_png(encode_png(pixels, 5, 7, channels));
    EXPECT_EQ(img.height, 5);
    EXPECT_EQ(img.width, 7);
    EXPECT_EQ(img.channels, channels);
    EXPECT_EQ(img.pixels, pixels) << channels << " channels";
  }
  test::expect_error<ValueError>([] { encode_png(std::vector<uint8_t>(10), 2, 2, 3); }, {"encode_png", "10 bytes", "2 x 2 x 3"});
  test::expect_error<ValueError>([] { encode_png(std::vector<uint8_t>(10), 2, 5, 5); }, {"encode_png", "channels", "5"});
}

TEST(NiceTicks, RoundStepsCoveringTheRange) {
  EXPECT_EQ(nice_ticks(0.23, 2.41, 6), (std::vector<double>{0, 0.5, 1, 1.5, 2, 2.5}));
  EXPECT_EQ(nice_ticks(1, 12, 6), (std::vector<double>{0, 2, 4, 6, 8, 10, 12}));
  EXPECT_EQ(nice_ticks(1, 3, 6, 1), (std::vector<double>{1, 2, 3}));  // integer x: no half epochs
  std::vector<double> t = nice_ticks(-3.7e-5, 8.1e-5, 6);
  EXPECT_LE(t.front(), -3.7e-5);
  EXPECT_GE(t.back(), 8.1e-5);
  EXPECT_NEAR(t[1] - t[0], 2e-5, 1e-12);
  EXPECT_EQ(nice_ticks(2, 2, 6), (std::vector<double>{2, 2}));  // an empty range has nothing to divide
}

TEST(SvgLinePlot, FlatAndExtremeSeriesStillGetAScale) {
  for (std::vector<double> y : {std::vector<double>{0.5, 0.5, 0.5}, {1e9, 1e9 + 1e-7, 1e9}, {-3e38, 0, 3e38}, {0, 0, 0}}) {
    std::string svg = svg_line_plot({.title = "t", .x_label = "epoch", .y_label = "y", .series = {{.name = "s", .x = {1, 2, 3}, .y = y}}});
    EXPECT_GE(std::count(svg.begin(), svg.end(), '\n'), 10) << y[1];
    EXPECT_TRUE(find_all(svg, "[^a-z](nan|inf)[^a-z]").empty()) << y[1] << "\n" << svg;  // no NaN or infinite coordinate
  }
}

TEST(Report, PageSaysWhatTheDataSays) {
  ReportData d = sample_data();
  std::string html = render_report(d);

  // Self-contained: nothing is fetched from elsewhere.
  for (const char* external : {"<script", "<link", "<iframe", "url(", "@import", "href=", "http:", "https:"})
    EXPECT_EQ(html.find(external), std::string::npos) << external;
  EXPECT_TRUE(find_all(html, "src=\"(?!data:image/png;base64,)").empty());

  // Run info.
  for (const auto& [key, value] : d.run_info)
    EXPECT_NE(html.find("<tr><th>" + key + "</th><td>" + value + "</td></tr>"), std::string::npos) << key;

  // Charts: loss then accuracy (the default chart_metrics); "lr" is not charted.
  std::vector<std::string> charts = svg_blocks(html);
  ASSERT_EQ(charts.size(), 2u);
  EXPECT_NE(charts[0].find("aria-label=\"Loss\""), std::string::npos);
  EXPECT_NE(charts[1].find("aria-label=\"Accuracy\""), std::string::npos);
  expect_chart_shows(charts[0], d, "loss");
  expect_chart_shows(charts[1], d, "accuracy");

  // Heat map: one cell per (true, predicted) pair holding its count, darker for a larger
  // share of its row.
  auto cells = find_all(html, "<td class=\"cm-cell\" data-true=\"(\\d+)\" data-pred=\"(\\d+)\" style=\"background:(#[0-9a-f]{6});[^>]*>(\\d+)</td>");
  ASSERT_EQ(cells.size(), 100u);
  std::vector<std::pair<double, double>> share_and_luminance;
  for (const auto& c : cells) {
    int t = std::stoi(c[1]), p = std::stoi(c[2]);
    EXPECT_EQ(std::stoll(c[4]), d.confusion[t][p]) << t << "," << p;
    share_and_luminance.push_back({static_cast<double>(d.confusion[t][p]) / d.class_metrics[t].support, luminance(c[3])});
  }
  std::sort(share_and_luminance.begin(), share_and_luminance.end());
  for (size_t i = 1; i < share_and_luminance.size(); ++i)
    EXPECT_LE(share_and_luminance[i].second, share_and_luminance[i - 1].second + 1e-9) << "share " << share_and_luminance[i].first;
  EXPECT_GT(share_and_luminance.front().second - share_and_luminance.back().second, 150);
  for (const std::string& name : kClasses) {
    EXPECT_NE(html.find("<th class=\"col-label\">" + name + "</th>"), std::string::npos) << name;
    EXPECT_NE(html.find("<th class=\"row-label\">" + name + "</th>"), std::string::npos) << name;
  }

  // Per-class metrics table.
  auto rows = find_all(html, "<tr class=\"class-row\"><td>([^<]*)</td><td>([0-9.]+)</td><td>([0-9.]+)</td><td>([0-9.]+)</td><td>(\\d+)</td></tr>");
  ASSERT_EQ(rows.size(), kClasses.size());
  for (size_t c = 0; c < rows.size(); ++c) {
    EXPECT_EQ(rows[c][1].str(), kClasses[c]);
    EXPECT_NEAR(std::stod(rows[c][2]), d.class_metrics[c].precision, 5.01e-5);
    EXPECT_NEAR(std::stod(rows[c][3]), d.class_metrics[c].recall, 5.01e-5);
    EXPECT_NEAR(std::stod(rows[c][4]), d.class_metrics[c].f1, 5.01e-5);
    EXPECT_EQ(std::stoll(rows[c][5]), d.class_metrics[c].support);
  }

  // Misclassified images: each decodes to its pixels, captioned with its labels.
  auto figures = find_all(html, "<figure class=\"example\"><img src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"[^>]*>"
                                "<figcaption><span class=\"true\">true: ([^<]*)</span><span class=\"pred\">pred: ([^<]*)</span>");
  ASSERT_EQ(figures.size(), d.misclassified.size());
  for (size_t i = 0; i < figures.size(); ++i) {
    const ReportExample& e = d.misclassified[i];
    test::Image img = test::decode_png(base64_decode(figures[i][1]));
    EXPECT_EQ(img.height, e.height);
    EXPECT_EQ(img.width, e.width);
    EXPECT_EQ(img.channels, e.channels);
    EXPECT_TRUE(img.pixels == e.pixels) << "image " << i;
    EXPECT_EQ(unescape(figures[i][2]), kClasses[e.true_class]) << i;
    std::string predicted = kClasses[e.predicted_class];
    if (std::isfinite(e.confidence)) predicted += " (" + std::to_string(std::lround(100 * e.confidence)) + "%)";
    EXPECT_EQ(unescape(figures[i][3]), predicted) << i;
  }
}

namespace {

// `data` written as a page and rendered by headless Chromium into a 1280 x `height` screenshot.
test::Image screenshot(const std::string& chromium, const ReportData& data, int height, const std::string& name) {
  const std::string page = test::temp_dir() + "/report.html";
  write_report(data, page);
  return test::screenshot(chromium, page, 1280, height, name);
}

}  // namespace

TEST(Report, ChromiumRendersIt) {
  std::string chromium = test::chromium_binary();
  if (chromium.empty()) GTEST_SKIP() << "no chromium binary on PATH (scripts/setup installs Debian's chromium): the page was not rendered";
  test::Image img = screenshot(chromium, sample_data(), 2000, "report");
  ASSERT_FALSE(img.pixels.empty());
  // Not blank: many colours (anti-aliased text and lines, the heat map, the images) and a
  // good share of non-white pixels.
  std::set<uint32_t> colours;
  size_t non_white = 0;
  for (size_t i = 0; i < img.pixels.size(); i += 3) {
    colours.insert(img.pixels[i] << 16 | img.pixels[i + 1] << 8 | img.pixels[i + 2]);
    if (img.pixels[i] < 240 || img.pixels[i + 1] < 240 || img.pixels[i + 2] < 240) ++non_white;
  }
  EXPECT_GT(colours.size(), 1000u);
  EXPECT_GT(non_white, img.pixels.size() / 3 / 20) << "less than a twentieth of the page is drawn";
  // The drawn figures: the two series' line colours (the charts), the darkest heat-map blue
  // (the diagonal), and the captions' green and red.
  EXPECT_GT(test::count_near(img, 0x1f, 0x77, 0xb4), 500u) << "train series (blue)";
  EXPECT_GT(test::count_near(img, 0xff, 0x7f, 0x0e), 500u) << "val series (orange)";
  EXPECT_GT(test::count_near(img, 0x08, 0x30, 0x6b) + test::count_near(img, 0x08, 0x51, 0x9c), 5000u) << "heat-map diagonal";
  EXPECT_GT(test::count_near(img, 0x1a, 0x7f, 0x37), 100u) << "true-label captions";
  EXPECT_GT(test::count_near(img, 0xc6, 0x28, 0x28), 100u) << "predicted-label captions";
}

TEST(Report, RocCurveOfABinaryTask) {
  ReportData d = roc_data();
  std::string html = render_report(d);
  std::vector<std::string> charts = svg_blocks(html);
  ASSERT_EQ(charts.size(), 1u);
  EXPECT_NE(charts[0].find("aria-label=\"ROC curve (AUC 0.8125)\""), std::string::npos) << charts[0];
  ChartReading chart = read_chart(charts[0]);
  ASSERT_EQ(chart.series.size(), 2u);
  EXPECT_EQ(chart.series[0].first, "model");
  ASSERT_EQ(chart.series[0].second.size(), d.roc_false_positive_rate.size());
  for (size_t i = 0; i < d.roc_false_positive_rate.size(); ++i) {
    EXPECT_NEAR(chart.series[0].second[i].first, d.roc_false_positive_rate[i], chart.x_tolerance) << "point " << i;
    EXPECT_NEAR(chart.series[0].second[i].second, d.roc_true_positive_rate[i], chart.y_tolerance) << "point " << i;
  }
  EXPECT_EQ(chart.series[1].first, "chance");  // the diagonal from (0, 0) to (1, 1)
  ASSERT_EQ(chart.series[1].second.size(), 2u);
  EXPECT_NEAR(chart.series[1].second[0].first, 0, chart.x_tolerance);
  EXPECT_NEAR(chart.series[1].second[1].second, 1, chart.y_tolerance);

  std::string chromium = test::chromium_binary();
  if (chromium.empty()) GTEST_SKIP() << "no chromium binary on PATH: the ROC curve was not rendered";
  test::Image img = screenshot(chromium, d, 700, "roc");
  ASSERT_FALSE(img.pixels.empty());
  EXPECT_GT(test::count_near(img, 0x1f, 0x77, 0xb4), 500u) << "the model's curve (blue)";
  EXPECT_GT(test::count_near(img, 0xff, 0x7f, 0x0e), 300u) << "the chance diagonal (orange)";
}

// A generative run's sections: warnings, figures of images, a scatter plot coloured by class.
ReportData generative_data() {
  ReportData d;
  d.title = "gan";
  d.history = {{{"epoch", 1}, {"d_loss", 1.2}, {"g_loss", 0.9}}, {{"epoch", 2}, {"d_loss", 0.01}, {"g_loss", 6.0}}};
  d.chart_metrics = {"loss"};
  d.warnings = {"epoch 2: the GAN looks collapsed: D loss / G loss 0.0017 < 0.05 <b>"};
  ReportFigure grids{.title = "Samples by epoch", .description = "fixed noise", .images = {}, .scale = 3};
  for (int epoch = 1; epoch <= 2; ++epoch) {
    ReportImage image{.height = 20, .width = 30, .channels = 1, .pixels = {}, .caption = "epoch " + std::to_string(epoch)};
    for (int i = 0; i < 600; ++i) image.pixels.push_back(static_cast<uint8_t>((i * 7 + epoch * 50) % 256));
    grids.images.push_back(image);
  }
  d.figures = {grids, ReportFigure{.title = "Empty", .description = "", .images = {}, .scale = 2}};
  LinePlot map{.title = "latent map", .x_label = "z[0]", .y_label = "z[1]", .series = {}};
  for (int k = 0; k < 3; ++k) {
    PlotSeries series{.name = "class " + std::to_string(k), .x = {}, .y = {}};
    for (int i = 0; i < 200; ++i) {
      series.x.push_back(k * 4 + std::cos(i) * 1.5);
      series.y.push_back(std::sin(i * 1.3) * 1.5 - k);
    }
    map.series.push_back(series);
  }
  d.scatter_plots = {map};
  return d;
}

TEST(Report, GenerativeSections) {
  const ReportData d = generative_data();
  const std::string html = render_report(d);
  // The warning comes first, escaped; the empty figure is left out.
  EXPECT_LT(html.find("<p class=\"warning\">"), html.find("<h2>Training history</h2>"));
  EXPECT_NE(html.find("D loss / G loss 0.0017 &lt; 0.05 &lt;b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<h2>Empty</h2>"), std::string::npos);
  // Each image decodes to its pixels at `scale` times its size, captioned.
  auto figures = find_all(html, "<figure class=\"figure\"><img src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\" width=\"(\\d+)\" "
                                "height=\"(\\d+)\"[^>]*><figcaption>([^<]*)</figcaption>");
  ASSERT_EQ(figures.size(), 2u);
  for (size_t i = 0; i < figures.size(); ++i) {
    const ReportImage& expected = d.figures[0].images[i];
    test::Image img = test::decode_png(base64_decode(figures[i][1]));
    EXPECT_EQ(img.width, 30);
    EXPECT_EQ(img.height, 20);
    EXPECT_TRUE(img.pixels == expected.pixels) << i;
    EXPECT_EQ(std::stoi(figures[i][2]), 90);
    EXPECT_EQ(std::stoi(figures[i][3]), 60);
    EXPECT_EQ(figures[i][4].str(), expected.caption);
  }
  // The scatter plot: one dot per point, no lines, under "Latent space".
  std::vector<std::string> charts = svg_blocks(html);
  ASSERT_EQ(charts.size(), 2u);  // the loss chart and the map
  EXPECT_NE(html.find("<h2>Latent space</h2>"), std::string::npos);
  EXPECT_EQ(find_all(charts[1], "<circle class=\"point\" data-series=\"class 1\"").size(), 200u);
  EXPECT_EQ(find_all(charts[1], "<polyline").size(), 0u);

  std::string chromium = test::chromium_binary();
  if (chromium.empty()) GTEST_SKIP() << "no chromium binary on PATH: the generative sections were not rendered";
  test::Image shot = screenshot(chromium, d, 1400, "generative");
  ASSERT_FALSE(shot.pixels.empty());
  EXPECT_GT(test::count_near(shot, 0xff, 0xf4, 0xe5), 5000u) << "the warning's background";
  // Dots are drawn at 70% opacity: on white, class 2's green is 0.7 * #2ca02c + 0.3 * white.
  EXPECT_GT(test::count_near(shot, 107, 189, 107), 300u) << "class 2's dots (green)";
  EXPECT_GT(test::count_near(shot, 255, 166, 86), 300u) << "class 1's dots (orange)";
}

TEST(Report, EscapesTextAndLeavesOutEmptySections) {
  ReportData d;
  d.title = "a <b> & \"c\"";
  d.run_info = {{"note", "<script>alert(1)</script>"}};
  d.history = {{{"loss", 1.0}}, {{"loss", 0.5}}};  // no epoch column: x is the row number
  std::string html = render_report(d);
  EXPECT_NE(html.find("<h1>a &lt;b&gt; &amp; &quot;c&quot;</h1>"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  std::vector<std::string> charts = svg_blocks(html);
  ASSERT_EQ(charts.size(), 1u);  // loss only: no accuracy column
  EXPECT_EQ(find_all(charts[0], "<polyline class=\"series\" data-series=\"loss\"").size(), 1u);
  for (const char* absent : {"class=\"cm-cell\"", "class=\"class-row\"", "<figure", "<img", "ROC curve"}) EXPECT_EQ(html.find(absent), std::string::npos) << absent;

  // A NaN breaks the line in two.
  d.history.push_back({{"loss", std::nan("")}});
  d.history.push_back({{"loss", 0.25}});
  d.history.push_back({{"loss", 0.2}});
  EXPECT_EQ(find_all(svg_blocks(render_report(d))[0], "<polyline").size(), 2u);
}

TEST(Report, TablesAndBarCharts) {
  ReportData d;
  d.tables = {{.title = "Rules", .description = "if-then", .columns = {"rule", "coverage"},
               .rows = {{"if a <= 1 then x", "52%"}, {"else <y>", "48%"}}}};
  d.chart_sections = {{.title = "By group",
                       .plots = {{.title = "ROC", .series = {{.name = "Black", .x = {0, 1}, .y = {0, 1}}}}},
                       .bars = {{.title = "rates", .y_label = "rate", .categories = {"selection", "TPR"},
                                 .series = {{.name = "Black", .values = {0.5, 0.75}, .low = {0.4, 0.7}, .high = {0.6, 0.8}},
                                            {.name = "White", .values = {1.0, std::nan("")}}}}}}};
  std::string html = render_report(d);
  EXPECT_NE(html.find("<h2>Rules</h2>"), std::string::npos);
  EXPECT_NE(html.find("<td>else &lt;y&gt;</td>"), std::string::npos);
  EXPECT_EQ(find_all(html, "<rect class=\"bar\"").size(), 3u);  // the NaN bar is left out
  EXPECT_EQ(find_all(html, "class=\"error-bar\"").size(), 2u);
  EXPECT_NE(html.find("data-series=\"White\" data-category=\"selection\""), std::string::npos);
  EXPECT_EQ(find_all(html, "<svg class=\"chart").size(), 2u);  // the bar chart and the ROC plot
  // A bar of 0.75 reaches three quarters of the way up the axis from 0 to 1 (the chart's top at y 40).
  std::string bar = html.substr(html.find("data-category=\"TPR\""));
  double y = std::stod(bar.substr(bar.find(" y=\"") + 4)), height = std::stod(bar.substr(bar.find("height=\"") + 8));
  EXPECT_NEAR(height / (y + height - 40), 0.75, 1e-3);
  d.tables[0].rows[1].pop_back();
  test::expect_error<ValueError>([&] { render_report(d); }, {"table 'Rules' row 1", "1 cells for 2 columns"});
}

TEST(Report, Errors) {
  auto expect = [](const std::function<void(ReportData&)>& edit, std::initializer_list<std::string_view> parts) {
    ReportData d = sample_data();
    edit(d);
    test::expect_error<ValueError>([&] { render_report(d); }, parts);
  };
  expect([](ReportData& d) { d.confusion.pop_back(); }, {"write_report", "confusion matrix has 9 rows", "10 class names"});
  expect([](ReportData& d) { d.confusion[3].push_back(1); }, {"write_report", "row 3", "11 entries"});
  expect([](ReportData& d) { d.confusion[2][5] = -1; }, {"write_report", "[2][5]", "negative"});
  expect([](ReportData& d) { d.class_metrics.pop_back(); }, {"write_report", "9 per-class metrics", "10 class names"});
  expect([](ReportData& d) { d.misclassified[4].pixels.pop_back(); }, {"write_report", "example 4", "783 pixel bytes", "28 x 28 x 1"});
  expect([](ReportData& d) { d.misclassified[1].channels = 2; }, {"write_report", "example 1", "channels", "2"});
  expect([](ReportData& d) { d.misclassified[2].predicted_class = 10; }, {"write_report", "example 2", "class 10", "10 classes"});
  expect([](ReportData& d) { d.roc_true_positive_rate = {0, 1}; d.roc_false_positive_rate = {0}; },
         {"write_report", "1 false positive rates for 2 true positive rates"});
  expect([](ReportData& d) { d.roc_true_positive_rate = {0, 1.5}; d.roc_false_positive_rate = {0, 1}; },
         {"write_report", "ROC point 1", "1.5", "outside [0, 1]"});
  test::expect_error<IOError>([] { write_report(sample_data(), test::temp_dir() + "/missing/dir/report.html"); }, {"write_report", "report.html"});
}
