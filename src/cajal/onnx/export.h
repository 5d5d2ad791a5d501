#pragma once
// ONNX export: a module and an example input become an .onnx file that ONNX Runtime (or any
// other ONNX runtime) can serve.
//
//   Tensor example = zeros({1, 1, 28, 28});
//   cajal::onnx::export_model(*model, example, "model.onnx", {.opset = 17, .dynamic_batch = true});
//
// How it works: the exporter walks the module tree from the root. Each module type it knows
// has an emitter (onnx/export_layers.cpp, onnx/export_sequence.cpp) that writes the ONNX nodes
// of that module's forward in eval mode: Linear a Gemm, Conv2d a Conv, LSTM/GRU/RNN ONNX's own
// recurrent operators, attention its MatMul and Softmax, containers their children in order.
// The module runs its own forward on the example beside it, which fixes every size of the
// graph except the batch (dim 0 of the input and output, symbolic "batch" with
// dynamic_batch). docs/onnx.md lists the supported layers and models.
//
// The parameters and buffers the graph reads are its initializers, under their state_dict
// names ("features.0.weight"), stored as they are; where ONNX wants another layout (the gate
// order of a recurrent layer) the graph rearranges them. Before anything is written the model
// passes ONNX's checker and strict shape inference; the file is written atomically.
//
// Errors: a module type without an emitter, or a setting ONNX cannot express (an LSTM with
// proj_size, a time-first recurrent layer), is a ValueError naming the module's path and type;
// an opset outside 13..17 is a ValueError.
#include <cstdint>
#include <string>
#include <vector>

#include "cajal/core/tensor.h"
#include "cajal/nn/module.h"

namespace cajal::onnx {

constexpr int64_t kMinOpset = 13, kMaxOpset = 17;

struct ExportOptions {
  int64_t opset = 17;          // the ONNX operator set, kMinOpset..kMaxOpset
  bool dynamic_batch = true;   // dim 0 of the input and output is the symbolic "batch"
  std::string input_name = "input";
  std::string output_name = "output";
  // Preprocessing baked in front of the module: (input - mean) / std over dim 1 (channels or
  // features; one value may stand for all). Empty: none.
  std::vector<double> mean{}, std{};
  // A softmax over the last dim after the module (a classifier's probabilities).
  bool softmax = false;
};

// Writes `module` (run on inputs shaped like `example_input`, batch first) as an ONNX model
// to `path`. The module is exported in eval mode and left in the mode it had.
void export_model(nn::Module& module, const Tensor& example_input, const std::string& path,
                  const ExportOptions& options = {});

}  // namespace cajal::onnx
