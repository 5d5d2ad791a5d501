#pragma once
// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and
// weight decay: torch.optim.SGD, same arguments, defaults and numbers.
//
//   optim::SGD opt(model->parameters(), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
#include <limits>

#include "cajal/optim/optimizer.h"

namespace cajal::optim {

struct SGDOptions {
  double lr = std::numeric_limits<double>::quiet_NaN();  // required, as in PyTorch
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;  // L2 penalty added to the gradient
  bool nesterov = false;
  bool maximize = false;  // ascend the objective instead
  template <typename F>
  void each(F&& f) {
    f("lr", lr);
    f("momentum", momentum);
    f("dampening", dampening);
    f("weight_decay", weight_decay);
    f("nesterov", nesterov);
    f("maximize", maximize);
  }
};

struct SGDState {
  Tensor momentum_buffer;  // made at the first step with momentum != 0
  template <typename F>
  void each(F&& f) {
    f("momentum_buffer", momentum_buffer);
  }
};

class SGD : public OptimizerBase<SGD, SGDOptions, SGDState> {
 public:
  using OptimizerBase::OptimizerBase;
  static constexpr const char* kName = "SGD";
  static void check(const SGDOptions& o);
  static void update(const Tensor& param, const Tensor& grad, const SGDOptions& o, SGDState& s);
  static double* momentum(SGDOptions& o) { return &o.momentum; }
};
extern template class OptimizerBase<SGD, SGDOptions, SGDState>;

}  // namespace cajal::optim
