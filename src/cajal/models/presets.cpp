#include "cajal/models/presets.h"

#include "cajal/core/error.h"
#include "cajal/models/layers.h"
#include "cajal/nn/activation.h"
#include "cajal/nn/conv.h"
#include "cajal/nn/dropout.h"
#include "cajal/nn/linear.h"
#include "cajal/nn/norm.h"
#include "cajal/nn/pool.h"

namespace cajal::models {

namespace {

void check_sizes(const char* preset, int64_t in, int64_t num_classes) {
  if (in < 1) fail<ValueError>(preset, ": the input size must be at least 1, got ", in);
  if (num_classes < 1) fail<ValueError>(preset, ": num_classes must be at least 1, got ", num_classes);
}

// Checks the sizes, and that images have at least `smallest` pixels on each side (what the
// preset's convolutions and pools need to leave at least one pixel).
void check_image(const char* preset, const ImageInput& input, int64_t smallest) {
  check_sizes(preset, input.in_channels, input.num_classes);
  for (int64_t size : input.image_size) {
    if (size < smallest) {
      fail<ValueError>(preset, ": images must be at least ", smallest, "x", smallest, " pixels, got ",
                       input.image_size[0], "x", input.image_size[1]);
    }
  }
}

}  // namespace

nn::Sequential mlp(int64_t in_features, int64_t num_classes, const MlpOptions& options) {
  check_sizes("mlp", in_features, num_classes);
  if (options.dropout < 0 || options.dropout >= 1) fail<ValueError>("mlp: dropout must be in [0, 1), got ", options.dropout);
  nn::Sequential model;
  model->push_back(nn::Flatten());
  int64_t width = in_features;
  for (int64_t hidden : options.hidden) {
    if (hidden < 1) fail<ValueError>("mlp: hidden sizes must be at least 1, got ", hidden);
    model->push_back(nn::Linear(width, hidden));
    model->push_back(make_activation(options.activation, "mlp"));
    if (options.dropout > 0) model->push_back(nn::Dropout(options.dropout));
    width = hidden;
  }
  model->push_back(nn::Linear(width, num_classes));
  return model;
}

nn::Sequential lenet5(const ImageInput& input, const std::string& activation) {
  check_image("lenet5", input, 12);  // 28 -> 28 -> 14 -> 10 -> 5: 12 -> 12 -> 6 -> 2 -> 1
  int64_t height = ((input.image_size[0] / 2) - 4) / 2;
  int64_t width = ((input.image_size[1] / 2) - 4) / 2;
  return nn::Sequential(nn::Conv2d(input.in_channels, 6, 5, {.padding = 2}), make_activation(activation, "lenet5"),
                        nn::MaxPool2d(2), nn::Conv2d(6, 16, 5), make_activation(activation, "lenet5"),
                        nn::MaxPool2d(2), nn::Flatten(), nn::Linear(16 * height * width, 120),
                        make_activation(activation, "lenet5"), nn::Linear(120, 84),
                        make_activation(activation, "lenet5"), nn::Linear(84, input.num_classes));
}

nn::Sequential cnn(const ImageInput& input, const CnnOptions& options) {
  check_image("cnn", input, 4);
  auto [c1, c2] = options.channels;
  if (c1 < 1 || c2 < 1) fail<ValueError>("cnn: channels must be at least 1, got [", c1, ", ", c2, "]");
  if (options.hidden < 1) fail<ValueError>("cnn: hidden must be at least 1, got ", options.hidden);
  if (options.dropout < 0 || options.dropout >= 1) fail<ValueError>("cnn: dropout must be in [0, 1), got ", options.dropout);
  int64_t features = c2 * (input.image_size[0] / 4) * (input.image_size[1] / 4);
  return nn::Sequential(nn::Conv2d(input.in_channels, c1, 3, {.padding = 1}), nn::BatchNorm2d(c1), nn::ReLU(),
                        nn::MaxPool2d(2), nn::Conv2d(c1, c2, 3, {.padding = 1}), nn::BatchNorm2d(c2), nn::ReLU(),
                        nn::MaxPool2d(2), nn::Flatten(), nn::Linear(features, options.hidden), nn::ReLU(),
                        nn::Dropout(options.dropout), nn::Linear(options.hidden, input.num_classes));
}

nn::Sequential protonet_embedding(const ImageInput& input, const ProtoNetOptions& options) {
  nn::Sequential net;
  int64_t channels = input.in_channels, height = input.image_size[0], width = input.image_size[1];
  for (int64_t block = 0; block < options.blocks; ++block) {
    if (height < 2 || width < 2)
      fail<ValueError>("protonet embedding: ", options.blocks, " blocks halve a ", input.image_size[0], "x", input.image_size[1],
                       " image below 1x1; use fewer blocks");
    net->push_back(nn::Conv2d(channels, options.channels, 3, {.padding = 1}));
    net->push_back(nn::BatchNorm2d(options.channels));
    net->push_back(nn::ReLU());
    net->push_back(nn::MaxPool2d(2));
    channels = options.channels;
    height /= 2;
    width /= 2;
  }
  net->push_back(nn::Flatten());
  return net;
}

}  // namespace cajal::models
