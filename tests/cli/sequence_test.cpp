// The sequence workloads through the built `cajal` program (CAJAL_CLI, passed by CMake): a
// tiny character language model trained end to end and sampled with `cajal generate`, a
// windowed series forecast reported beside the naive forecast, the NaN guard stopping an
// exploding recurrent network that gradient clipping (on by default) keeps trainable, and
// the config errors of the text and series readers.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cajal/cli/config.h"
#include "cajal/io/safetensors.h"
#include "program.h"
#include "support/test_support.h"

namespace cajal {
namespace {

using test::cajal;
using test::expect_failure;
using test::read_file;
using Result = test::ProgramResult;

// metrics.csv as columns by name.
std::map<std::string, std::vector<double>> read_metrics(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  std::vector<std::string> names;
  std::stringstream header(line);
  for (std::string name; std::getline(header, name, ',');) names.push_back(name);
  std::map<std::string, std::vector<double>> columns;
  while (std::getline(file, line)) {
    std::stringstream row(line);
    std::string cell;
    for (size_t k = 0; k < names.size() && std::getline(row, cell, ','); ++k) columns[names[k]].push_back(std::stod(cell));
  }
  return columns;
}

const char* kPattern = "the quick brown fox jumps over the lazy dog\n";

// A folder with fox.txt (the pattern, 150 times) and lm.yaml, a small char_lstm on it.
std::string language_model_dir() {
  std::string dir = test::temp_dir();
  std::string text;
  for (int i = 0; i < 150; ++i) text += kPattern;
  std::ofstream(dir + "/fox.txt") << text;
  std::ofstream(dir + "/lm.yaml") << R"(data:
  reader: text
  train: fox.txt
  seq_len: 24
  validation_split: 0.1
model:
  preset: char_lstm
  options: {embedding: 16, hidden: 48, layers: 1, dropout: 0}
optimizer: {name: adam, lr: 0.02}
epochs: 4
batch_size: 16
num_workers: 0
output: run
)";
  return dir;
}

// Trained once for the tests that sample from it.
class CharLM : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = language_model_dir();
    trained_ = cajal(dir_, "train lm.yaml");
  }
  static inline std::string dir_;
  static inline Result trained_;
};

TEST_F(CharLM, TrainsEndToEndWithPerplexity) {
  ASSERT_EQ(trained_.code, 0) << trained_.err;
  EXPECT_NE(trained_.out.find("gradient clipping: max_norm 1 (the default for recurrent models"), std::string::npos);
  auto metrics = read_metrics(dir_ + "/run/metrics.csv");
  ASSERT_EQ(metrics["val_perplexity"].size(), 4u);
  for (size_t e = 0; e < 4; ++e) {
    EXPECT_NEAR(metrics["perplexity"][e], std::exp(metrics["loss"][e]), 1e-9 * metrics["perplexity"][e]);
    EXPECT_NEAR(metrics["val_perplexity"][e], std::exp(metrics["val_loss"][e]), 1e-9 * metrics["val_perplexity"][e]);
  }
  // 27 characters: a uniform guess has perplexity 27; the pattern is learned.
  EXPECT_LT(metrics["val_perplexity"].back(), 1.2);
  EXPECT_LT(metrics["val_perplexity"].back(), metrics["val_perplexity"].front());
  EXPECT_GT(metrics["val_accuracy"].back(), 0.95);
  // The model file keeps the vocabulary and says what the model takes.
  SafetensorsMetadata meta = load_safetensors_metadata(dir_ + "/run/model.safetensors");
  EXPECT_EQ(meta["cajal.task"], "language_model");
  EXPECT_EQ(meta["cajal.input_dtype"], "int64");
  EXPECT_EQ(meta["cajal.input_shape"], "[24]");
}

TEST_F(CharLM, GenerateContinuesThePattern) {
  ASSERT_EQ(trained_.code, 0) << trained_.err;
  Result greedy = cajal(dir_, "generate run --prompt 'the quick' --temperature 0 --length 80");
  ASSERT_EQ(greedy.code, 0) << greedy.err;
  std::string expected;
  while (expected.size() < 100) expected += kPattern;
  EXPECT_EQ(greedy.out, expected.substr(0, 9 + 80) + "\n");
  // Temperature -> 0 is greedy decoding; top-1 is greedy at any temperature.
  EXPECT_EQ(cajal(dir_, "generate run --prompt 'the quick' --temperature 0.000001 --length 80 --seed 4").out, greedy.out);
  EXPECT_EQ(cajal(dir_, "generate run --prompt 'the quick' --temperature 3 --top-k 1 --length 80 --seed 4").out, greedy.out);
  // Sampling is reproducible by seed.
  Result a = cajal(dir_, "generate run --prompt 'o' --temperature 2 --length 60 --seed 7");
  Result b = cajal(dir_, "generate run --prompt 'o' --temperature 2 --length 60 --seed 7");
  EXPECT_EQ(a.code, 0);
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out.size(), 62u);  // the prompt, 60 characters, a newline
}

