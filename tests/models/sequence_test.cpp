// Sequence presets and layer kinds against their PyTorch twins
// (tests/reference/sequence_models_reference.py: torch.nn modules loaded with cajal's
// weights, the same outputs in eval mode), shape inference and errors of the layer kinds, and
// sampling from a language model (temperature, top-k) against torch's softmax.
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cajal/io/npy.h"
#include "cajal/models/models.h"
#include "support/test_support.h"

namespace cajal {
namespace {

models::Options options(std::initializer_list<std::pair<std::string, std::string>> entries) {
  models::Options out;
  for (const auto& [name, text] : entries) {
    if (!text.starts_with('[')) {
      out.set(name, models::OptionValue::scalar(text));
      continue;
    }
    std::vector<std::string> items;  // "[28, 28]"
    std::istringstream list(text.substr(1, text.size() - 2));
    for (std::string item; std::getline(list, item, ',');) items.push_back(item.substr(item.find_first_not_of(' ')));
    out.set(name, models::OptionValue::list(items));
  }
  return out;
}

models::LayerSpec layer(const std::string& type, std::initializer_list<std::pair<std::string, std::string>> args = {}) {
  return {type, options(args)};
}

// A model, its input, and the PyTorch twin the reference builds (config.json).
struct TorchCase {
  nn::ModulePtr model;
  Tensor input;
  std::string config_json;
  std::string dir{};  // the model's state_dict, input and torch's output
};

Tensor tokens(int64_t n, int64_t t, int64_t vocab) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < n * t; ++i) ids.push_back((i * 7 + i / 3) % vocab);
  return from_vector(ids, {n, t});
}

// Every preset and a list of the layer kinds, built (seeded) and checked as configs are.
std::map<std::string, TorchCase> build_cases() {
  std::map<std::string, TorchCase> cases;
  auto preset = [](const std::string& name, models::Options o, const models::ModelInput& input, uint64_t seed) {
    manual_seed(seed);
    nn::ModulePtr model = models::make_model(name, o, input);
    models::check_model(*model, input, name);
    return model;
  };
  models::ModelInput text{.shape = {12}, .num_classes = 20, .dtype = DType::i64, .per_step = true};
  cases["char_lstm"] = {preset("char_lstm", options({{"embedding", "8"}, {"hidden", "16"}, {"layers", "2"}}), text, 1),
                        tokens(3, 12, 20),
                        R"({"kind": "char_lstm", "vocab": 20, "embedding": 8, "hidden": 16, "layers": 2})"};
  models::ModelInput text10{.shape = {10}, .num_classes = 15, .dtype = DType::i64, .per_step = true};
  cases["char_transformer"] = {
      preset("char_transformer", options({{"d_model", "16"}, {"heads", "4"}, {"layers", "2"}, {"ff", "32"}}), text10, 2),
      tokens(2, 10, 15),
      R"({"kind": "char_transformer", "vocab": 15, "d_model": 16, "heads": 4, "layers": 2, "ff": 32, "seq_len": 10})"};
  test::NormalSampler normal(4);
  for (std::string cell : {"gru", "lstm"}) {
    cases["rnn_classifier_" + cell] = {
        preset("rnn_classifier", options({{"cell", cell}, {"hidden", "6"}, {"layers", "2"}, {"bidirectional", "true"}}),
               {.shape = {1, 7, 5}, .num_classes = 4}, 3),
        normal({3, 1, 7, 5}),
        R"({"kind": "rnn_classifier", "cell": ")" + cell +
            R"(", "width": 5, "hidden": 6, "layers": 2, "bidirectional": true, "classes": 4})"};
  }
  cases["lstm_forecaster"] = {preset("lstm_forecaster", options({{"hidden", "8"}, {"layers", "2"}}),
                                     {.shape = {9, 1}, .num_classes = 3}, 5),
                              normal({4, 9, 1}),
                              R"({"kind": "lstm_forecaster", "features": 1, "hidden": 8, "layers": 2, "horizon": 3})"};
  manual_seed(7);
  std::vector<models::LayerSpec> specs = {
      layer("embedding", {{"dim", "8"}}),
      layer("positional_encoding", {{"type", "learned"}}),
      layer("transformer_encoder", {{"heads", "2"}, {"ff", "16"}, {"dropout", "0"}, {"causal", "true"}}),
      layer("lstm", {{"hidden", "5"}, {"bidirectional", "true"}}),
      layer("last_step"),
      layer("linear", {{"out", "3"}}),
  };
  Dims out;
  nn::Sequential list = models::build_layers(specs, Dims{6}, &out, "model.layers", 11);
  EXPECT_EQ(out, Dims({3}));
  {
    // The learned table starts at zero (as torch's twin would); give it values to compare.
    NoGradGuard no_grad;
    for (auto& [name, t] : list->named_parameters())
      if (name == "1.weight") t.copy_(normal({6, 8}));
  }
  cases["layers"] = {list.ptr(), tokens(2, 6, 11),
                     R"({"kind": "layers", "vocab": 11, "dim": 8, "seq_len": 6, "heads": 2, "ff": 16, "hidden": 5,
                         "out": 3})"};
  return cases;
}

