// `cajal export` through the built program (CAJAL_CLI, passed by CMake): small runs trained
// here are exported, and ONNX Runtime (tests/reference/onnx_runtime.js), given the raw inputs
// `cajal predict` reads, gives the probabilities and predictions `cajal predict` prints: the
// normalization of training and the softmax are in the graph. A language model gives its
// per-step scores, as the model file does in cajal.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cajal/cli/inputs.h"
#include "cajal/cli/model_file.h"
#include "cajal/data/idx.h"
#include "cajal/io/npy.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/random.h"
#include "program.h"
#include "support/test_support.h"

namespace fs = std::filesystem;

namespace cajal {
namespace {

using test::cajal;
using test::expect_failure;
using Result = test::ProgramResult;

// The numbers of a CSV file written by `cajal predict`, row by row, from column `first` on.
Tensor csv_numbers(const std::string& path, size_t first) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);  // the header
  std::vector<double> values;
  int64_t rows = 0;
  while (std::getline(file, line)) {
    std::stringstream row(line);
    std::string cell;
    for (size_t column = 0; std::getline(row, cell, ','); ++column) {
      if (column >= first) values.push_back(std::stod(cell));
    }
    ++rows;
  }
  return from_vector(values).reshape({rows, -1});
}

// ONNX Runtime's output for `model` on the inputs in `inputs` (a .npy file), after
// onnx_check.py's checks; `described` gets its description of the model.
Tensor onnx_runtime(const std::string& dir, const std::string& model, const std::string& inputs, std::string* described) {
  EXPECT_TRUE(test::run_reference("onnx_check.py", model, described));
  EXPECT_TRUE(test::run_node_reference("onnx_runtime.js", model + " " + inputs + " " + dir + "/ort.npy"));
  return load_npy(dir + "/ort.npy");
}

// `cajal predict` prints 6 significant digits: ONNX Runtime's float32 values agree to those.
constexpr double kPrinted = 1e-5;

TEST(ExportCommand, ClassifierGivesThePredictProbabilities) {
  const std::string dir = test::temp_dir();
  test::write_squares(dir, "train", 200, 1);
  test::write_squares(dir, "test", 40, 2);
  test::write_text(dir + "/squares.yaml", R"(data:
  reader: idx
  train: {inputs: train-images.idx, targets: train-labels.idx}
  normalize: true
model: {preset: cnn, options: {channels: [4, 8], hidden: 16}}
epochs: 1
batch_size: 32
num_workers: 0
output: run
)");
  Result train = cajal(dir, "train squares.yaml");
  ASSERT_EQ(train.code, 0) << train.err;
  Result exported = cajal(dir, "export run --format onnx");
  ASSERT_EQ(exported.code, 0) << exported.err;
  EXPECT_EQ(exported.out, "cajal export: wrote run/model.onnx (ONNX opset 17): input 'input' float32 [batch, 1, 8, 8], "
                          "output 'probabilities'\n");
  expect_failure(cajal(dir, "export run --opset 12 --output old.onnx"), 1,
                 {"opset 12 is not supported; the ONNX exporter writes opsets 13 to 17"});
  EXPECT_FALSE(fs::exists(dir + "/old.onnx"));
  Result predict = cajal(dir, "predict run --input test-images.idx --output predictions.csv");
  ASSERT_EQ(predict.code, 0) << predict.err;

  // The raw inputs predict reads: the IDX bytes scaled to [0, 1], a channel dim added.
  Tensor images = (data::read_idx(dir + "/test-images.idx").to(DType::f32) / 255.0).unsqueeze(1);
  save_npy(images, dir + "/images.npy");
  std::string described;
  Tensor probabilities = onnx_runtime(dir, dir + "/run/model.onnx", dir + "/images.npy", &described);
  EXPECT_NE(described.find(" input=input:FLOAT[batch,1,8,8] output=probabilities:FLOAT[batch,4] "), std::string::npos)
      << described;
  EXPECT_TRUE(test::all_close(probabilities, csv_numbers(dir + "/predictions.csv", 2), kPrinted, 1e-7));
}

