// `cajal explain` from the command line. Images: synthetic 8x8 squares whose class is the
// quadrant of a bright square, so a faithful heat map is hot in that quadrant; every method
// writes an overlay per input and explain.html, which headless Chromium renders with the heat
// map's colours. Tables: a synthetic table whose label follows a known rule; `--method rules`
// recovers a tree that agrees with the model, and attributions.csv credits the features the
// label depends on. Bad requests are one line each.
#include <filesystem>
#include <random>
#include <sstream>

#include "program.h"
#include "support/page_render.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

const char* kSquares = R"(data:
  reader: idx
  train: {inputs: train-images.idx, targets: train-labels.idx}
  test: {inputs: test-images.idx, targets: test-labels.idx}
  class_names: [top left, top right, bottom left, bottom right]
model: {preset: cnn, options: {channels: [8, 16], hidden: 16}}
optimizer: {name: adam, lr: 0.01}
epochs: 3
batch_size: 16
num_workers: 0
output: runs/squares
)";

const char* kTable = R"(data:
  reader: csv
  train: train.csv
  test: test.csv
  label_column: label
  labels: names
  ignore_columns: [id]
  normalize: true
model: {preset: mlp, options: {hidden: [16]}}
optimizer: {name: adam, lr: 0.01}
epochs: 30
batch_size: 32
num_workers: 0
output: runs/table
)";

// n rows of four features in [0, 1) and a text id; the label is "high" when
// x0 + x1 > 1 and x2 < 0.7, else "low" (x3 is noise).
void write_table(const std::string& path, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  auto uniform = [&] { return static_cast<double>(rng() >> 8) / 16777216.0; };
  std::ostringstream out;
  out << "x0,x1,id,x2,x3,label\n";
  for (int i = 0; i < n; ++i) {
    double x[4];
    for (double& v : x) v = uniform();
    out << x[0] << "," << x[1] << ",row" << i << "," << x[2] << "," << x[3] << ","
        << (x[0] + x[1] > 1 && x[2] < 0.7 ? "high" : "low") << "\n";
  }
  test::write_text(path, out.str());
}

class ExplainProgram : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(test::temp_dir());
    test::write_squares(*dir_, "train", 400, 5);
    test::write_squares(*dir_, "test", 200, 6);
    test::write_text(*dir_ + "/squares.yaml", kSquares);
    write_table(*dir_ + "/train.csv", 1200, 1);
    write_table(*dir_ + "/test.csv", 400, 2);
    test::write_text(*dir_ + "/table.yaml", kTable);
    for (const char* config : {"squares.yaml", "table.yaml"}) {
      test::ProgramResult r = test::cajal(*dir_, std::string("train ") + config);
      ASSERT_EQ(r.code, 0) << r.out << r.err;
    }
  }
  static const std::string& dir() { return *dir_; }
  static std::string* dir_;
};
std::string* ExplainProgram::dir_ = nullptr;

// The share of an overlay's heat (red over green and blue) in each quadrant of the image.
std::array<double, 4> heat_by_quadrant(const test::Image& img) {
  std::array<double, 4> heat{};
  double total = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = &img.pixels[static_cast<size_t>((y * img.width + x) * 3)];
      const double red = std::max(0, p[0] - (p[1] + p[2]) / 2);
      heat[static_cast<size_t>((2 * y / img.height) * 2 + 2 * x / img.width)] += red;
      total += red;
    }
  for (double& h : heat) h /= std::max(total, 1e-9);
  return heat;
}

TEST_F(ExplainProgram, HeatMapsFallOnTheSquare) {
  // The label file: 4 magic bytes and one 4-byte dim, then the labels.
  const std::string label_bytes = test::read_file(dir() + "/test-labels.idx");
  for (const std::string method : {"saliency", "smoothgrad", "integrated_gradients", "occlusion", "gradcam"}) {
    SCOPED_TRACE(method);
    test::ProgramResult r = test::cajal(dir(), "explain runs/squares --input test-images.idx --method " + method +
                                                   " --limit 8 --window 3 --samples 20");
    ASSERT_EQ(r.code, 0) << r.out << r.err;
    if (method == "integrated_gradients") {
      EXPECT_NE(r.out.find("completeness"), std::string::npos) << r.out;
    }
    if (method == "gradcam") {
      EXPECT_NE(r.out.find("Grad-CAM on layer 6"), std::string::npos) << r.out;  // the last conv's ReLU
    }
    const std::string out = dir() + "/runs/squares/explain-" + method;
    EXPECT_TRUE(fs::exists(out + "/explain.html"));
    int hot_in_square = 0;
    for (int i = 0; i < 8; ++i) {
      const std::string file = out + "/" + std::to_string(i) + "_" + method + ".png";
      ASSERT_TRUE(fs::exists(file)) << file;
      test::Image img = test::decode_png(test::read_file(file), 3);
      EXPECT_EQ(img.width, 112);  // 8 pixels drawn 14 times larger
      const int label = static_cast<uint8_t>(label_bytes[8 + static_cast<size_t>(i)]);
      const std::array<double, 4> heat = heat_by_quadrant(img);
      hot_in_square += std::max_element(heat.begin(), heat.end()) - heat.begin() == label;
    }
    // Grad-CAM's localization depends on the model, not only on the code (two equally accurate
    // models of this task, trained by the gcc and the clang build, put 31 and 17 of 32 maps on
    // the square; tests/explain/attribution_test.cpp checks its values against PyTorch): here
    // only the other methods are held to it.
    if (method != "gradcam") {
      EXPECT_GE(hot_in_square, 7) << "of 8 heat maps hottest in the labelled square's quadrant";
    }
  }
}