// The cases, and torch's outputs for them (one run of the reference for all).
class TorchTwins : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cases_ = build_cases();
    std::string dirs;
    for (auto& [name, c] : cases_) {
      c.dir = test::temp_dir();
      std::filesystem::create_directory(c.dir + "/params");
      for (const auto& [param, t] : c.model->state_dict()) save_npy(t, c.dir + "/params/" + param + ".npy");
      save_npy(c.input, c.dir + "/input.npy");
      std::ofstream(c.dir + "/config.json") << c.config_json;
      dirs += " " + c.dir;
    }
    written_ = test::run_reference("sequence_models_reference.py", dirs);
  }
  void SetUp() override { ASSERT_TRUE(written_); }
  // The model's outputs in eval mode equal torch's.
  static void expect_matches(const std::string& name) {
    TorchCase& c = cases_.at(name);
    c.model->eval();
    NoGradGuard no_grad;
    EXPECT_TRUE(test::all_close(c.model->forward(c.input), load_npy(c.dir + "/output.npy"), 1e-4, 1e-5));
  }
  static inline std::map<std::string, TorchCase> cases_;
  static inline bool written_ = false;
};

TEST_F(TorchTwins, CharLSTM) { expect_matches("char_lstm"); }

TEST_F(TorchTwins, CharTransformerIsCausal) {
  expect_matches("char_transformer");
  // Changing the last tokens leaves the scores at earlier steps as they were.
  TorchCase& c = cases_.at("char_transformer");
  NoGradGuard no_grad;
  Tensor changed = c.input.clone();
  changed.slice(1, 6, 10).fill_(3);
  Tensor a = c.model->forward(c.input), b = c.model->forward(changed);
  EXPECT_TRUE(test::all_close(a.slice(1, 0, 6), b.slice(1, 0, 6), 1e-6, 1e-6));
  EXPECT_FALSE(test::all_close(a.slice(1, 6, 10), b.slice(1, 6, 10), 1e-3, 1e-3));
}

TEST_F(TorchTwins, RNNClassifierReadsImageRows) {
  expect_matches("rnn_classifier_gru");
  expect_matches("rnn_classifier_lstm");
}

TEST_F(TorchTwins, LSTMForecaster) { expect_matches("lstm_forecaster"); }

TEST_F(TorchTwins, LayerKinds) { expect_matches("layers"); }

TEST(SequenceLayers, OutputShapes) {
  Dims out;
  models::build_layers({layer("gru", {{"hidden", "4"}, {"layers", "2"}, {"output", "last"}})}, Dims{7, 3}, &out);
  EXPECT_EQ(out, Dims({4}));
  models::build_layers({layer("lstm", {{"hidden", "6"}, {"proj", "2"}, {"bidirectional", "true"}})}, Dims{7, 3}, &out);
  EXPECT_EQ(out, Dims({7, 4}));
  models::build_layers({layer("rnn", {{"hidden", "4"}, {"nonlinearity", "relu"}})}, Dims{7, 3}, &out);
  EXPECT_EQ(out, Dims({7, 4}));
  models::build_layers({layer("reshape", {{"shape", "[28, 28]"}}), layer("gru", {{"hidden", "4"}, {"output", "last"}})},
                       Dims{1, 28, 28}, &out);
  EXPECT_EQ(out, Dims({4}));
}

TEST(SequenceLayers, Errors) {
  auto error = [](std::vector<models::LayerSpec> specs, const Dims& in) {
    return test::error_message<Error>([&] { models::build_layers(specs, in); });
  };
  EXPECT_EQ(error({layer("lstm", {{"hidden", "4"}})}, Dims{1, 28, 28}),
            "model.layers[0] (lstm): expects sequences [N, T, features], got input of shape [N, 1, 28, 28]");
  EXPECT_EQ(error({layer("embedding", {{"dim", "4"}})}, Dims{5}),
            "model.layers[0] (embedding): option 'num' is required (an integer)");
  EXPECT_EQ(error({layer("gru", {{"hidden", "4"}, {"output", "final"}})}, Dims{5, 2}),
            "model.layers[0] (gru): option 'output' has no value 'final' (valid: sequence, last)");
  EXPECT_EQ(error({layer("transformer_encoder", {{"heads", "3"}})}, Dims{5, 8}),
            "model.layers[0] (transformer_encoder): option 'heads' must divide the model width 8, got 3");
  EXPECT_EQ(error({layer("lstmm", {{"hidden", "4"}})}, Dims{5, 2}),
            "model.layers[0]: unknown layer type 'lstmm'; did you mean 'lstm'?");
  models::ModelInput images{.shape = {1, 28, 28}, .num_classes = 10};
  test::expect_error<ShapeError>([&] { models::make_model("char_lstm", {}, images); },
                                 {"model 'char_lstm': needs token ids [T] (data.reader: text)"});
}

