#pragma once
// Ready-made architectures for classification, built from nn layers. Each takes the shape of
// its input and the number of classes, so one preset fits MNIST-like and CIFAR-like data:
//
//   auto model = models::cnn({.in_channels = 1, .image_size = {28, 28}, .num_classes = 10});
//
// Layer for layer they equal the PyTorch models written the same way (same state_dict
// names and shapes), so weights move between the two.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "cajal/nn/container.h"

namespace cajal::models {

struct ImageInput {
  int64_t in_channels = 1;
  std::array<int64_t, 2> image_size = {28, 28};  // height, width
  int64_t num_classes = 10;
};

struct MlpOptions {
  std::vector<int64_t> hidden = {256, 128};  // one Linear + activation per entry
  double dropout = 0;                        // after each hidden activation when > 0
  std::string activation = "relu";           // models::activation_names()
};
// Flatten, then Linear(previous, h) + activation (+ Dropout) for each hidden size h, then
// Linear(last, num_classes). in_features: the input's element count (784 for 28x28).
nn::Sequential mlp(int64_t in_features, int64_t num_classes, const MlpOptions& options = {});

// LeNet-5 as used today: conv(in->6, 5x5, padding 2) + act + maxpool 2, conv(6->16, 5x5) +
// act + maxpool 2, flatten, linear(->120) + act, linear(120->84) + act, linear(84->classes).
nn::Sequential lenet5(const ImageInput& input, const std::string& activation = "relu");

struct CnnOptions {
  std::array<int64_t, 2> channels = {32, 64};  // of the two convolutions
  int64_t hidden = 128;                        // units of the hidden linear layer
  double dropout = 0.25;                       // before the last linear layer
};
// Two conv blocks with batch norm, by default the issue-3 benchmark network:
// conv(in->c1, 3x3, padding 1) + BN + ReLU + maxpool 2, conv(c1->c2, 3x3, padding 1) + BN +
// ReLU + maxpool 2, flatten, linear(c2 * H/4 * W/4 -> hidden) + ReLU + dropout,
// linear(hidden->classes). With the defaults on 28x28 images: linear(3136->128), 421,834 parameters.
nn::Sequential cnn(const ImageInput& input, const CnnOptions& options = {});

struct ProtoNetOptions {
  int64_t channels = 64;
  int64_t blocks = 4;
};
// The embedding network of Prototypical Networks (Snell et al. 2017; Vinyals et al.'s
// "conv4"): `blocks` x [conv(3x3, padding 1) + BN + ReLU + maxpool 2], then flatten. On
// 28x28 images with the defaults: 64 features. ValueError when the image is too small for
// the pooling.
nn::Sequential protonet_embedding(const ImageInput& input, const ProtoNetOptions& options = {});

}  // namespace cajal::models