TEST(ExportCommand, RegressionGivesThePredictValues) {
  const std::string dir = test::temp_dir();
  std::ofstream table(dir + "/prices.csv");
  table << "rooms,floor,price\n";
  for (int i = 0; i < 40; ++i) table << 1 + i % 6 << "," << i % 4 << "," << 50 + 60 * (1 + i % 6) + 5 * (i % 4) << "\n";
  table.close();
  test::write_text(dir + "/prices.yaml", R"(data: {reader: csv, train: prices.csv, labels: values, normalize: true}
model: {preset: mlp, options: {hidden: [8]}}
loss: mse
epochs: 1
num_workers: 0
output: run
)");
  Result train = cajal(dir, "train prices.yaml");
  ASSERT_EQ(train.code, 0) << train.err;
  ASSERT_EQ(cajal(dir, "export run --output prices.onnx").code, 0);  // --format defaults to onnx
  Result predict = cajal(dir, "predict run --input prices.csv --output predictions.csv");
  ASSERT_EQ(predict.code, 0) << predict.err;

  Tensor features = csv_numbers(dir + "/prices.csv", 0).narrow(1, 0, 2).to(DType::f32).contiguous();
  save_npy(features, dir + "/features.npy");
  std::string described;
  Tensor values = onnx_runtime(dir, dir + "/prices.onnx", dir + "/features.npy", &described);
  EXPECT_NE(described.find(" output=predictions:FLOAT[batch,1] "), std::string::npos) << described;
  EXPECT_TRUE(test::all_close(values, csv_numbers(dir + "/predictions.csv", 1), kPrinted, 1e-7));
}

TEST(ExportCommand, LanguageModelGivesItsScores) {
  const std::string dir = test::temp_dir();
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the quick brown fox jumps over the lazy dog\n";
  test::write_text(dir + "/fox.txt", text);
  test::write_text(dir + "/lm.yaml", R"(data: {reader: text, train: fox.txt, seq_len: 16}
model: {preset: char_transformer, options: {d_model: 16, heads: 2, layers: 1}}
epochs: 1
batch_size: 16
num_workers: 0
output: run
)");
  Result train = cajal(dir, "train lm.yaml");
  ASSERT_EQ(train.code, 0) << train.err;
  ASSERT_EQ(cajal(dir, "export run/model.safetensors --opset 13 --output lm.onnx").code, 0);

  cli::LoadedModel model = cli::load_model(dir + "/run");
  Generator gen(5);
  Tensor tokens = randint(0, model.info.input.num_classes, {3, 16}, {.dtype = DType::i64}, &gen);
  save_npy(tokens, dir + "/tokens.npy");
  std::string described;
  Tensor scores = onnx_runtime(dir, dir + "/lm.onnx", dir + "/tokens.npy", &described);
  EXPECT_NE(described.find(" opset=13 input=input:INT64[batch,16] output=logits:FLOAT[batch,16,"), std::string::npos)
      << described;
  EXPECT_TRUE(test::all_close(scores, cli::run_model(*model.module, tokens), 1e-5, 1e-5));
}

TEST(ExportCommand, BadArgumentsAreRefused) {
  const std::string dir = test::temp_dir();
  expect_failure(cajal(dir, "export"), 2, {"cajal export: expected one model file or run folder"});
  expect_failure(cajal(dir, "export run --format tflite"), 2, {"unknown format 'tflite'"});
  expect_failure(cajal(dir, "export run --opset seventeen"), 2, {"--opset must be an integer, got 'seventeen'"});
  expect_failure(cajal(dir, "export nowhere.safetensors"), 1, {"nowhere.safetensors: no such file"});
  Result help = cajal(dir, "export --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_TRUE(help.out.starts_with("usage: cajal export MODEL_OR_RUN")) << help.out;
}

}  // namespace
}  // namespace cajal