TEST(SequenceLayers, RecurrentLayersAreFound) {
  models::ModelInput tokens_input{.shape = {8}, .num_classes = 5, .dtype = DType::i64, .per_step = true};
  EXPECT_TRUE(models::has_recurrent_layers(*models::make_model("char_lstm", {}, tokens_input)));
  EXPECT_FALSE(models::has_recurrent_layers(*models::make_model("char_transformer", options({{"d_model", "8"}, {"heads", "2"}}), tokens_input)));
  EXPECT_TRUE(models::has_recurrent_layers(*models::make_model("rnn_classifier", {}, {.shape = {1, 4, 4}, .num_classes = 2})));
  EXPECT_FALSE(models::has_recurrent_layers(*models::make_model("mlp", {}, {.shape = {4}, .num_classes = 2})));
}

// ------------------------------------------------------------------ sampling

TEST(Sampling, TemperatureZeroIsArgmaxAndTopKRestricts) {
  Tensor scores = tensor({0.5f, 2.0f, -1.0f, 1.9f, 0.0f, 1.0f});
  Generator gen(0);
  EXPECT_EQ(models::sample_token(scores, 0, 0, gen), 1);
  EXPECT_EQ(models::sample_token(scores, 1e-6, 0, gen), 1);  // temperature -> 0: the argmax
  for (int i = 0; i < 20; ++i) EXPECT_EQ(models::sample_token(scores, 5.0, 1, gen), 1);  // top-1 is greedy
  // Top 3 at temperature 0.7: frequencies of 20000 draws against torch's softmax of the kept scores.
  std::string output;
  ASSERT_TRUE(test::run_reference("sampling_reference.py", "0.7 3 0.5 2.0 -1.0 1.9 0.0 1.0", &output));
  std::vector<double> expected;
  std::istringstream in(output);
  for (double p; in >> p;) expected.push_back(p);
  ASSERT_EQ(expected.size(), 6u);
  std::vector<int> counts(6, 0);
  const int draws = 20000;
  for (int i = 0; i < draws; ++i) ++counts[static_cast<size_t>(models::sample_token(scores, 0.7, 3, gen))];
  for (size_t v = 0; v < 6; ++v) {
    double frequency = static_cast<double>(counts[v]) / draws;
    double sigma = std::sqrt(expected[v] * (1 - expected[v]) / draws);
    EXPECT_NEAR(frequency, expected[v], 5 * sigma + 1e-12) << "token " << v;
  }
  EXPECT_EQ(counts[0] + counts[2] + counts[4], 0);  // outside the top 3: never drawn
}

TEST(Sampling, GenerateTokensGreedyEqualsTinyTemperature) {
  manual_seed(11);
  models::ModelInput input{.shape = {8}, .num_classes = 9, .dtype = DType::i64, .per_step = true};
  nn::ModulePtr model = models::make_model("char_lstm", options({{"embedding", "4"}, {"hidden", "8"}, {"layers", "1"}}), input);
  Tensor prompt = tensor({1, 2, 3});
  Generator a(1), b(2);
  Tensor greedy = models::generate_tokens(*model, prompt, {.length = 20, .temperature = 0, .context = 8}, a);
  Tensor cold = models::generate_tokens(*model, prompt, {.length = 20, .temperature = 1e-7, .context = 8}, b);
  EXPECT_TRUE(test::all_close(greedy, cold));
  // Greedy decoding by hand: the argmax of the scores at the last of at most 8 steps.
  std::vector<int64_t> seq = {1, 2, 3};
  NoGradGuard no_grad;
  model->eval();
  for (int i = 0; i < 20; ++i) {
    std::vector<int64_t> window(seq.end() - std::min<size_t>(seq.size(), 8), seq.end());
    Tensor scores = model->forward(from_vector(window, {1, static_cast<int64_t>(window.size())}));
    seq.push_back(scores[0][static_cast<int64_t>(window.size()) - 1].argmax(0).item<int64_t>());
  }
  EXPECT_EQ(greedy.to_vector<int64_t>(), std::vector<int64_t>(seq.begin() + 3, seq.end()));
  // The same seed draws the same text; sampling at temperature 1 differs from greedy somewhere.
  Generator c(5), d(5);
  Tensor s1 = models::generate_tokens(*model, prompt, {.length = 30, .context = 8}, c);
  Tensor s2 = models::generate_tokens(*model, prompt, {.length = 30, .context = 8}, d);
  EXPECT_TRUE(test::all_close(s1, s2));
  test::expect_error<ValueError>([&] { models::generate_tokens(*model, prompt, {.temperature = -1}, c); },
                                 {"temperature must be a finite number >= 0"});
}

}  // namespace
}  // namespace cajal
