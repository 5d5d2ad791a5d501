// `cajal predict` and `cajal eval` on ONNX models exported by torch.onnx
// (tests/reference/onnx_import_reference.py, case "cli"): a classifier giving scores, the
// same ending in its own softmax (output "probabilities", as `cajal export` names it) and a
// regression (output "predictions"). The probabilities and predictions must be PyTorch's.
#include <filesystem>
#include <sstream>

#include "cli/program.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using test::cajal;

class OnnxProgram : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::temp_dir();
    ok_ = test::run_reference("onnx_import_reference.py", dir_ + " cli", &log_);
  }
  void SetUp() override { ASSERT_TRUE(ok_) << log_; }

  static inline std::string dir_, log_;
  static inline bool ok_ = false;
};

// The numbers of each CSV row after the header, from column `first` on.
std::vector<std::vector<double>> csv_numbers(const std::string& text, size_t first) {
  std::vector<std::vector<double>> rows;
  std::stringstream lines(text);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::vector<double> cells;
    std::stringstream row(line);
    size_t column = 0;
    for (std::string cell; std::getline(row, cell, ','); ++column)
      if (column >= first) cells.push_back(std::strtod(cell.c_str(), nullptr));
    rows.push_back(cells);
  }
  return rows;
}

void expect_rows_match(const std::vector<std::vector<double>>& rows, const Tensor& expected) {
  ASSERT_EQ(static_cast<int64_t>(rows.size()), expected.size(0));
  for (int64_t i = 0; i < expected.size(0); ++i) {
    std::vector<double> want = expected[i].to_vector<double>();
    ASSERT_EQ(rows[static_cast<size_t>(i)].size(), want.size());
    for (size_t k = 0; k < want.size(); ++k) EXPECT_NEAR(rows[static_cast<size_t>(i)][k], want[k], 1e-5) << i << "," << k;
  }
}

TEST_F(OnnxProgram, PredictGivesPyTorchsProbabilities) {
  Tensor expected = load_npy(dir_ + "/cli_probabilities.npy");
  // Scores get a softmax; a model with its own softmax does not get a second one.
  for (const char* model : {"cli_scores.onnx", "cli_probabilities.onnx"}) {
    SCOPED_TRACE(model);
    test::ProgramResult r = cajal(dir_, std::string("predict ") + model + " --input cli_x.npy");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(r.out.starts_with("input,label,p_0,p_1,")) << r.out;
    expect_rows_match(csv_numbers(r.out, 2), expected);
  }
}

TEST_F(OnnxProgram, PredictGivesARegressionsValues) {
  test::ProgramResult r = cajal(dir_, "predict cli_regression.onnx --input cli_x.npy");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("input,prediction_0,prediction_1,prediction_2\n")) << r.out;
  expect_rows_match(csv_numbers(r.out, 1), load_npy(dir_ + "/cli_predictions.npy"));
}

TEST_F(OnnxProgram, EvalScoresAnOnnxClassifier) {
  test::ProgramResult r = cajal(dir_, "eval cli_scores.onnx --data cli_x.npy --labels cli_labels.npy");
  ASSERT_EQ(r.code, 0) << r.err;
  double accuracy = load_npy(dir_ + "/cli_accuracy.npy").item<double>();
  std::ostringstream line;
  line << "accuracy" << std::string(13, ' ') << std::fixed << std::setprecision(4) << accuracy << "\n";
  EXPECT_NE(r.out.find(line.str()), std::string::npos) << r.out;
}

TEST_F(OnnxProgram, InputsOfAnotherShapeAreRefused) {
  std::filesystem::copy_file(dir_ + "/cli_labels.npy", dir_ + "/wrong.npy", std::filesystem::copy_options::overwrite_existing);
  test::ProgramResult r = cajal(dir_, "predict cli_scores.onnx --input wrong.npy");
  test::expect_failure(r, 1, {"wrong.npy", "[1, 28, 28]"});
}

}  // namespace
}  // namespace cajal
