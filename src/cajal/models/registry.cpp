#include "cajal/models/registry.h"

#include "cajal/autograd/grad_mode.h"
#include "cajal/core/error.h"
#include "cajal/models/presets.h"
#include "cajal/models/resnet.h"
#include "cajal/models/sequence.h"
#include "cajal/models/suggest.h"
#include "cajal/ops/creation.h"

namespace cajal::models {

int64_t num_classes_option(Options& options, const ModelInput& input) {
  int64_t classes = options.get_int("num_classes", input.num_classes > 0 ? std::optional<int64_t>(input.num_classes)
                                                                         : std::nullopt);
  if (classes < 1) options.fail("num_classes", "must be at least 1, got " + std::to_string(classes));
  return classes;
}

namespace {

// in_channels, image_size and num_classes, by default those of images [C, H, W].
ImageInput image_options(Options& options, const ModelInput& input) {
  bool is_image = input.shape.size() == 3;
  if (!is_image && !(options.contains("in_channels") && options.contains("image_size"))) {
    fail<ShapeError>(options.owner(), ": needs images [C, H, W], but the examples have shape ", input.shape,
                     " (give in_channels and image_size to build it anyway)");
  }
  ImageInput image;
  image.in_channels = options.get_int("in_channels", is_image ? std::optional<int64_t>(input.shape[0]) : std::nullopt);
  std::vector<int64_t> size = options.get_ints(
      "image_size", is_image ? std::optional<std::vector<int64_t>>({input.shape[1], input.shape[2]}) : std::nullopt);
  if (size.size() == 1) size.push_back(size[0]);
  if (size.size() != 2) options.fail("image_size", "must be one integer or [height, width]");
  image.image_size = {size[0], size[1]};
  image.num_classes = num_classes_option(options, input);
  return image;
}

nn::ModulePtr make_mlp(Options& options, const ModelInput& input) {
  int64_t in_features = options.get_int("in_features", numel_of(input.shape));
  int64_t classes = num_classes_option(options, input);
  MlpOptions mlp_options{
      .hidden = options.get_ints("hidden", MlpOptions{}.hidden),
      .dropout = options.get_float("dropout", 0.0),
      .activation = options.get_string("activation", "relu", activation_names()),
  };
  return mlp(in_features, classes, mlp_options).ptr();
}

nn::ModulePtr make_lenet5(Options& options, const ModelInput& input) {
  ImageInput image = image_options(options, input);
  return lenet5(image, options.get_string("activation", "relu", activation_names())).ptr();
}

nn::ModulePtr make_cnn(Options& options, const ModelInput& input) {
  ImageInput image = image_options(options, input);
  auto [c1, c2] = CnnOptions{}.channels;
  std::vector<int64_t> channels = options.get_ints("channels", std::vector<int64_t>{c1, c2});
  if (channels.size() != 2) options.fail("channels", "must list the two convolutions' channels, e.g. [32, 64]");
  CnnOptions cnn_options{.channels = {channels[0], channels[1]},
                         .hidden = options.get_int("hidden", CnnOptions{}.hidden),
                         .dropout = options.get_float("dropout", CnnOptions{}.dropout)};
  return cnn(image, cnn_options).ptr();
}

nn::ModulePtr make_resnet(Options& options, const ModelInput& input) {
  ImageInput image = image_options(options, input);
  ResNetOptions resnet_options{
      .depth = options.get_int("depth", ResNetOptions{}.depth),
      .widths = options.get_ints("widths", ResNetOptions{}.widths),
  };
  return ResNet(image, resnet_options).ptr();
}

struct Preset {
  const char* name;
  nn::ModulePtr (*make)(Options& options, const ModelInput& input);
};
constexpr Preset kPresets[] = {{"mlp", make_mlp},
                               {"lenet5", make_lenet5},
                               {"cnn", make_cnn},
                               {"resnet", make_resnet},
                               {"char_lstm", make_char_lstm},
                               {"char_transformer", make_char_transformer},
                               {"rnn_classifier", make_rnn_classifier},
                               {"lstm_forecaster", make_lstm_forecaster}};

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const Preset& preset : kPresets) names.push_back(preset.name);
  return names;
}

nn::ModulePtr make_model(const std::string& name, Options options, const ModelInput& input) {
  for (const Preset& preset : kPresets) {
    if (name == preset.name) {
      options.set_owner("model '" + name + "'");
      nn::ModulePtr model = preset.make(options, input);
      options.check_unused();
      return model;
    }
  }
  fail<ValueError>("unknown model '", name, "'", suggest(name, preset_names()));
}

void check_model(nn::Module& model, const ModelInput& input, const std::string& what) {
  Dims batch{2};
  for (int64_t size : input.shape) batch.push_back(size);
  bool was_training = model.is_training();
  model.eval();
  Tensor output;
  try {
    NoGradGuard no_grad;
    output = model.forward(zeros(batch, {.dtype = input.dtype}));
  } catch (const Error& e) {
    model.train(was_training);
    fail<ShapeError>(what, " does not fit examples of shape ", input.shape, ": ", e.what());
  }
  model.train(was_training);
  Dims expected{input.num_classes};
  if (input.per_step) expected = Dims{input.shape[0], input.num_classes};
  Dims per_example = output.dim() > 0 ? Dims(output.shape().begin() + 1, output.shape().end()) : Dims{};
  if (per_example != expected) {
    fail<ShapeError>(what, " returns ", batch_shape(per_example), " for a batch, but the data needs ",
                     batch_shape(expected), input.per_step ? " (scores per step and class)" : " (one score per class)");
  }
}

}  // namespace cajal::models