TEST_F(CharLM, GenerateErrors) {
  ASSERT_EQ(trained_.code, 0) << trained_.err;
  expect_failure(cajal(dir_, "generate run --prompt 'The'"), 1,
                 {"--prompt: character 'T' at position 0 is not in the vocabulary (28 characters)"});
  expect_failure(cajal(dir_, "generate run"), 2, {"--prompt TEXT is required"});
  expect_failure(cajal(dir_, "generate run --prompt a --temperature hot"), 2, {"--temperature must be a number >= 0"});
  expect_failure(cajal(dir_, "generate run --prompt a --top-k -1"), 2, {"--top-k must be an integer >= 0"});
  expect_failure(cajal(dir_, "generate nowhere --prompt a"), 1, {"nowhere: no such file"});
  expect_failure(cajal(dir_, "predict run --input fox.txt"), 1, {"run/model.safetensors: a language model: sample from it with `cajal generate`"});
  expect_failure(cajal(dir_, "eval run"), 1, {"a language model"});
}

// A sine wave around 1000, not normalized: an RNN with ReLU on it explodes at this rate.
std::string wave_dir() {
  std::string dir = test::temp_dir();
  std::ofstream csv(dir + "/wave.csv");
  csv << "t,value\n";
  for (int t = 0; t < 400; ++t) csv << t << "," << 1000 + 500 * std::sin(t / 5.0) << "\n";
  csv.close();
  std::ofstream(dir + "/explode.yaml") << R"(data:
  reader: series
  train: wave.csv
  column: value
  window: 30
  validation_split: 0.2
  normalize: false
model:
  layers:
    - {type: rnn, hidden: 16, nonlinearity: relu, output: last}
    - {type: linear, out: 1}
optimizer: {name: sgd, lr: 0.01}
epochs: 3
batch_size: 16
num_workers: 0
output: run
)";
  return dir;
}

TEST(ExplodingGradients, NaNGuardStopsWithoutClippingAndClippingTrains) {
  std::string dir = wave_dir();
  Result unclipped = cajal(dir, "train explode.yaml --set callbacks.grad_clip.max_norm=0");
  expect_failure(unclipped, 1, {"Trainer: the loss is", "nan at epoch 1", "clip gradients (clip_grad_norm)"});
  EXPECT_EQ(unclipped.out.find("gradient clipping:"), std::string::npos);

  Result clipped = cajal(dir, "train explode.yaml");  // max_norm 1 by default for recurrent models
  ASSERT_EQ(clipped.code, 0) << clipped.err;
  auto metrics = read_metrics(dir + "/run/metrics.csv");
  ASSERT_EQ(metrics["loss"].size(), 3u);
  for (double loss : metrics["loss"]) EXPECT_TRUE(std::isfinite(loss));
  EXPECT_LT(metrics["val_loss"].back(), 0.5 * metrics["val_loss"].front());
}

TEST(Forecasting, ReportsTestMSEBesideTheNaiveForecast) {
  const std::string sunspots = "/usr/lib/python3/dist-packages/statsmodels/datasets/sunspots/sunspots.csv";
  if (!std::filesystem::exists(sunspots)) GTEST_SKIP() << "python3-statsmodels is not installed";
  std::string dir = test::temp_dir();
  std::ofstream(dir + "/sun.yaml") << "data: {reader: series, train: " << sunspots << R"(, column: SUNACTIVITY,
  window: 12, validation_split: 0.15, test_split: 0.15}
