#pragma once
// Dropout layers: active in training mode, the identity after eval(). Masks come from the
// default generator (seed it with manual_seed for reproducible runs).
#include "cajal/core/generator.h"
#include "cajal/nn/module.h"

namespace cajal::nn {

// The shared body of Dropout, Dropout2d and AlphaDropout: a probability p and the op.
class DropoutLayer : public Module {
 public:
  using Function = Tensor (*)(const Tensor&, double, bool, Generator*);
  DropoutLayer(const char* name, double p, Function fn);
  std::string name() const override { return name_; }
  std::string extra_repr() const override { return "p=" + repr_float(p_) + ", inplace=False"; }
  Tensor forward(const Tensor& input) override { return fn_(input, p_, is_training(), nullptr); }
  double p() const { return p_; }

 private:
  const char* name_;
  double p_;
  Function fn_;
};

struct DropoutImpl : DropoutLayer {
  explicit DropoutImpl(double p = 0.5);
};
CAJAL_MODULE(Dropout);

// Drops whole channels of [N, C, H, W] inputs.
struct Dropout2dImpl : DropoutLayer {
  explicit Dropout2dImpl(double p = 0.5);
};
CAJAL_MODULE(Dropout2d);

// Keeps the mean and variance of SELU activations.
struct AlphaDropoutImpl : DropoutLayer {
  explicit AlphaDropoutImpl(double p = 0.5);
};
CAJAL_MODULE(AlphaDropout);

}  // namespace cajal::nn