TEST_F(ExplainProgram, ChromiumShowsTheHeatMaps) {
  const std::string chromium = test::chromium_binary();
  if (chromium.empty()) GTEST_SKIP() << "no chromium binary on PATH (scripts/setup installs Debian's chromium)";
  test::ProgramResult r = test::cajal(dir(), "explain runs/squares --input test-images.idx --method gradcam --limit 4 --output shown");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string html = test::read_file(dir() + "/shown/explain.html");
  EXPECT_NE(html.find("predicted "), std::string::npos);
  size_t images = 0;
  for (size_t at = 0; (at = html.find("<img src=\"data:image/png;base64,", at)) != std::string::npos; ++at) ++images;
  EXPECT_EQ(images, 8u);  // input and overlay, 4 times
  test::Image shot = test::screenshot(chromium, dir() + "/shown/explain.html", 1100, 700, "explain");
  // The overlays' hot colours (the jet map's red and yellow) are on the rendered page.
  size_t warm = 0;
  for (size_t i = 0; i + 2 < shot.pixels.size(); i += 3) warm += shot.pixels[i] > 180 && shot.pixels[i + 2] < 90;
  EXPECT_GT(warm, 400u) << "warm pixels";
}

TEST_F(ExplainProgram, RulesAgreeWithTheModel) {
  test::ProgramResult r = test::cajal(dir(), "explain runs/table --input test.csv --method rules --depth 3");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const size_t at = r.out.find("fidelity ");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_GE(std::stod(r.out.substr(at + 9)), 90.0) << r.out;
  // The rules name the features the label depends on, and no ignored column.
  const std::string rules = test::read_file(dir() + "/runs/table/explain-rules/rules.txt");
  for (const char* part : {"x0", "x1", "then high", "then low", "coverage"}) EXPECT_NE(rules.find(part), std::string::npos) << rules;
  EXPECT_EQ(rules.find("id <="), std::string::npos) << rules;
  EXPECT_EQ(rules.find("id >"), std::string::npos) << rules;
  EXPECT_NE(test::read_file(dir() + "/runs/table/explain-rules/explain.html").find("<h2>Rules</h2>"), std::string::npos);
}

TEST_F(ExplainProgram, TableAttributionsCreditTheRule) {
  test::ProgramResult r = test::cajal(dir(), "explain runs/table --input test.csv --method integrated_gradients --limit 50");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  std::istringstream csv(test::read_file(dir() + "/runs/table/explain-integrated_gradients/attributions.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "input,target,x0,x1,x2,x3");
  std::array<double, 4> mass{};
  int rows = 0;
  while (std::getline(csv, line)) {
    std::vector<std::string> cells;
    std::stringstream fields(line);
    for (std::string cell; std::getline(fields, cell, ',');) cells.push_back(cell);
    ASSERT_EQ(cells.size(), 6u) << line;
    for (size_t k = 0; k < 4; ++k) mass[k] += std::abs(std::stod(cells[k + 2]));
    ++rows;
  }
  EXPECT_EQ(rows, 50);
  // x3 is noise: it gets the least of the credit.
  EXPECT_LT(mass[3], std::min({mass[0], mass[1], mass[2]})) << mass[0] << " " << mass[1] << " " << mass[2] << " " << mass[3];
}

TEST_F(ExplainProgram, BadRequestsAreOneLine) {
  test::expect_failure(test::cajal(dir(), "explain runs/squares --input test-images.idx --method lime"), 2,
                       {"--method must be one of", "got 'lime'"});
  test::expect_failure(test::cajal(dir(), "explain runs/table --input test.csv --method gradcam"), 1,
                       {"no layer of Sequential gives a feature map", "Grad-CAM needs a convolutional layer"});
  test::expect_failure(test::cajal(dir(), "explain runs/squares --input test-images.idx --method rules"), 1,
                       {"rules describe models of tables"});
  test::expect_failure(test::cajal(dir(), "explain runs/squares --input test-images.idx --method saliency --target circle --limit 4"), 2,
                       {"--target circle", "4 classes"});
  test::expect_failure(test::cajal(dir(), "explain runs/squares --input test-images.idx --method gradcam --layer 12 --limit 4"), 1,
                       {"12", "Linear", "feature map"});
}

}  // namespace
}  // namespace cajal
