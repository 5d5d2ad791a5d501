#pragma once
// A model from a list of layers, as a config file writes it:
//
//   layers:
//     - {type: conv2d, out: 32, kernel: 3, padding: 1}
//     - {type: batchnorm2d}
//     - {type: relu}
//     - {type: maxpool2d, kernel: 2}
//     - {type: flatten}
//     - {type: linear, out: 10}
//
// Each layer's input size (conv2d's in channels, linear's in features, batch norm's
// features) is inferred from the shape the layers before it produce, starting from the
// shape of one example. A layer that cannot take its input is reported before anything
// runs, with both shapes: "model.layers[9] (linear): expects 3136 input features, got input
// of shape [N, 4096]". The result is an nn::Sequential whose children are named "0", "1",
// ... as in a torch.nn.Sequential of the same layers, so weights move between the two.
#include <string>
#include <vector>

#include "cajal/core/dims.h"
#include "cajal/models/options.h"
#include "cajal/nn/container.h"

namespace cajal::models {

struct LayerSpec {
  std::string type;  // "conv2d", "linear", ...
  Options args;      // the layer's arguments, e.g. out: 32, kernel: 3
};

// The layer types build_layers knows, in the order the docs list them.
std::vector<std::string> layer_types();

// Builds the layers in order. `input_shape` is one example's shape (no batch dim), e.g.
// [1, 28, 28]; `output_shape`, when given, receives the last layer's. `owner` prefixes
// error messages ("model.layers"). An unknown type, an unknown or ill-typed argument or a
// shape that does not fit is an Error naming the layer by its index. `num_classes` (the
// data's, 0 when unknown) is the default size of an embedding's table: the vocabulary.
// The sequence layer kinds (embedding, lstm, ...) are described in models/sequence.h.
nn::Sequential build_layers(std::vector<LayerSpec> specs, const Dims& input_shape, Dims* output_shape = nullptr,
                            const std::string& owner = "model.layers", int64_t num_classes = 0);

// An activation layer by name: relu, leaky_relu, elu, gelu, silu, mish, selu, tanh, sigmoid
// (each with PyTorch's default arguments). Unknown names are a ValueError naming `owner`.
nn::ModulePtr make_activation(const std::string& name, const std::string& owner = "activation");
std::vector<std::string> activation_names();

// "[N, 64, 7, 7]": a batch of examples of `shape`, as shape errors print it.
std::string batch_shape(const Dims& shape);

}  // namespace cajal::models
