#pragma once
// int8 post-training quantization of a chain of layers (an nn::Sequential: the mlp, lenet5
// and cnn presets, `layers:` models), for inference:
//
//   std::vector<Tensor> calibration = ...;                  // a few batches of real inputs
//   auto q = compress::quantize_model(*model, {1, 28, 28}, calibration);
//   Tensor logits = q->forward(images);                     // float32 in, float32 out
//
// The float model is cut into steps as torch.ao.quantization's fusion cuts it: a Conv2d or
// Linear layer with the batch norm after it folded into its weights and the ReLU after it
// fused (a uint8 output with zero point 0 saturates at 0), max pooling on the codes, and
// flatten; dropout and identity vanish. Weights are int8, symmetric per output channel
// (weight_params); the model's input and every step's output are uint8, per tensor, with
// the ranges an Observer saw on the calibration batches; the last step's output stays
// float32. Inputs are taken channels-last inside (the kernels' layout, kernels/cpu/int8.h).
//
// The quantized model is an nn::Module whose state_dict holds, per step (named after its
// layer in the float model): weight (int8, the float model's layout), weight_scale [O],
// bias (float32, folded) and output_qparams [scale, zero point]; and input_qparams. A file
// saved from it therefore holds int8 weights: about a quarter of the float model's size.
#include <memory>
#include <string>
#include <vector>

#include "cajal/compress/quantize.h"
#include "cajal/nn/module.h"

namespace cajal::compress {

// One step of an int8 chain: the float model's children it stands for, by index (the conv
// or linear layer first, then the batch norm and ReLU it absorbs); dropout and identity
// belong to no step.
struct ChainStep {
  enum class Kind { conv, linear, max_pool, flatten } kind;
  std::vector<size_t> members;
  bool relu = false;
  bool computes() const { return kind == Kind::conv || kind == Kind::linear; }
};

// How int8 cuts `model` (an nn::Sequential) into steps. A model that is not a chain, a layer
// with no int8 step or a chain that does not end in a conv or linear layer is a ValueError
// naming the problem.
std::vector<ChainStep> chain_steps(const nn::Module& model);

class QuantizedSequentialImpl : public nn::Module {
 public:
  // The structure of `model` (for examples of `example_shape`) with zero tensors: what
  // quantize_model fills in, or loading a quantized file does. A layer with no int8 step
  // (an activation other than ReLU, a residual block, ...) is a ValueError naming it.
  QuantizedSequentialImpl(const nn::Module& model, const Dims& example_shape);
  ~QuantizedSequentialImpl() override;
  std::string name() const override { return "QuantizedSequential"; }
  std::string extra_repr() const override;
  Tensor forward(const Tensor& input) override;

  // Fills the int8 tensors from `model`'s weights (batch norms folded) and the activation
  // ranges: the input's, and one per step (used for the conv and linear steps but the last).
  void assign(const nn::Module& model, const QuantParams& input, const std::vector<QuantParams>& outputs);
  size_t num_steps() const { return steps_.size(); }

  struct Step;

 private:
  friend std::shared_ptr<QuantizedSequentialImpl> quantize_model(nn::Module&, const Dims&, const std::vector<Tensor>&,
                                                                  const ObserverOptions&);
  void calibrate(nn::Module& model, const std::vector<Tensor>& batches, const ObserverOptions& options);
  Tensor forward_chunk(const Tensor& input);
  static constexpr int64_t kChunk = 64;

  std::vector<std::shared_ptr<Step>> steps_;
  Dims example_shape_;
  Tensor input_qparams_;  // [scale, zero point]
};

// Calibrates on `calibration` (batches of inputs as the float model takes them) and returns
// the int8 model. No batch (or no finite value) is a ValueError.
std::shared_ptr<QuantizedSequentialImpl> quantize_model(nn::Module& model, const Dims& example_shape,
                                                        const std::vector<Tensor>& calibration,
                                                        const ObserverOptions& options = {});

}  // namespace cajal::compress
