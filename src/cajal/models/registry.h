#pragma once
// Models by name, as configs and model files name them:
//
//   models::Options options("model 'mlp'");
//   options.set("hidden", models::OptionValue::list({"512", "256"}));
//   auto model = models::make_model("mlp", options, {.shape = {1, 28, 28}, .num_classes = 10});
//
// Presets: mlp, lenet5, cnn, resnet (models/presets.h, models/resnet.h), char_lstm,
// char_transformer, rnn_classifier, lstm_forecaster (models/sequence.h). Their options:
//   every preset   num_classes (default: the data's)
//   mlp            in_features (default: the example's element count), hidden [256, 128],
//                  dropout 0, activation relu
//   lenet5         in_channels, image_size (default: the data's), activation relu
//   cnn            in_channels, image_size, channels [32, 64], hidden 128, dropout 0.25
//   resnet         in_channels, image_size, depth 20, widths [16, 32, 64]
//   sequence presets: see models/sequence.h
// An unknown name or option is a ValueError suggesting the nearest valid one.
#include <string>
#include <vector>

#include "cajal/core/dims.h"
#include "cajal/core/dtype.h"
#include "cajal/models/layers.h"
#include "cajal/models/options.h"
#include "cajal/nn/module.h"

namespace cajal::models {

// What a model is built for: the shape of one example and the number of outputs.
struct ModelInput {
  Dims shape;               // e.g. [1, 28, 28] for images, [4] for a table's features
  int64_t num_classes = 0;  // outputs of the last layer
  DType dtype = DType::f32;  // of the inputs: i64 for token ids
  bool per_step = false;     // one output per step of the sequence, [N, T, num_classes] (language models)
};

std::vector<std::string> preset_names();

// A preset's `num_classes` option: the data's by default, at least 1.
int64_t num_classes_option(Options& options, const ModelInput& input);

// The preset `name` with `options` (every option read and checked; an unknown one is an error).
nn::ModulePtr make_model(const std::string& name, Options options, const ModelInput& input);

// Runs the model on two zero examples of input.shape and input.dtype (eval mode, no
// gradients, then the mode it had) and checks it returns [2, num_classes] ([2, T,
// num_classes] when per_step). A layer that rejects its input, or an
// output of another shape, is a ShapeError that starts with `what` ("model 'cnn'").
void check_model(nn::Module& model, const ModelInput& input, const std::string& what);

}  // namespace cajal::models
