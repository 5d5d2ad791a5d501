#pragma once
// Quantization-aware training of a chain of layers, for when post-training int8 loses too
// much: the float model trains with int8 rounding simulated where the int8 model will round
// (compress/quantized_model.h's steps): each conv and linear weight per output channel
// (int8 symmetric: the same codes as its batch-norm-folded form, since folding scales each
// channel), the model's input and every step's output per tensor (uint8, ranges following
// the batches as torch's MovingAverageMinMaxObserver: min and max, moving by 0.01 of the
// difference each training batch, frozen in eval mode). Gradients pass straight through
// where the rounding did not clamp (fake_quantize). convert() is the int8 model with the
// trained weights and the learned ranges.
//
//   auto qat = std::make_shared<compress::QatSequentialImpl>(model, Dims{1, 28, 28});
//   ... train qat like any module (its parameters are the float model's) ...
//   auto int8 = qat->convert();
#include <memory>
#include <vector>

#include "cajal/compress/quantized_model.h"

namespace cajal::compress {

class QatSequentialImpl : public nn::Module {
 public:
  // `model` must be a chain int8 can run (chain_steps); it becomes the child "model".
  QatSequentialImpl(nn::ModulePtr model, Dims example_shape);
  std::string name() const override { return "QatSequential"; }
  Tensor forward(const Tensor& input) override;

  // The int8 model: the float model's weights now, the learned ranges. A ValueError if the
  // model has not seen a training batch (no ranges yet).
  std::shared_ptr<QuantizedSequentialImpl> convert() const;
  const nn::ModulePtr& float_model() const { return model_; }

 private:
  // Fake-quantizes x with range `point` (0: the input; k + 1: step k's output), first moving
  // the range toward x's in training mode.
  Tensor observe(const Tensor& x, size_t point);

  nn::ModulePtr model_;
  Dims example_shape_;
  std::vector<ChainStep> steps_;
  Tensor ranges_;  // [steps + 1, 2]: min and max at each point
  Tensor seen_;    // [steps + 1]: 1 once the point has seen a training batch
};

}  // namespace cajal::compress
