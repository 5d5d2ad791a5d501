#pragma once
// Adadelta: torch.optim.Adadelta, same arguments, defaults and numbers.
//   optim::Adadelta opt(model->parameters(), {.rho = 0.95});
#include "cajal/optim/optimizer.h"

namespace cajal::optim {

struct AdadeltaOptions {
  double lr = 1.0;  // scales the delta
  double rho = 0.9;  // smoothing constant of the running averages
  double eps = 1e-6;
  double weight_decay = 0;
  bool maximize = false;
  template <typename F>
  void each(F&& f) {
    f("lr", lr);
    f("rho", rho);
    f("eps", eps);
    f("weight_decay", weight_decay);
    f("maximize", maximize);
  }
};

struct AdadeltaState {
  int64_t step = 0;
  Tensor square_avg;  // running average of squared gradients
  Tensor acc_delta;   // running average of squared updates
  template <typename F>
  void each(F&& f) {
    f("step", step);
    f("square_avg", square_avg);
    f("acc_delta", acc_delta);
  }
};

class Adadelta : public OptimizerBase<Adadelta, AdadeltaOptions, AdadeltaState> {
 public:
  using OptimizerBase::OptimizerBase;
  static constexpr const char* kName = "Adadelta";
  static void check(const AdadeltaOptions& o);
  static void update(const Tensor& param, const Tensor& grad, const AdadeltaOptions& o, AdadeltaState& s);
};
extern template class OptimizerBase<Adadelta, AdadeltaOptions, AdadeltaState>;

}  // namespace cajal::optim
