// ONNX export, checked by oracles nobody here wrote: every preset and layer list a config can
// build is exported, passes onnx.checker.check_model(full_check=True) (python3-onnx) and gives
// ONNX Runtime's outputs (npm's onnxruntime-node, run by Node.js) equal to cajal's forward on
// real inputs: Fashion-MNIST images, seeded random sequences and token ids. ONNX Runtime runs
// a batch of 5 on models exported from a batch of 2, so the batch axis is shown dynamic.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "cajal/cajal.h"
#include "cajal/data/idx.h"
#include "cajal/models/models.h"
#include "cajal/onnx/export.h"
#include "support/test_support.h"

namespace cajal {
namespace {

// Model options as a config writes them: "[28, 28]" is a list, anything else a scalar.
models::Options options(std::initializer_list<std::pair<std::string, std::string>> values) {
  models::Options result("test");
  for (const auto& [name, text] : values) {
    if (!text.starts_with("[")) {
      result.set(name, models::OptionValue::scalar(text));
      continue;
    }
    std::vector<std::string> items;
    std::stringstream list(text.substr(1, text.size() - 2));
    for (std::string item; std::getline(list, item, ',');) items.push_back(item.substr(item.find_first_not_of(' ')));
    result.set(name, models::OptionValue::list(items));
  }
  return result;
}

models::LayerSpec layer(const std::string& type, std::initializer_list<std::pair<std::string, std::string>> args = {}) {
  return {type, options(args)};
}

// The first n Fashion-MNIST test images as `cajal predict` feeds them: [n, 1, 28, 28] in [0, 1].
Tensor fashion_images(int64_t n) {
  static const Tensor images = data::read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
  return (images.narrow(0, 0, n).to(DType::f32) / 255.0).unsqueeze(1).contiguous();
}

// New values for every parameter and buffer, so that nothing the export could mix up (batch
// norm's mean and variance, a zero bias, an LSTM's gate blocks) keeps a telling default. The
// noise is on each tensor's own scale, so that activations stay as large as trained ones.
void randomize(nn::Module& model, Generator& gen) {
  NoGradGuard no_grad;
  for (auto [name, tensor] : model.state_dict()) {  // handles: writing to them writes the model's
    if (!tensor.is_floating_point()) continue;
    Tensor noise = randn(tensor.shape(), {}, &gen);
    if (name.ends_with("running_var")) {
      tensor.copy_(noise.abs() + 0.5);
    } else {
      double rms = std::sqrt(tensor.square().mean().item<double>());
      tensor.add_(noise * (rms > 0 ? 0.3 * rms : 0.1));
    }
  }
}

struct Case {
  std::string name;
  nn::ModulePtr model;
  Tensor input;  // the batch both cajal and ONNX Runtime run
  int64_t opset = onnx::kMaxOpset;
};

const models::ModelInput kImages{.shape = {1, 28, 28}, .num_classes = 10};
const models::ModelInput kTokens{.shape = {12}, .num_classes = 20, .dtype = DType::i64, .per_step = true};

std::vector<Case> cases() {
  Generator gen(7);
  const Tensor images = fashion_images(5);
  const Tensor sequences = randn({5, 12, 6}, {}, &gen);
  const Tensor tokens = randint(0, 20, {5, 12}, {.dtype = DType::i64}, &gen);
  auto preset = [](const std::string& name, const models::ModelInput& input, models::Options o = options({})) {
    return models::make_model(name, std::move(o), input);
  };
  std::vector<Case> all = {
      {"mlp", preset("mlp", kImages, options({{"dropout", "0.2"}})), images},
      {"lenet5", preset("lenet5", kImages, options({{"activation", "tanh"}})), images},
      {"cnn", preset("cnn", kImages), images},
      {"resnet", preset("resnet", kImages), images},
      {"rnn_classifier_gru", preset("rnn_classifier", kImages), images},
      {"rnn_classifier_lstm",
       preset("rnn_classifier", kImages,
              options({{"cell", "lstm"}, {"hidden", "32"}, {"layers", "2"}, {"bidirectional", "true"}, {"dropout", "0.1"}})),
       images},
      {"lstm_forecaster", preset("lstm_forecaster", {.shape = {12, 6}, .num_classes = 2}, options({{"layers", "2"}})),
       sequences},
      {"char_lstm", preset("char_lstm", kTokens), tokens},
      {"char_transformer", preset("char_transformer", kTokens, options({{"d_model", "32"}})), tokens},
      // Before opset 17 LayerNorm is written out from ReduceMean, Sub, Sqrt, ...
      {"char_transformer_opset13", preset("char_transformer", kTokens, options({{"d_model", "32"}})), tokens, 13},
  };
  // Layer lists: every layer type a config can name, most of them twice with other settings.
  auto layers = [](std::vector<models::LayerSpec> specs, const Dims& shape) {
    return models::build_layers(std::move(specs), shape, nullptr, "model.layers", 20).ptr();
  };
  all.push_back({"layers_image",
                 layers({layer("conv2d", {{"out", "6"}, {"kernel", "3"}, {"padding", "same"}, {"dilation", "2"}}),
                         layer("batchnorm2d"), layer("relu"), layer("maxpool2d", {{"kernel", "2"}}),
                         layer("conv2d", {{"out", "8"}, {"kernel", "[3, 5]"}, {"stride", "2"}, {"padding", "[1, 2]"}, {"groups", "2"}}),
                         layer("leaky_relu", {{"negative_slope", "0.2"}}), layer("dropout2d"),
                         layer("avgpool2d", {{"kernel", "3"}, {"stride", "1"}, {"padding", "1"}}),
                         layer("conv2d", {{"out", "8"}, {"kernel", "1"}, {"padding", "valid"}, {"bias", "false"}}),
                         layer("adaptive_avgpool2d", {{"size", "[7, 1]"}}), layer("flatten"),
                         layer("linear", {{"out", "16"}}), layer("batchnorm1d"), layer("elu", {{"alpha", "0.5"}}),
                         layer("dropout"), layer("linear", {{"out", "10"}}), layer("sigmoid")},
                        {1, 28, 28}),
                 images});
  all.push_back({"layers_activations",
                 layers({layer("flatten"), layer("linear", {{"out", "32"}}), layer("gelu"), layer("linear", {{"out", "32"}}),
                         layer("silu"), layer("linear", {{"out", "32"}}), layer("mish"), layer("linear", {{"out", "32"}}),
                         layer("selu"), layer("linear", {{"out", "32"}}), layer("tanh"), layer("linear", {{"out", "10"}})},
                        {1, 28, 28}),
                 images});
  all.push_back({"layers_recurrent",
                 layers({layer("reshape", {{"shape", "[28, 28]"}}),
                         layer("rnn", {{"hidden", "12"}, {"nonlinearity", "relu"}, {"layers", "2"}, {"bidirectional", "true"}}),
                         layer("gru", {{"hidden", "10"}, {"bidirectional", "true"}}), layer("lstm", {{"hidden", "8"}}),
                         layer("last_step"), layer("linear", {{"out", "10"}})},
                        {1, 28, 28}),
                 images});
  all.push_back({"layers_final_states",
                 layers({layer("rnn", {{"hidden", "8"}, {"output", "last"}, {"bidirectional", "true"}}),
                         layer("reshape", {{"shape", "[4, 4]"}}), layer("gru", {{"hidden", "6"}, {"output", "last"}}),
                         layer("linear", {{"out", "3"}})},
                        {12, 6}),
                 sequences});
  all.push_back({"layers_tokens",
                 layers({layer("embedding", {{"dim", "16"}}), layer("positional_encoding", {{"max_len", "40"}}),
                         layer("transformer_encoder", {{"heads", "2"}, {"activation", "gelu"}, {"causal", "true"}}),
                         layer("positional_encoding", {{"type", "learned"}}),
                         layer("transformer_encoder", {{"heads", "4"}, {"ff", "24"}, {"norm_first", "true"}}),
                         layer("gru", {{"hidden", "8"}, {"layers", "2"}}), layer("linear", {{"out", "20"}})},
                        {12}),
                 tokens});
  // Layers a config cannot name, built in C++.
  all.push_back({"nn_modules",
                 nn::Sequential(nn::MaxPool2d(3, {.stride = 2, .ceil_mode = true}), nn::AdaptiveAvgPool2d({7, 7}),
                                nn::Identity(), nn::Flatten(), nn::Unflatten(1, Dims{7, 7}), nn::Flatten(), nn::Linear(49, 16), nn::Hardtanh(-0.5, 0.5),
                                nn::GELU(GeluApprox::Tanh), nn::Linear(16, 10), nn::LogSoftmax(1), nn::Softmax(-1))
                     .ptr(),
                 images});
  all.push_back({"nn_transformer_encoder",
                 nn::TransformerEncoder(
                     2, [] { return nn::TransformerEncoderLayer(6, 2, {.dim_feedforward = 12, .batch_first = true}); },
                     nn::LayerNorm(6))
                     .ptr(),
                 sequences});
  all.push_back({"empty_sequential", nn::Sequential().ptr(), images});
  for (Case& c : all) {
    randomize(*c.model, gen);
    c.model->eval();
  }
  return all;
}

std::string file_in(const std::string& dir, const std::string& name) { return dir + "/" + name; }

// What onnx_check.py printed for `model`: its line.
std::string described(const std::string& report, const std::string& model) {
  std::stringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(model + " ")) return line;
  }
  return "";
}

