#pragma once
// Adagrad: torch.optim.Adagrad, same arguments, defaults and numbers.
//   optim::Adagrad opt(model->parameters(), {.lr = 0.1, .initial_accumulator_value = 0.1});
#include "cajal/optim/optimizer.h"

namespace cajal::optim {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;  // the step size is lr / (1 + (t - 1) * lr_decay)
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  bool maximize = false;
  template <typename F>
  void each(F&& f) {
    f("lr", lr);
    f("lr_decay", lr_decay);
    f("weight_decay", weight_decay);
    f("initial_accumulator_value", initial_accumulator_value);
    f("eps", eps);
    f("maximize", maximize);
  }
};

struct AdagradState {
  int64_t step = 0;
  Tensor sum;  // the sum of squared gradients, starting at initial_accumulator_value
  template <typename F>
  void each(F&& f) {
    f("step", step);
    f("sum", sum);
  }
};

class Adagrad : public OptimizerBase<Adagrad, AdagradOptions, AdagradState> {
 public:
  using OptimizerBase::OptimizerBase;
  static constexpr const char* kName = "Adagrad";
  static void check(const AdagradOptions& o);
  // As in PyTorch, the accumulator exists from the start (it holds initial_accumulator_value).
  static void init_state(const Tensor& param, const AdagradOptions& o, AdagradState& s);
  static void update(const Tensor& param, const Tensor& grad, const AdagradOptions& o, AdagradState& s);
};
extern template class OptimizerBase<Adagrad, AdagradOptions, AdagradState>;

}  // namespace cajal::optim