model: {preset: lstm_forecaster, options: {hidden: 8}}
optimizer: {name: adam, lr: 0.01}
epochs: 2
batch_size: 32
num_workers: 0
output: run
)";
  Result r = cajal(dir, "train sun.yaml");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("; naive last-value forecast: test MSE "), std::string::npos) << r.out;
  SafetensorsMetadata meta = load_safetensors_metadata(dir + "/run/model.safetensors");
  EXPECT_EQ(meta["cajal.task"], "regression");
  EXPECT_EQ(meta["cajal.input_shape"], "[12, 1]");
  ASSERT_TRUE(meta.count("metrics.test_naive_mse"));
  ASSERT_TRUE(meta.count("metrics.test_loss"));
  EXPECT_GT(std::stod(meta["metrics.test_naive_mse"]), 0);
}

TEST(SequenceConfig, ReadersAndTheirErrors) {
  auto error = [](const std::string& yaml) {
    return test::error_message<Error>([&] { cli::parse_config(yaml, "c.yaml"); });
  };
  cli::RunConfig text = cli::parse_config("data: {reader: text, train: a.txt, seq_len: 64}\nmodel: {preset: char_lstm}\n", "c.yaml");
  EXPECT_EQ(text.data.text.seq_len, 64);
  EXPECT_EQ(text.data.text.stride, 64);
  EXPECT_FALSE(text.callbacks.clip_grad_norm);  // decided by the model: on for recurrent layers
  cli::RunConfig series = cli::parse_config(
      "data: {reader: series, train: s.csv, column: v, window: 5, horizon: 2, test_split: 0.2, missing: interpolate}\n"
      "model: {preset: lstm_forecaster}\ncallbacks: {grad_clip: {max_norm: 0}}\n", "c.yaml");
  EXPECT_EQ(series.data.series.window, 5);
  EXPECT_EQ(series.data.series.horizon, 2);
  EXPECT_DOUBLE_EQ(series.data.series.test_split, 0.2);
  EXPECT_TRUE(series.data.normalize);  // series normalize by default
  EXPECT_EQ(series.callbacks.clip_grad_norm, 0.0);
  EXPECT_EQ(error("data: {reader: text, train: a.txt, seq_lenn: 64}\nmodel: {preset: char_lstm}\n"),
            "c.yaml: data: unknown key 'seq_lenn'; did you mean 'seq_len'?");
  EXPECT_EQ(error("data: {reader: series, train: s.csv}\nmodel: {preset: lstm_forecaster}\n"),
            "c.yaml: data: key 'column' is required (a string)");
  EXPECT_EQ(error("data: {reader: series, train: s.csv, column: v, test: t.csv}\nmodel: {preset: lstm_forecaster}\n"),
            "c.yaml: data: key 'test' is not read by the series reader: the test part is test_split of the series");
}

TEST(SequenceConfig, ExamplesAreValid) {
  std::string examples = std::string(CAJAL_REFERENCE_DIR) + "/../../examples/";
  for (const char* name : {"char_lstm.yaml", "char_transformer.yaml", "fashion_mnist_gru.yaml", "fashion_mnist_lstm.yaml",
                           "sunspots_lstm.yaml"}) {
    SCOPED_TRACE(name);
    cli::RunConfig config = cli::load_config(examples + name);
    EXPECT_FALSE(config.callbacks.clip_grad_norm);  // the recurrent default applies
  }
  EXPECT_EQ(cli::load_config(examples + "char_lstm.yaml").data.reader, "text");
  EXPECT_EQ(cli::load_config(examples + "sunspots_lstm.yaml").data.series.column, "SUNACTIVITY");
}

TEST(SequenceConfig, DataErrorsNameTheFile) {
  std::string dir = test::temp_dir();
  std::ofstream(dir + "/s.csv") << "t,v\n1,2\n2,\n";
  std::ofstream(dir + "/c.yaml") << "data: {reader: series, train: s.csv, column: v, window: 1}\nmodel: {preset: lstm_forecaster}\n";
  expect_failure(cajal(dir, "train c.yaml"), 1, {"s.csv:3: missing value in column 'v' (missing: interpolate fills such gaps)"});
  std::ofstream(dir + "/t.yaml") << "data: {reader: text, train: none.txt}\nmodel: {preset: char_lstm}\n";
  expect_failure(cajal(dir, "train t.yaml"), 1, {"none.txt: no such file or folder (text)"});
  std::ofstream(dir + "/a.txt") << "abc";
  std::ofstream(dir + "/m.yaml") << "data: {reader: text, train: a.txt, seq_len: 2}\nmodel: {preset: mlp}\n";
  expect_failure(cajal(dir, "train m.yaml"), 1, {"model 'mlp'"});
}

}  // namespace
}  // namespace cajal