// "input:FLOAT[batch,1,28,28]": a graph input or output as onnx_check.py describes it.
std::string value_text(const std::string& name, const char* type, const Tensor& example) {
  std::ostringstream text;
  text << name << ":" << type << "[batch";
  for (int64_t d = 1; d < example.dim(); ++d) text << "," << example.size(d);
  text << "]";
  return text.str();
}

TEST(OnnxExport, EveryPresetAndLayerListMatchesOnnxRuntime) {
  const std::string dir = test::temp_dir();
  std::vector<Case> all = cases();
  std::string models_list, runs;
  for (const Case& c : all) {
    const std::string model = file_in(dir, c.name + ".onnx"), input = file_in(dir, c.name + "_input.npy");
    onnx::export_model(*c.model, c.input.narrow(0, 0, 2), model, {.opset = c.opset});
    save_npy(c.input, input);
    models_list += " " + model;
    runs += " " + model + " " + input + " " + file_in(dir, c.name + "_ort.npy");
  }
  std::string report;
  ASSERT_TRUE(test::run_reference("onnx_check.py", models_list, &report));
  ASSERT_TRUE(test::run_node_reference("onnx_runtime.js", runs));

  NoGradGuard no_grad;
  for (const Case& c : all) {
    SCOPED_TRACE(c.name);
    Tensor ours = c.model->forward(c.input);
    Tensor theirs = load_npy(file_in(dir, c.name + "_ort.npy"));
    EXPECT_TRUE(test::all_close(theirs, ours, 1e-5, 1e-5));

    // The graph's interface and its initializers: the state_dict's names (every tensor the
    // forward reads; num_batches_tracked is only counted in training).
    std::string line = described(report, file_in(dir, c.name + ".onnx"));
    EXPECT_NE(line.find(" opset=" + std::to_string(c.opset) + " "), std::string::npos) << line;
    const char* input_type = c.input.dtype() == DType::i64 ? "INT64" : "FLOAT";
    EXPECT_NE(line.find(" input=" + value_text("input", input_type, c.input) + " "), std::string::npos) << line;
    EXPECT_NE(line.find(" output=" + value_text("output", "FLOAT", ours) + " "), std::string::npos) << line;
    std::vector<std::string> names;
    for (const auto& [name, tensor] : c.model->state_dict()) {
      if (!name.ends_with("num_batches_tracked")) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    std::string joined;
    for (const std::string& name : names) joined += (joined.empty() ? "" : ",") + name;
    EXPECT_TRUE(line.ends_with(" initializers=" + joined)) << line;
  }
}

// The options a served model needs: preprocessing in front (per channel here), a softmax
// behind, chosen names, and a fixed batch when asked.
TEST(OnnxExport, BakesNormalizationAndSoftmaxIn) {
  const std::string dir = test::temp_dir();
  Generator gen(3);
  auto model = models::cnn({.in_channels = 3, .image_size = {8, 8}, .num_classes = 4}, {.channels = {4, 8}, .hidden = 16});
  randomize(*model, gen);
  model->train();
  Tensor images = rand({6, 3, 8, 8}, {}, &gen);
  const std::vector<double> mean{0.2, 0.5, 0.7}, std{0.3, 0.25, 0.5};
  onnx::export_model(*model, images, file_in(dir, "cnn.onnx"),
                     {.opset = 15, .dynamic_batch = false, .input_name = "pixels", .output_name = "probabilities",
                      .mean = mean, .std = std, .softmax = true});
  EXPECT_TRUE(model->is_training());  // exported in eval mode, left in its own

  save_npy(images, file_in(dir, "images.npy"));
  std::string report;
  ASSERT_TRUE(test::run_reference("onnx_check.py", file_in(dir, "cnn.onnx"), &report));
  EXPECT_NE(report.find(" input=pixels:FLOAT[6,3,8,8] output=probabilities:FLOAT[6,4] "), std::string::npos) << report;
  ASSERT_TRUE(test::run_node_reference("onnx_runtime.js", file_in(dir, "cnn.onnx") + " " + file_in(dir, "images.npy") +
                                                              " " + file_in(dir, "probabilities.npy")));
  NoGradGuard no_grad;
  model->eval();
  Tensor m = from_vector(mean).to(DType::f32).reshape({1, 3, 1, 1}), s = from_vector(std).to(DType::f32).reshape({1, 3, 1, 1});
  Tensor expected = model->forward((images - m) / s).softmax(1);
  EXPECT_TRUE(test::all_close(load_npy(file_in(dir, "probabilities.npy")), expected, 1e-5, 1e-6));
}

TEST(OnnxExport, OpsetsOutsideThirteenToSeventeenAreRefused) {
  const std::string dir = test::temp_dir();
  nn::Sequential model(nn::Linear(4, 2));
  for (int64_t opset : {12, 18}) {
    test::expect_error<ValueError>([&] { onnx::export_model(*model, zeros({1, 4}), file_in(dir, "m.onnx"), {.opset = opset}); },
                                   {"opset " + std::to_string(opset) + " is not supported", "opsets 13 to 17"});
  }
  EXPECT_FALSE(std::filesystem::exists(file_in(dir, "m.onnx")));
}

TEST(OnnxExport, UnsupportedModulesAreNamedByPathAndType) {
  const std::string dir = test::temp_dir();
  nn::Sequential model(nn::Linear(4, 4), nn::Sequential(nn::ReLU(), nn::Softplus()));
  test::expect_error<ValueError>([&] { onnx::export_model(*model, zeros({1, 4}), file_in(dir, "m.onnx")); },
                                 {"cannot export module '1.1' (Softplus)", "no emitter"});
  nn::Softplus root;
  test::expect_error<ValueError>([&] { onnx::export_model(*root, zeros({1, 4}), file_in(dir, "m.onnx")); },
                                 {"cannot export the root module (Softplus)"});
  // Settings ONNX's operators cannot express.
  nn::LSTM projected(4, 8, {.batch_first = true, .proj_size = 2});
  test::expect_error<ValueError>([&] { onnx::export_model(*projected, zeros({1, 3, 4}), file_in(dir, "m.onnx")); },
                                 {"LSTM has no projection"});
  nn::GRU time_first(4, 8);
  test::expect_error<ValueError>([&] { onnx::export_model(*time_first, zeros({3, 1, 4}), file_in(dir, "m.onnx")); },
                                 {"GRU runs time first"});
  nn::Flatten whole(0);
  test::expect_error<ValueError>([&] { onnx::export_model(*whole, zeros({2, 4}), file_in(dir, "m.onnx")); },
                                 {"Flatten turns a batch of shape [2, 4] into [8]"});
  nn::AdaptiveAvgPool2d uneven({3, 3});
  test::expect_error<ValueError>([&] { onnx::export_model(*uneven, zeros({1, 1, 8, 8}), file_in(dir, "m.onnx")); },
                                 {"AdaptiveAvgPool2d from 8x8 to 3x3"});
  EXPECT_FALSE(std::filesystem::exists(file_in(dir, "m.onnx")));
}

}  // namespace
}  // namespace cajal
