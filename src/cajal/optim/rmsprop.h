#pragma once
// RMSprop: torch.optim.RMSprop, same arguments, defaults and numbers.
//   optim::RMSprop opt(model->parameters(), {.lr = 1e-3, .momentum = 0.9, .centered = true});
#include "cajal/optim/optimizer.h"

namespace cajal::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;  // smoothing constant of the squared-gradient average
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;  // normalize by the estimated variance instead of the second moment
  bool maximize = false;
  template <typename F>
  void each(F&& f) {
    f("lr", lr);
    f("alpha", alpha);
    f("eps", eps);
    f("weight_decay", weight_decay);
    f("momentum", momentum);
    f("centered", centered);
    f("maximize", maximize);
  }
};

struct RMSpropState {
  int64_t step = 0;
  Tensor square_avg;
  Tensor momentum_buffer;  // when momentum > 0
  Tensor grad_avg;         // when centered
  template <typename F>
  void each(F&& f) {
    f("step", step);
    f("square_avg", square_avg);
    f("momentum_buffer", momentum_buffer);
    f("grad_avg", grad_avg);
  }
};

class RMSprop : public OptimizerBase<RMSprop, RMSpropOptions, RMSpropState> {
 public:
  using OptimizerBase::OptimizerBase;
  static constexpr const char* kName = "RMSprop";
  static void check(const RMSpropOptions& o);
  static void update(const Tensor& param, const Tensor& grad, const RMSpropOptions& o, RMSpropState& s);
  static double* momentum(RMSpropOptions& o) { return &o.momentum; }
};
extern template class OptimizerBase<RMSprop, RMSpropOptions, RMSpropState>;

}  // namespace cajal::optim
