// Model presets and layer-list models against their PyTorch twins
// (tests/reference/models_reference.py): the same state_dict names and shapes (torch loads
// cajal's weights strictly), the same outputs in eval mode, the same parameter counts; and
// the errors for names, options and shapes that do not fit.
#include <cmath>

#include "cajal/io/npy.h"
#include "cajal/models/models.h"
#include "cajal/nn/serialize.h"
#include "support/test_support.h"

namespace cajal {
namespace {

// Options from text pairs; "[a, b]" becomes a list.
models::Options options(std::initializer_list<std::pair<std::string, std::string>> entries) {
  models::Options out;
  for (const auto& [name, text] : entries) {
    if (text.starts_with('[')) {
      std::vector<std::string> items;
      std::string item;
      for (char c : text.substr(1, text.size() - 2) + ",") {
        if (c == ',') {
          items.push_back(item);
          item.clear();
        } else if (c != ' ') {
          item += c;
        }
      }
      out.set(name, models::OptionValue::list(items));
    } else {
      out.set(name, models::OptionValue::scalar(text));
    }
  }
  return out;
}

models::LayerSpec layer(const std::string& type, std::initializer_list<std::pair<std::string, std::string>> args = {}) {
  return {type, options(args)};
}

// The list models_reference.py builds as layer_list(), for inputs [2, 12, 12].
std::vector<models::LayerSpec> layer_list() {
  return {layer("conv2d", {{"out", "8"}, {"kernel", "5"}, {"padding", "same"}}),
          layer("batchnorm2d"),
          layer("leaky_relu", {{"negative_slope", "0.1"}}),
          layer("avgpool2d", {{"kernel", "2"}}),
          layer("conv2d", {{"out", "4"}, {"kernel", "3"}, {"stride", "2"}, {"padding", "1"}, {"bias", "false"}}),
          layer("adaptive_avgpool2d", {{"size", "2"}}),
          layer("flatten"),
          layer("batchnorm1d"),
          layer("dropout", {{"p", "0.1"}}),
          layer("linear", {{"out", "6"}}),
          layer("tanh")};
}

struct Case {
  std::string name;    // the reference's model
  std::string preset;  // "" for the layer list
  models::Options options;
  models::ModelInput input;
};

std::vector<Case> cases() {
  return {
      {"mlp", "mlp", {}, {{1, 28, 28}, 10}},
      {"mlp_gelu_dropout", "mlp", options({{"hidden", "[64]"}, {"dropout", "0.2"}, {"activation", "gelu"}}), {{3, 8, 8}, 5}},
      {"lenet5", "lenet5", {}, {{1, 28, 28}, 10}},
      {"lenet5_rgb32", "lenet5", {}, {{3, 32, 32}, 7}},
      {"cnn", "cnn", {}, {{1, 28, 28}, 10}},
      {"cnn_rgb32", "cnn", {}, {{3, 32, 32}, 10}},
      {"cnn_widths_rgb20", "cnn", options({{"channels", "[8, 12]"}, {"hidden", "20"}, {"dropout", "0.4"}}), {{3, 20, 20}, 7}},
      {"resnet20", "resnet", {}, {{1, 28, 28}, 10}},
      {"resnet8_wide_rgb32", "resnet", options({{"depth", "8"}, {"widths", "[32, 64, 128]"}}), {{3, 32, 32}, 10}},
      {"layers", "", {}, {{2, 12, 12}, 6}},
  };
}

nn::ModulePtr build(const Case& c) {
  if (c.preset.empty()) return models::build_layers(layer_list(), c.input.shape).ptr();
  return models::make_model(c.preset, c.options, c.input);
}

// Random values in every parameter and buffer (running variances positive), so that batch
// norm's statistics and every weight matter to the outputs.
void randomize(nn::Module& model, test::NormalSampler& sample) {
  NoGradGuard no_grad;
  for (auto& [name, tensor] : model.state_dict()) {
    if (!is_floating(tensor.dtype())) continue;
    Tensor values = sample(tensor.shape()) * 0.5;
    if (name.ends_with("running_var")) values = values.abs() + 0.5;
    tensor.copy_(values);
  }
}

TEST(Presets, EqualTheirPyTorchTwins) {
  std::string dir = test::temp_dir();
  test::NormalSampler sample(7);
  std::string names;
  std::vector<Tensor> logits;
  std::vector<int64_t> counts;
  for (const Case& c : cases()) {
    manual_seed(1);
    nn::ModulePtr model = build(c);
    randomize(*model, sample);
    model->eval();
    Dims batch{3};
    for (int64_t size : c.input.shape) batch.push_back(size);
    Tensor x = sample(batch);
    NoGradGuard no_grad;
    Tensor out = model->forward(x);
    EXPECT_EQ(out.shape(), (Dims{3, c.input.num_classes})) << c.name;
    nn::save(*model, dir + "/cajal_" + c.name + ".safetensors");
    save_npy(x, dir + "/x_" + c.name + ".npy");
    logits.push_back(out);
    counts.push_back(model->num_parameters());
    names += " " + c.name;
  }
  std::string output;
  ASSERT_TRUE(test::run_reference("models_reference.py", dir + names, &output)) << output;
  std::vector<Case> all = cases();
  for (size_t i = 0; i < all.size(); ++i) {
    const std::string& name = all[i].name;
    // 1e-4 relative to the largest logit: with random weights of std 0.5 the logits are large
    // and some small ones are sums that cancel, where the two sides' summation orders differ.
    Tensor expected = load_npy(dir + "/torch_logits_" + name + ".npy");
    double scale = expected.abs().max().item<double>();
    EXPECT_TRUE(test::all_close(logits[i], expected, 1e-4, 1e-4 * scale)) << name << " (largest logit " << scale << ")";
    EXPECT_EQ(counts[i], load_npy(dir + "/torch_params_" + name + ".npy").item<int64_t>()) << name;
  }
}

TEST(Presets, CnnHasTheBenchmarkShape) {
  // conv 1*32*9+32, BN 2*32, conv 32*64*9+64, BN 2*64, linear 3136*128+128, linear 128*10+10.
  auto model = models::cnn({.in_channels = 1, .image_size = {28, 28}, .num_classes = 10});
  EXPECT_EQ(model->num_parameters(), 320 + 64 + 18496 + 128 + 401536 + 1290);
  EXPECT_EQ(model->at<nn::LinearImpl>(9)->in_features(), 3136);
}

TEST(Presets, CnnWidthsAreChecked) {
  auto wide = models::make_model("cnn", options({{"channels", "[64, 128]"}, {"hidden", "256"}}), {{1, 28, 28}, 10});
  // conv 1*64*9+64, BN 2*64, conv 64*128*9+128, BN 2*128, linear 6272*256+256, linear 256*10+10.
  EXPECT_EQ(wide->num_parameters(), 640 + 128 + 73856 + 256 + 1605888 + 2570);
  EXPECT_EQ(test::error_message<ValueError>([] { models::make_model("cnn", options({{"channels", "[8, 16, 32]"}}), {{1, 28, 28}, 10}); }),
            "model 'cnn': option 'channels' must list the two convolutions' channels, e.g. [32, 64]");
  test::expect_error<ValueError>([] { models::make_model("cnn", options({{"channels", "[0, 16]"}}), {{1, 28, 28}, 10}); },
                                 {"cnn: channels must be at least 1, got [0, 16]"});
  test::expect_error<ValueError>([] { models::make_model("cnn", options({{"hidden", "0"}}), {{1, 28, 28}, 10}); },
                                 {"cnn: hidden must be at least 1, got 0"});
}

TEST(Presets, ResNetDepthCountsItsLayers) {
  // 20 = the stem conv + 3 stages x 3 blocks x 2 convs + fc; each block has conv1 and conv2.
  auto model = models::make_model("resnet", {}, {{1, 28, 28}, 10});
  int64_t convs_and_fc = 0;
  for (const auto& [name, param] : model->named_parameters()) {
    if (param.dim() == 4 && name.find("downsample") == std::string::npos) ++convs_and_fc;
    if (name == "fc.weight") ++convs_and_fc;
  }
  EXPECT_EQ(convs_and_fc, 20);
  test::expect_error<ValueError>([] { models::make_model("resnet", options({{"depth", "18"}}), {{1, 28, 28}, 10}); },
                                 {"resnet: depth must be 2 + 6 * blocks", "8, 14, 20", "got 18"});
}

TEST(Layers, InferredShapesAreTheOutputs) {
  Dims inferred;
  nn::Sequential model = models::build_layers(layer_list(), {2, 12, 12}, &inferred);
  EXPECT_EQ(inferred, (Dims{6}));
  // Every intermediate shape too: the list cut after each layer.
  std::vector<models::LayerSpec> all = layer_list();
  test::NormalSampler sample(3);
  Tensor x = sample({2, 2, 12, 12});
  for (size_t n = 1; n <= all.size(); ++n) {
    std::vector<models::LayerSpec> head(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
    Dims shape;
    nn::Sequential part = models::build_layers(head, {2, 12, 12}, &shape);
    Dims expected{2};
    for (int64_t s : shape) expected.push_back(s);
    EXPECT_EQ(part->forward(x).shape(), expected) << "after layer " << n - 1;
  }
  Dims strided;
  models::build_layers({layer("conv2d", {{"out", "3"}, {"kernel", "[3, 5]"}, {"stride", "[2, 3]"}, {"dilation", "2"}}),
                        layer("maxpool2d", {{"kernel", "2"}, {"stride", "1"}, {"padding", "1"}})},
                       {1, 17, 23}, &strided);
  // conv: (17 - 2*2 - 1) / 2 + 1 = 7, (23 - 2*4 - 1) / 3 + 1 = 5; pool: 7 + 2 - 1 = 8, 5 + 2 - 1 = 6.
  EXPECT_EQ(strided, (Dims{3, 8, 6}));
}

TEST(Layers, ShapeErrorsNameTheLayerAndBothShapes) {
  // The cnn's list with an explicit in: 3136, on 32x32 images (64 * 8 * 8 = 4096 features).
  std::vector<models::LayerSpec> specs = {
      layer("conv2d", {{"out", "32"}, {"kernel", "3"}, {"padding", "1"}}), layer("batchnorm2d"), layer("relu"),
      layer("maxpool2d", {{"kernel", "2"}}), layer("conv2d", {{"out", "64"}, {"kernel", "3"}, {"padding", "1"}}),
      layer("batchnorm2d"), layer("relu"), layer("maxpool2d", {{"kernel", "2"}}), layer("flatten"),
      layer("linear", {{"in", "3136"}, {"out", "128"}}), layer("relu"), layer("linear", {{"out", "10"}})};
  EXPECT_NO_THROW(models::build_layers(specs, {1, 28, 28}));
  EXPECT_EQ(test::error_message<ShapeError>([&] { models::build_layers(specs, {1, 32, 32}); }),
            "model.layers[9] (linear): expects 3136 input features, got input of shape [N, 4096]");
  test::expect_error<ShapeError>([] { models::build_layers({layer("conv2d", {{"in", "3"}, {"out", "8"}, {"kernel", "3"}})}, {1, 28, 28}); },
                                 {"model.layers[0] (conv2d): expects 3 input channels, got input of shape [N, 1, 28, 28]"});
  test::expect_error<ShapeError>([] { models::build_layers({layer("flatten"), layer("conv2d", {{"out", "8"}, {"kernel", "3"}})}, {1, 28, 28}); },
                                 {"model.layers[1] (conv2d): expects input [N, C, H, W], got input of shape [N, 784]"});
  test::expect_error<ShapeError>([] { models::build_layers({layer("maxpool2d", {{"kernel", "4"}})}, {8, 3, 3}); },
                                 {"model.layers[0] (maxpool2d)", "4x4", "[N, 8, 3, 3]"});
  test::expect_error<ShapeError>([] { models::build_layers({layer("batchnorm1d")}, {8, 3, 3}); },
                                 {"model.layers[0] (batchnorm1d): expects input [N, C] or [N, C, L], got input of shape [N, 8, 3, 3]"});
}

TEST(Layers, ArgumentErrorsSuggestTheNearestName) {
  EXPECT_EQ(test::error_message<ValueError>([] { models::build_layers({layer("relu"), layer("conv2", {{"out", "8"}})}, {1, 8, 8}); }),
            "model.layers[1]: unknown layer type 'conv2'; did you mean 'conv2d'?");
  EXPECT_EQ(test::error_message<ValueError>([] { models::build_layers({layer("linear", {{"out", "8"}, {"biass", "false"}})}, {4}); }),
            "model.layers[0] (linear): unknown option 'biass'; did you mean 'bias'?");
  EXPECT_EQ(test::error_message<ValueError>([] { models::build_layers({layer("linear", {{"out", "many"}})}, {4}); }),
            "model.layers[0] (linear): option 'out' must be an integer, got 'many'");
  EXPECT_EQ(test::error_message<ValueError>([] { models::build_layers({layer("linear")}, {4}); }),
            "model.layers[0] (linear): option 'out' is required (an integer)");
  EXPECT_EQ(test::error_message<ValueError>([] { models::build_layers({layer("dropout", {{"p", "1.5"}})}, {4}); }),
            "model.layers[0] (dropout): option 'p' must be in [0, 1), got 1.5");
  test::expect_error<ValueError>([] { models::build_layers({layer("conv2d", {{"out", "8"}, {"kernel", "3"}, {"padding", "full"}})}, {1, 8, 8}); },
                                 {"option 'padding' has no value 'full'"});
  test::expect_error<ValueError>([] { models::build_layers({}, {4}); }, {"the list of layers is empty"});
}

TEST(Registry, UnknownNamesAndOptionsSuggestTheNearest) {
  EXPECT_EQ(test::error_message<ValueError>([] { models::make_model("resnt", {}, {{1, 28, 28}, 10}); }),
            "unknown model 'resnt'; did you mean 'resnet'?");
  EXPECT_EQ(test::error_message<ValueError>([] { models::make_model("transformer", {}, {{1, 28, 28}, 10}); }),
            "unknown model 'transformer' (valid: mlp, lenet5, cnn, resnet, char_lstm, char_transformer, rnn_classifier, lstm_forecaster)");
  EXPECT_EQ(test::error_message<ValueError>([] { models::make_model("mlp", options({{"hiden", "[32]"}}), {{4}, 3}); }),
            "model 'mlp': unknown option 'hiden'; did you mean 'hidden'?");
  EXPECT_EQ(test::error_message<ValueError>([] { models::make_model("mlp", options({{"hidden", "[32, x]"}}), {{4}, 3}); }),
            "model 'mlp': option 'hidden' must be a list of integers, got [32, x]");
  EXPECT_EQ(test::error_message<ValueError>([] { models::make_model("mlp", options({{"activation", "relu6"}}), {{4}, 3}); }),
            "model 'mlp': option 'activation' has no value 'relu6'; did you mean 'relu'?");
  test::expect_error<ShapeError>([] { models::make_model("cnn", {}, {{784}, 10}); },
                                 {"model 'cnn': needs images [C, H, W], but the examples have shape [784]"});
}

TEST(Registry, CheckModelRejectsDataItWasNotBuiltFor) {
  auto model = models::make_model("cnn", options({{"image_size", "32"}}), {{1, 28, 28}, 10});
  test::expect_error<ShapeError>([&] { models::check_model(*model, {{1, 28, 28}, 10}, "model 'cnn'"); },
                                 {"model 'cnn' does not fit examples of shape [1, 28, 28]: "});
  auto fits = models::make_model("cnn", {}, {{1, 28, 28}, 10});
  EXPECT_TRUE(fits->is_training());
  EXPECT_NO_THROW(models::check_model(*fits, {{1, 28, 28}, 10}, "model 'cnn'"));
  EXPECT_TRUE(fits->is_training());  // the mode it had
  EXPECT_EQ(test::error_message<ShapeError>([&] { models::check_model(*fits, {{1, 28, 28}, 5}, "model 'cnn'"); }),
            "model 'cnn' returns [N, 10] for a batch, but the data needs [N, 5] (one score per class)");
}

TEST(Suggest, EditDistance) {
  EXPECT_EQ(models::edit_distance("optimiser", "optimizer"), 1u);
  EXPECT_EQ(models::edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(models::edit_distance("", "abc"), 3u);
  EXPECT_EQ(models::suggest("optimiser", {"data", "model", "optimizer"}), "; did you mean 'optimizer'?");
  EXPECT_EQ(models::suggest("zzz", {"data", "model"}), " (valid: data, model)");
}

}  // namespace
}  // namespace cajal
